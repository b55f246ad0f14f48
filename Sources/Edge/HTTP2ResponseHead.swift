import HTTP2

/// A response head the planner built for HTTP/1.1 (`HTTP/1.1 200 OK\r\nName: value\r\n…`), read
/// back as an HTTP/2 status and field list: names lowercased (RFC 9113 §8.2.1) and the
/// connection-specific fields dropped (§8.2.2: Connection, Keep-Alive, Transfer-Encoding,
/// Upgrade, Proxy-Connection). The planner stays the one place that decides a response; HTTP/2
/// only changes how its head is framed.
struct HTTP2ResponseHead {
    var status: Int
    var fields: HTTP2HeaderList
    /// The media type, for the default stream priority.
    var contentType: ArraySlice<UInt8>?

    /// Reads `pieces` as one head (the prebuilt head, extra field lines, the Date tail); nil
    /// when it is not a well-formed HTTP/1.1 response head (never for the planner's own heads).
    init?(_ pieces: [ArraySlice<UInt8>]) {
        var storage: [UInt8] = []
        storage.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
        for piece in pieces { storage.append(contentsOf: piece) }
        // Status line: "HTTP/1.x SSS reason\r\n".
        guard storage.count >= 14, storage[8] == UInt8(ascii: " ") else { return nil }
        var code = 0
        for i in 9..<12 {
            let digit = Int(storage[i]) - 48
            guard (0...9).contains(digit) else { return nil }
            code = code * 10 + digit
        }
        guard let firstLineEnd = HTTP2ResponseHead.lineEnd(storage, from: 12) else { return nil }
        status = code
        fields = HTTP2HeaderList()
        contentType = nil
        var lineStart = firstLineEnd + 2
        // Empty lines are skipped, not taken as the end: a field line may come after a complete head.
        while lineStart < storage.count, let end = HTTP2ResponseHead.lineEnd(storage, from: lineStart) {
            if end == lineStart {
                lineStart += 2
                continue
            }
            var colon = lineStart
            while colon < end && storage[colon] != UInt8(ascii: ":") {
                if storage[colon] >= 65 && storage[colon] <= 90 { storage[colon] |= 0x20 }
                colon += 1
            }
            if colon < end {
                var valueStart = colon + 1
                while valueStart < end && (storage[valueStart] == 32 || storage[valueStart] == 9) { valueStart += 1 }
                var valueEnd = end
                while valueEnd > valueStart && (storage[valueEnd - 1] == 32 || storage[valueEnd - 1] == 9) { valueEnd -= 1 }
                let name = storage[lineStart..<colon]
                if !HTTP2ResponseHead.isConnectionSpecific(name) {
                    let value = storage[valueStart..<valueEnd]
                    if name.elementsEqual("content-type".utf8) { contentType = value }
                    fields.append(name: name, value: value)
                }
            }
            lineStart = end + 2
        }
    }

    private static func lineEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    private static let connectionSpecific: [[UInt8]] = ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"].map {
        Array($0.utf8)
    }

    private static func isConnectionSpecific(_ name: ArraySlice<UInt8>) -> Bool {
        connectionSpecific.contains { $0.elementsEqual(name) }
    }

    /// RFC 9218 urgency (0 most urgent … 7) and incremental flag the server gives a response the
    /// client did not prioritise itself: the page (HTML) first, then what blocks rendering (CSS,
    /// scripts, fonts), then images and wasm, then downloads, which share what is left.
    var defaultPriority: (urgency: Int, incremental: Bool) {
        guard let type = contentType else { return (3, false) }
        func starts(_ prefix: String) -> Bool { type.starts(with: prefix.utf8) }
        if starts("text/html") { return (0, false) }
        if starts("text/css") { return (1, false) }
        if starts("text/javascript") || starts("application/javascript") || starts("font/") { return (2, false) }
        if starts("application/json") || starts("application/manifest") { return (2, false) }
        if starts("image/") { return (4, true) }
        if starts("application/wasm") { return (3, false) }
        return (5, true)
    }
}

/// The parts of a response head the load generator acts on.
struct ResponseHead: Sendable, Equatable {
    var status: Int
    var contentLength: Int?
    var chunked = false
    var connectionClose = false
    var contentEncoding: String?
    var etag: String?
    var contentRange: String?
    /// Bytes of the head, status line to the empty line included.
    var headBytes = 0
}

/// Why a response could not be parsed; the connection is closed after any of these.
enum ResponseParseError: Error, Equatable, Sendable {
    case headTooLarge
    case malformedStatusLine
    case malformedHeader
    case badContentLength
    case badChunk
    /// The peer closed the connection in the middle of a response.
    case truncated

    var kind: String {
        switch self {
        case .headTooLarge: "parse-head-too-large"
        case .malformedStatusLine: "parse-status-line"
        case .malformedHeader: "parse-header"
        case .badContentLength: "parse-content-length"
        case .badChunk: "parse-chunk"
        case .truncated: "truncated"
        }
    }
}

/// What the parser found in the bytes it was fed, in order.
enum ResponseEvent {
    /// A 1xx interim response (100 Continue, 103 Early Hints, …), already consumed.
    case interim(ResponseHead)
    /// The head of the final response.
    case head(ResponseHead)
    /// Body bytes (after chunked decoding); valid only during the call.
    case body(UnsafeRawBufferPointer)
    /// The final response is complete; the parser is ready for the next one.
    case end
}

/// An incremental HTTP/1.1 *response* parser: status line, headers, 1xx interim responses,
/// Content-Length, chunked and read-until-close bodies, and the no-body cases (HEAD, 204, 304).
/// Bytes may arrive split anywhere. It keeps only the head being parsed and the chunk state.
struct ResponseParser: Sendable {
    static let maxHeadBytes = 64 * 1024
    private static let maxChunkLineBytes = 1024

    /// Set before each request: the response to a HEAD request has no body whatever its headers say.
    var requestIsHead = false

    private enum State: Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd  // the CRLF after a chunk's data
        case trailers
        case untilClose
    }

    private var state = State.head
    private var line: [UInt8] = []  // head bytes, or the current chunk-size / trailer line

    /// True between responses (nothing of the next one seen yet).
    var isIdle: Bool { state == .head && line.isEmpty }
    /// True when the body runs until the peer closes (no Content-Length, not chunked).
    var isReadingUntilClose: Bool { state == .untilClose }

    /// Feeds received bytes; `handle` receives the events in order. Stops right after a response's
    /// `.end` and returns how many bytes it consumed (feed the rest again for the next response);
    /// `handle` must not touch the parser.
    @discardableResult
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (ResponseEvent) -> Void) throws(ResponseParseError) -> Int {
        var i = 0
        let n = bytes.count
        while i < n {
            switch state {
            case .head:
                // Look for the end of the head: the CRLF CRLF ending at byte i.
                let start = i
                var end: Int?
                while i < n {
                    let byte = bytes[i]
                    i += 1
                    if byte == 0x0A, Self.endsWithBlankLine(line, bytes, start, i) {
                        end = i
                        break
                    }
                }
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
                if line.count > Self.maxHeadBytes { throw .headTooLarge }
                guard end != nil else { return i }
                let head = try Self.parseHead(line)
                line.removeAll(keepingCapacity: true)
                if (100...199).contains(head.status) && head.status != 101 {
                    handle(.interim(head))
                    continue
                }
                handle(.head(head))
                if requestIsHead || head.status == 204 || head.status == 304 {
                    handle(.end)
                    return i
                } else if head.chunked {
                    state = .chunkSize
                } else if let length = head.contentLength {
                    if length == 0 {
                        handle(.end)
                        return i
                    }
                    state = .fixedBody(remaining: length)
                } else {
                    state = .untilClose
                }
            case .fixedBody(let remaining):
                let take = min(remaining, n - i)
                handle(.body(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)])))
                i += take
                if take == remaining {
                    state = .head
                    handle(.end)
                    return i
                } else {
                    state = .fixedBody(remaining: remaining - take)
                }
            case .untilClose:
                handle(.body(UnsafeRawBufferPointer(rebasing: bytes[i..<n])))
                i = n
            case .chunkSize, .trailers, .chunkDataEnd:
                let byte = bytes[i]
                i += 1
                line.append(byte)
                if line.count > Self.maxChunkLineBytes { throw .badChunk }
                guard byte == 0x0A else { continue }
                if try finishLine(handle) { return i }
            case .chunkData(let remaining):
                let take = min(remaining, n - i)
                handle(.body(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)])))
                i += take
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            }
        }
        return i
    }

    /// The peer closed the connection: completes a read-until-close body, or reports truncation.
    /// Returns true when a response ended here.
    mutating func finish(_ handle: (ResponseEvent) -> Void) throws(ResponseParseError) -> Bool {
        switch state {
        case .untilClose:
            state = .head
            handle(.end)
            return true
        case .head where line.isEmpty:
            return false
        default:
            state = .head
            line.removeAll()
            throw .truncated
        }
    }

    /// Resets to "between responses" (after the connection was replaced).
    mutating func reset() {
        state = .head
        line.removeAll()
    }

    /// Returns true when the line ended the response.
    private mutating func finishLine(_ handle: (ResponseEvent) -> Void) throws(ResponseParseError) -> Bool {
        defer { line.removeAll(keepingCapacity: true) }
        let content = Self.trimmingCRLF(line)
        switch state {
        case .chunkDataEnd:
            guard content.isEmpty else { throw .badChunk }
            state = .chunkSize
        case .chunkSize:
            // chunk-size [ ; extensions ]
            let sizePart = content.prefix { $0 != UInt8(ascii: ";") }
            let hex = sizePart.drop { $0 == 0x20 || $0 == 0x09 }.prefix { $0 != 0x20 && $0 != 0x09 }
            guard !hex.isEmpty, hex.count <= 15, let size = Int(String(decoding: hex, as: UTF8.self), radix: 16) else {
                throw .badChunk
            }
            state = size == 0 ? .trailers : .chunkData(remaining: size)
        case .trailers:
            if content.isEmpty {
                state = .head
                handle(.end)
                return true
            }
        default:
            break
        }
        return false
    }

    /// True when the bytes seen so far (`line` + bytes[start..<i]) end with CRLF CRLF (or LF LF).
    private static func endsWithBlankLine(_ line: [UInt8], _ bytes: UnsafeRawBufferPointer, _ start: Int, _ i: Int) -> Bool {
        func byte(_ back: Int) -> UInt8? {  // back = 1 is the byte just read
            let index = i - back
            if index >= start { return bytes[index] }
            let lineIndex = line.count - (start - index)
            return lineIndex >= 0 ? line[lineIndex] : nil
        }
        if byte(2) == 0x0A { return true }  // LF LF
        return byte(2) == 0x0D && byte(3) == 0x0A  // LF CR LF (…CRLF CRLF)
    }

    private static func trimmingCRLF(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var slice = bytes[...]
        while let last = slice.last, last == 0x0A || last == 0x0D { slice = slice.dropLast() }
        return slice
    }

    static func parseHead(_ bytes: [UInt8]) throws(ResponseParseError) -> ResponseHead {
        try bytes.withUnsafeBufferPointer { buffer throws(ResponseParseError) -> ResponseHead in
            try parseHead(buffer)
        }
    }

    /// Byte-level head parsing: header names are compared without building Strings (this runs
    /// once per response and dominated the generator's CPU when it used String operations).
    private static func parseHead(_ b: UnsafeBufferPointer<UInt8>) throws(ResponseParseError) -> ResponseHead {
        // Lines as (start, end) ranges without their CR LF.
        var lineStart = 0
        var head: ResponseHead?
        var i = 0
        while i < b.count {
            guard b[i] == 0x0A else {
                i += 1
                continue
            }
            var lineEnd = i
            if lineEnd > lineStart && b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd > lineStart {
                if head == nil {
                    head = try parseStatusLine(b, lineStart, lineEnd)
                } else {
                    try parseHeader(b, lineStart, lineEnd, into: &head!)
                }
            } else if head == nil {
                throw .malformedStatusLine
            }
            i += 1
            lineStart = i
        }
        guard var result = head else { throw .malformedStatusLine }
        result.headBytes = b.count
        if result.chunked { result.contentLength = nil }
        return result
    }

    private static func parseStatusLine(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ResponseParseError) -> ResponseHead {
        // HTTP/1.x SP 3DIGIT [SP reason]
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        guard end - start >= 12 else { throw .malformedStatusLine }
        for k in 0..<7 where b[start + k] != prefix[k] { throw .malformedStatusLine }
        let minor = b[start + 7]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1"), b[start + 8] == 0x20 else { throw .malformedStatusLine }
        var status = 0
        for k in 9..<12 {
            let digit = b[start + k]
            guard (0x30...0x39).contains(digit) else { throw .malformedStatusLine }
            status = status * 10 + Int(digit - 0x30)
        }
        guard status >= 100, end - start == 12 || b[start + 12] == 0x20 else { throw .malformedStatusLine }
        var head = ResponseHead(status: status)
        if minor == UInt8(ascii: "0") { head.connectionClose = true }
        return head
    }

    private static func lower(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }

    /// True when b[start..<end] equals `name` (lower-case ASCII), ignoring case.
    private static func equalsIgnoringCase(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ name: StaticString) -> Bool {
        guard end - start == name.utf8CodeUnitCount else { return false }
        let n = name.utf8Start
        for k in 0..<(end - start) where lower(b[start + k]) != n[k] { return false }
        return true
    }

    private static func parseHeader(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into head: inout ResponseHead)
        throws(ResponseParseError)
    {
        var colon = start
        while colon < end && b[colon] != UInt8(ascii: ":") {
            if b[colon] == 0x20 || b[colon] == 0x09 { throw .malformedHeader }
            colon += 1
        }
        guard colon < end, colon > start else { throw .malformedHeader }
        var valueStart = colon + 1
        var valueEnd = end
        while valueStart < valueEnd && (b[valueStart] == 0x20 || b[valueStart] == 0x09) { valueStart += 1 }
        while valueEnd > valueStart && (b[valueEnd - 1] == 0x20 || b[valueEnd - 1] == 0x09) { valueEnd -= 1 }
        func value() -> String { String(decoding: UnsafeBufferPointer(rebasing: b[valueStart..<valueEnd]), as: UTF8.self) }
        switch colon - start {
        case 14 where equalsIgnoringCase(b, start, colon, "content-length"):
            guard valueEnd > valueStart, valueEnd - valueStart <= 18 else { throw .badContentLength }
            var length = 0
            for k in valueStart..<valueEnd {
                guard (0x30...0x39).contains(b[k]) else { throw .badContentLength }
                length = length * 10 + Int(b[k] - 0x30)
            }
            guard head.contentLength == nil || head.contentLength == length else { throw .badContentLength }
            head.contentLength = length
        case 17 where equalsIgnoringCase(b, start, colon, "transfer-encoding"):
            head.chunked = value().lowercased().split(separator: ",").last.map { $0.trimmingSpaces() == "chunked" } ?? false
        case 10 where equalsIgnoringCase(b, start, colon, "connection"):
            if value().lowercased().split(separator: ",").contains(where: { $0.trimmingSpaces() == "close" }) {
                head.connectionClose = true
            }
        case 16 where equalsIgnoringCase(b, start, colon, "content-encoding"):
            head.contentEncoding = value().lowercased()
        case 4 where equalsIgnoringCase(b, start, colon, "etag"):
            head.etag = value()
        case 13 where equalsIgnoringCase(b, start, colon, "content-range"):
            head.contentRange = value()
        default:
            break
        }
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

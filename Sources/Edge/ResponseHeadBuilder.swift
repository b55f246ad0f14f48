import HTTPCore

/// Assembles response heads from prebuilt pieces: a status line from a table, the per-second
/// Date, a Content-Length written without allocating, the representation's fixed fields, and
/// the connection field. Header values never come unchecked from a request, and every field
/// added by name follows HTTPCore's `ResponseFieldLine` rule (a value with CR, LF or NUL, or a
/// name that is not a token, leaves the field out), the rule of every head Wharf writes.
struct ResponseHeadBuilder {
    var bytes: [UInt8] = []

    init(status: Int, date: [UInt8], capacity: Int = 384) {
        bytes.reserveCapacity(capacity)
        bytes.append(contentsOf: ResponseHeadBuilder.statusLine(status))
        bytes.append(contentsOf: "Date: ".utf8)
        bytes.append(contentsOf: date)
        bytes.append(contentsOf: "\r\nServer: wharf\r\n".utf8)
    }

    /// A head without `Date` (a prebuilt head; `ResponseDate` adds Date and the end).
    init(status: Int) {
        bytes.reserveCapacity(384)
        bytes.append(contentsOf: ResponseHeadBuilder.statusLine(status))
        bytes.append(contentsOf: "Server: wharf\r\n".utf8)
    }

    mutating func contentLength(_ n: Int64) {
        bytes.append(contentsOf: "Content-Length: ".utf8)
        appendDecimal(n)
        bytes.append(contentsOf: "\r\n".utf8)
    }

    mutating func field(_ name: StaticString, _ value: String) {
        ResponseFieldLine.append(name: name, value: value, to: &bytes)
    }

    mutating func field(_ name: StaticString, bytes value: [UInt8]) {
        ResponseFieldLine.append(name: name, value: value, to: &bytes)
    }

    /// A field whose name is known only at run time (an admin handler's headers).
    mutating func field(name: String, value: String) {
        ResponseFieldLine.append(name: name, value: value, to: &bytes)
    }

    /// Field lines prebuilt by the callers (each already written under the same rule).
    mutating func raw(_ fields: [UInt8]) { bytes.append(contentsOf: fields) }

    /// Adds the Connection field the keep-alive decision needs and the final blank line.
    mutating func finish(close: Bool, http10KeepAlive: Bool) -> [UInt8] {
        if close {
            bytes.append(contentsOf: "Connection: close\r\n".utf8)
        } else if http10KeepAlive {
            bytes.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        return bytes
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        var v = value, digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    /// `HTTP/1.1 NNN Reason\r\n`, built once per status.
    static func statusLine(_ status: Int) -> [UInt8] {
        if let cached = statusLines[status] { return cached }
        return line(status)
    }

    private static func line(_ status: Int) -> [UInt8] {
        let reason = HTTPStatus(status).reasonPhrase
        var out = Array("HTTP/1.1 \(status) ".utf8)
        out.append(contentsOf: UnsafeBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount))
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    private static let statusLines: [Int: [UInt8]] = {
        var table: [Int: [UInt8]] = [:]
        for s in [200, 206, 304, 400, 404, 405, 406, 408, 412, 413, 414, 416, 431, 500, 501, 503, 505] {
            table[s] = line(s)
        }
        return table
    }()
}

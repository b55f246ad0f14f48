import HTTPCore

/// What a request contributes to its access-log line, copied from the head when the request is
/// planned (only when the log is on): the request line's parts, Referer, User-Agent, the client.
struct AccessLogRequest {
    var client: String
    var method: String
    var target: [UInt8]
    var version: String
    var referer: [UInt8]?
    var userAgent: [UInt8]?
    var app: String?

    init(_ head: RequestHead, client: String) {
        self.client = client
        method = head.method.name
        target = Array(head.target)
        version = head.version == .http1_0 ? "HTTP/1.0" : "HTTP/1.1"
        referer = head.value(of: .referer).map(Array.init)
        userAgent = head.value(of: .userAgent).map(Array.init)
    }

    /// A request refused before its head could be parsed (logged as nginx does: `"-"`).
    init(unparsedFrom client: String) {
        self.client = client
        method = ""
        target = []
        version = ""
    }
}

/// Formats one access-log line (with its LF) onto a buffer: no allocation beyond the buffer's
/// growth, and every byte from the client escaped so a line is always one line.
enum AccessLogLine {
    /// `combined`: `client - - [03/Dec/2026:13:04:05 +0000] "GET /x HTTP/1.1" 200 512 "referer" "agent" 0.000412`
    /// (NCSA combined, nginx's escaping: `"`, `\` and bytes outside 0x20–0x7E as `\xHH`; then the
    /// request time in seconds, as nginx's `$request_time`).
    static func combined(_ r: AccessLogRequest, status: Int, bytes: Int, seconds: Double, time: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: r.client.utf8)
        out.append(contentsOf: " - - [".utf8)
        out.append(contentsOf: time)
        out.append(contentsOf: "] \"".utf8)
        if r.method.isEmpty {
            out.append(0x2D)
        } else {
            out.append(contentsOf: r.method.utf8)
            out.append(0x20)
            escapeCombined(r.target[...], into: &out)
            out.append(0x20)
            out.append(contentsOf: r.version.utf8)
        }
        out.append(contentsOf: "\" \(status) \(bytes) \"".utf8)
        if let referer = r.referer { escapeCombined(referer[...], into: &out) } else { out.append(0x2D) }
        out.append(contentsOf: "\" \"".utf8)
        if let agent = r.userAgent { escapeCombined(agent[...], into: &out) } else { out.append(0x2D) }
        out.append(contentsOf: "\" ".utf8)
        appendSeconds(seconds, into: &out)
        out.append(0x0A)
    }

    /// `json`: one object per line with keys time, client, method, target, version, status, bytes,
    /// referer, user_agent, app, request_time (strings JSON-escaped; bytes that are not UTF-8 as U+FFFD).
    static func json(_ r: AccessLogRequest, status: Int, bytes: Int, seconds: Double, isoTime: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: "{\"time\":\"".utf8)
        out.append(contentsOf: isoTime)
        out.append(contentsOf: "\",\"client\":".utf8)
        jsonString(Array(r.client.utf8)[...], into: &out)
        out.append(contentsOf: ",\"method\":".utf8)
        jsonString(Array(r.method.utf8)[...], into: &out)
        out.append(contentsOf: ",\"target\":".utf8)
        jsonString(r.target[...], into: &out)
        out.append(contentsOf: ",\"version\":".utf8)
        jsonString(Array(r.version.utf8)[...], into: &out)
        out.append(contentsOf: ",\"status\":\(status),\"bytes\":\(bytes),\"referer\":".utf8)
        if let referer = r.referer { jsonString(referer[...], into: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: ",\"user_agent\":".utf8)
        if let agent = r.userAgent { jsonString(agent[...], into: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: ",\"app\":".utf8)
        if let app = r.app { jsonString(Array(app.utf8)[...], into: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: ",\"request_time\":".utf8)
        appendSeconds(seconds, into: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    static func escapeCombined(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        for b in bytes {
            if b == 0x22 || b == 0x5C || b < 0x20 || b > 0x7E {
                out.append(contentsOf: [0x5C, 0x78, hex[Int(b >> 4)], hex[Int(b & 15)]])
            } else {
                out.append(b)
            }
        }
    }

    static func jsonString(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        out.append(0x22)
        // Invalid UTF-8 becomes U+FFFD, so the line is valid JSON whatever the client sent.
        let text = String(decoding: bytes, as: UTF8.self)
        for b in text.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case ..<0x20, 0x7F:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }

    /// Seconds with microsecond precision: `0.000412`.
    static func appendSeconds(_ seconds: Double, into out: inout [UInt8]) {
        let micros = Int((max(0, seconds) * 1_000_000).rounded())
        out.append(contentsOf: String(micros / 1_000_000).utf8)
        out.append(0x2E)
        let fraction = String(micros % 1_000_000)
        for _ in fraction.count..<6 { out.append(0x30) }
        out.append(contentsOf: fraction.utf8)
    }
}

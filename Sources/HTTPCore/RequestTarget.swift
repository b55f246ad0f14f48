/// A request-target (RFC 9112 §3.2) turned into something a static file server can look up
/// safely: a percent-decoded, dot-segment-free absolute path that cannot leave the root, the
/// raw query, and the host of an absolute-form target.
///
/// Origin form (`/a/b?q`) and absolute form (`http://host/a/b?q`) are accepted for every method;
/// the asterisk form (`*`) only for OPTIONS and the authority form (`host:port`) only for
/// CONNECT. Every refusal is a `RequestTargetError`, answered with 400.
public struct RequestTarget: Sendable, Hashable {
    /// Which of the four forms the target used.
    public enum Form: Sendable, Hashable { case origin, absolute, asterisk, authority }

    public let form: Form
    /// Decoded, normalised absolute path such as "/assets/app.js" ("*" for the asterisk form,
    /// "" for the authority form). Segments are joined by single slashes (runs of "/" merge);
    /// a trailing slash is kept.
    public let path: String
    /// The query after "?", exactly as sent (not decoded), or nil if there was no "?".
    public let query: String?
    /// The authority of an absolute-form or authority-form target, lower-cased (host[:port]).
    public let host: String?

    /// Parses and normalises `target` (e.g. `RequestHead.target`) for `method`.
    public static func parse(_ target: ArraySlice<UInt8>, method: HTTPMethod = .get) throws(RequestTargetError) -> RequestTarget {
        guard let first = target.first else { throw .empty }
        // The parser already refuses these; this type may be used on its own.
        for b in target where b <= 0x20 || b >= 0x7F { throw .controlByte }
        if first == 0x2F {
            let (path, query) = try splitPathAndQuery(target)
            return RequestTarget(form: .origin, path: path, query: query, host: nil)
        }
        if target.count == 1 && first == 0x2A {
            guard method == .options else { throw .asteriskFormNotAllowed }
            return RequestTarget(form: .asterisk, path: "*", query: nil, host: nil)
        }
        if let afterScheme = schemeEnd(target) {
            // absolute-form = absolute-URI (RFC 9112 §3.2.2): http(s)://authority[path][?query]
            var i = afterScheme
            while i < target.endIndex && target[i] != 0x2F && target[i] != 0x3F { i += 1 }
            let host = try authority(target[afterScheme..<i])
            let rest = target[i...]
            if rest.isEmpty { return RequestTarget(form: .absolute, path: "/", query: nil, host: host) }
            if rest.first == 0x3F {
                return RequestTarget(form: .absolute, path: "/", query: String(decoding: rest.dropFirst(), as: UTF8.self), host: host)
            }
            let (path, query) = try splitPathAndQuery(rest)
            return RequestTarget(form: .absolute, path: path, query: query, host: host)
        }
        guard method == .connect else { throw .authorityFormNotAllowed }
        return RequestTarget(form: .authority, path: "", query: nil, host: try authority(target))
    }

    /// Convenience for tests and tools: parses the UTF-8 bytes of `target`.
    public static func parse(_ target: String, method: HTTPMethod = .get) throws(RequestTargetError) -> RequestTarget {
        try parse(ArraySlice(target.utf8), method: method)
    }

    /// Index just past "http://" or "https://" (scheme is case-insensitive, RFC 3986 §3.1).
    private static func schemeEnd(_ t: ArraySlice<UInt8>) -> Int? {
        for scheme in ["http://", "https://"] {
            let s = Array(scheme.utf8)
            guard t.count >= s.count else { continue }
            var matches = true
            for (k, c) in s.enumerated() where lower(t[t.startIndex + k]) != c {
                matches = false
                break
            }
            if matches { return t.startIndex + s.count }
        }
        return nil
    }

    /// authority = host [ ":" port ], without userinfo (RFC 9110 §4.2.4 forbids it in http URIs).
    private static func authority(_ a: ArraySlice<UInt8>) throws(RequestTargetError) -> String {
        guard !a.isEmpty else { throw .invalidAuthority }
        var hostEnd = a.endIndex
        if a.first == 0x5B {
            // IP-literal: "[" hex/colons/dots "]"
            guard let close = a.firstIndex(of: 0x5D) else { throw .invalidAuthority }
            for b in a[(a.startIndex + 1)..<close] where !(isHex(b) || b == 0x3A || b == 0x2E) { throw .invalidAuthority }
            hostEnd = close + 1
        } else {
            if let colon = a.firstIndex(of: 0x3A) { hostEnd = colon }
            guard hostEnd > a.startIndex else { throw .invalidAuthority }
            for b in a[a.startIndex..<hostEnd] where !(isUnreserved(b) || isSubDelim(b)) || b == 0x25 {
                throw .invalidAuthority
            }
        }
        if hostEnd < a.endIndex {
            guard a[hostEnd] == 0x3A else { throw .invalidAuthority }
            let port = a[(hostEnd + 1)...]
            guard port.count <= 5, port.allSatisfy({ $0 &- 0x30 < 10 }) else { throw .invalidAuthority }
        }
        return String(decoding: a.map(lower), as: UTF8.self)
    }

    private static func splitPathAndQuery(_ t: ArraySlice<UInt8>) throws(RequestTargetError) -> (String, String?) {
        if t.contains(0x23) { throw .fragment }
        guard let mark = t.firstIndex(of: 0x3F) else { return (try normalisePath(t), nil) }
        return (try normalisePath(t[..<mark]), String(decoding: t[(mark + 1)...], as: UTF8.self))
    }

    /// Percent-decodes each segment, refuses what could escape the root or confuse a file
    /// system, and removes dot segments (RFC 3986 §5.2.4) — refusing any ".." that would climb
    /// above "/".
    static func normalisePath(_ raw: ArraySlice<UInt8>) throws(RequestTargetError) -> String {
        var segments: [[UInt8]] = []
        var trailingSlash = false
        var i = raw.startIndex
        // raw starts with "/"; each iteration reads one segment after a slash.
        while i < raw.endIndex {
            i += 1  // skip "/"
            var segment: [UInt8] = []
            var encoded = false
            while i < raw.endIndex && raw[i] != 0x2F {
                var b = raw[i]
                if b == 0x25 {
                    guard i + 2 < raw.endIndex, let hi = hexValue(raw[i + 1]), let lo = hexValue(raw[i + 2])
                    else { throw .invalidPercentEncoding }
                    b = hi << 4 | lo
                    encoded = true
                    i += 3
                    switch b {
                    case 0x2F: throw .encodedSlash
                    case 0x00: throw .encodedNul
                    case 0x5C: throw .backslash
                    case ..<0x20, 0x7F: throw .controlByte
                    default: break
                    }
                } else {
                    if b == 0x5C { throw .backslash }
                    i += 1
                }
                segment.append(b)
            }
            let isDot = segment == [0x2E]
            let isDotDot = segment == [0x2E, 0x2E]
            if (isDot || isDotDot) && encoded { throw .encodedDotSegment }
            trailingSlash = i == raw.endIndex ? (segment.isEmpty || isDot || isDotDot) : false
            if isDot || segment.isEmpty { continue }
            if isDotDot {
                guard segments.popLast() != nil else { throw .escapesRoot }
                continue
            }
            segments.append(segment)
        }
        var bytes: [UInt8] = []
        for segment in segments {
            bytes.append(0x2F)
            bytes += segment
        }
        if bytes.isEmpty || trailingSlash { bytes.append(0x2F) }
        guard let path = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return path
    }

    private static func hexValue(_ b: UInt8) -> UInt8? { ByteClass.hexValue(b) }
    private static func isHex(_ b: UInt8) -> Bool { ByteClass.hexValue(b) != nil }
    private static func lower(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }
    private static func isUnreserved(_ b: UInt8) -> Bool {
        (b &- 0x41 < 26) || (b &- 0x61 < 26) || (b &- 0x30 < 10) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
    }
    private static func isSubDelim(_ b: UInt8) -> Bool {
        switch b {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: true
        default: false
        }
    }
}

/// Why a request-target was refused. Every case is answered with 400 Bad Request: the target
/// is malformed or hostile, never merely "not found".
public enum RequestTargetError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case controlByte
    case invalidPercentEncoding
    case encodedSlash
    case encodedNul
    case backslash
    case encodedDotSegment
    case escapesRoot
    case invalidUTF8
    case fragment
    case invalidAuthority
    case asteriskFormNotAllowed
    case authorityFormNotAllowed

    /// The response status: always 400.
    public var status: Int { 400 }

    public var description: String {
        switch self {
        case .empty: "empty request-target"
        case .controlByte: "control, space or non-ASCII byte in the target (raw or percent-encoded)"
        case .invalidPercentEncoding: "'%' not followed by two hex digits"
        case .encodedSlash: "percent-encoded '/' (%2F) in the path"
        case .encodedNul: "percent-encoded NUL (%00) in the path"
        case .backslash: "backslash (raw or %5C) in the path"
        case .encodedDotSegment: "percent-encoded '.' or '..' segment"
        case .escapesRoot: "'..' climbs above the root"
        case .invalidUTF8: "decoded path is not UTF-8"
        case .fragment: "fragment ('#') in the request-target"
        case .invalidAuthority: "malformed host or port"
        case .asteriskFormNotAllowed: "'*' target is only valid for OPTIONS"
        case .authorityFormNotAllowed: "authority-form target is only valid for CONNECT"
        }
    }
}

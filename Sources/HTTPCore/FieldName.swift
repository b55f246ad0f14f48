/// A header field name the edge looks up often, recognised once while parsing so later lookups
/// compare one byte instead of a case-insensitive string (the token-table idea from h2o).
/// Unknown names are still stored and found through `RequestHead.value(ofName:)`.
public struct FieldName: Sendable, Hashable, CustomStringConvertible {
    /// 1-based index into `FieldName.all`; 0 is reserved for "not a known name".
    let code: UInt8

    init(code: UInt8) { self.code = code }

    /// Looks up a known name case-insensitively; nil for names outside the table.
    public init?(_ name: String) {
        var name = name
        let code = name.withUTF8 { p in FieldName.recognise(p, 0, p.count) }
        if code == 0 { return nil }
        self.code = code
    }

    /// The lower-case name, e.g. "accept-encoding".
    public var name: String { FieldName.names[Int(code) - 1] }
    public var description: String { name }

    public static let host = FieldName(code: 1)
    public static let connection = FieldName(code: 2)
    public static let contentLength = FieldName(code: 3)
    public static let transferEncoding = FieldName(code: 4)
    public static let upgrade = FieldName(code: 5)
    public static let expect = FieldName(code: 6)
    public static let te = FieldName(code: 7)
    public static let trailer = FieldName(code: 8)
    public static let keepAlive = FieldName(code: 9)
    public static let accept = FieldName(code: 10)
    public static let acceptEncoding = FieldName(code: 11)
    public static let acceptLanguage = FieldName(code: 12)
    public static let acceptCharset = FieldName(code: 13)
    public static let ifNoneMatch = FieldName(code: 14)
    public static let ifMatch = FieldName(code: 15)
    public static let ifModifiedSince = FieldName(code: 16)
    public static let ifUnmodifiedSince = FieldName(code: 17)
    public static let ifRange = FieldName(code: 18)
    public static let range = FieldName(code: 19)
    public static let userAgent = FieldName(code: 20)
    public static let referer = FieldName(code: 21)
    public static let cookie = FieldName(code: 22)
    public static let cacheControl = FieldName(code: 23)
    public static let pragma = FieldName(code: 24)
    public static let origin = FieldName(code: 25)
    public static let authorization = FieldName(code: 26)
    public static let contentType = FieldName(code: 27)
    public static let contentEncoding = FieldName(code: 28)
    public static let forwarded = FieldName(code: 29)
    public static let xForwardedFor = FieldName(code: 30)
    public static let xForwardedProto = FieldName(code: 31)
    public static let xForwardedHost = FieldName(code: 32)
    public static let xRequestID = FieldName(code: 33)
    public static let via = FieldName(code: 34)
    public static let dnt = FieldName(code: 35)
    public static let priority = FieldName(code: 36)
    public static let secFetchDest = FieldName(code: 37)
    public static let secFetchMode = FieldName(code: 38)
    public static let secFetchSite = FieldName(code: 39)
    public static let secFetchUser = FieldName(code: 40)
    public static let upgradeInsecureRequests = FieldName(code: 41)

    /// Every known name, in code order.
    public static let all: [FieldName] = (1...41).map { FieldName(code: UInt8($0)) }

    static let names: [String] = [
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "upgrade",
        "expect",
        "te",
        "trailer",
        "keep-alive",
        "accept",
        "accept-encoding",
        "accept-language",
        "accept-charset",
        "if-none-match",
        "if-match",
        "if-modified-since",
        "if-unmodified-since",
        "if-range",
        "range",
        "user-agent",
        "referer",
        "cookie",
        "cache-control",
        "pragma",
        "origin",
        "authorization",
        "content-type",
        "content-encoding",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
        "via",
        "dnt",
        "priority",
        "sec-fetch-dest",
        "sec-fetch-mode",
        "sec-fetch-site",
        "sec-fetch-user",
        "upgrade-insecure-requests",
    ]

    /// The code of the known name in `p[start..<end]`, or 0. Exact for any bytes: a letter of a
    /// known name matches itself in either case, and "-" only itself, so a recognised name is
    /// also a valid token (the parser relies on this to skip the per-byte token check).
    static func recognise(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt8 {
        switch end - start {
        case 2:
            if lowerEquals(p, start, "te") { return 7 }
        case 3:
            if lowerEquals(p, start, "via") { return 34 }
            if lowerEquals(p, start, "dnt") { return 35 }
        case 4:
            if lowerEquals(p, start, "host") { return 1 }
        case 5:
            if lowerEquals(p, start, "range") { return 19 }
        case 6:
            if lowerEquals(p, start, "expect") { return 6 }
            if lowerEquals(p, start, "accept") { return 10 }
            if lowerEquals(p, start, "cookie") { return 22 }
            if lowerEquals(p, start, "pragma") { return 24 }
            if lowerEquals(p, start, "origin") { return 25 }
        case 7:
            if lowerEquals(p, start, "upgrade") { return 5 }
            if lowerEquals(p, start, "trailer") { return 8 }
            if lowerEquals(p, start, "referer") { return 21 }
        case 8:
            if lowerEquals(p, start, "if-match") { return 15 }
            if lowerEquals(p, start, "if-range") { return 18 }
            if lowerEquals(p, start, "priority") { return 36 }
        case 9:
            if lowerEquals(p, start, "forwarded") { return 29 }
        case 10:
            if lowerEquals(p, start, "connection") { return 2 }
            if lowerEquals(p, start, "keep-alive") { return 9 }
            if lowerEquals(p, start, "user-agent") { return 20 }
        case 12:
            if lowerEquals(p, start, "content-type") { return 27 }
            if lowerEquals(p, start, "x-request-id") { return 33 }
        case 13:
            if lowerEquals(p, start, "if-none-match") { return 14 }
            if lowerEquals(p, start, "cache-control") { return 23 }
            if lowerEquals(p, start, "authorization") { return 26 }
        case 14:
            if lowerEquals(p, start, "content-length") { return 3 }
            if lowerEquals(p, start, "accept-charset") { return 13 }
            if lowerEquals(p, start, "sec-fetch-dest") { return 37 }
            if lowerEquals(p, start, "sec-fetch-mode") { return 38 }
            if lowerEquals(p, start, "sec-fetch-site") { return 39 }
            if lowerEquals(p, start, "sec-fetch-user") { return 40 }
        case 15:
            if lowerEquals(p, start, "accept-encoding") { return 11 }
            if lowerEquals(p, start, "accept-language") { return 12 }
            if lowerEquals(p, start, "x-forwarded-for") { return 30 }
        case 16:
            if lowerEquals(p, start, "content-encoding") { return 28 }
            if lowerEquals(p, start, "x-forwarded-host") { return 32 }
        case 17:
            if lowerEquals(p, start, "transfer-encoding") { return 4 }
            if lowerEquals(p, start, "if-modified-since") { return 16 }
            if lowerEquals(p, start, "x-forwarded-proto") { return 31 }
        case 19:
            if lowerEquals(p, start, "if-unmodified-since") { return 17 }
        case 25:
            if lowerEquals(p, start, "upgrade-insecure-requests") { return 41 }
        default:
            break
        }
        return 0
    }

    @inline(__always)
    static func lowerEquals(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ literal: StaticString) -> Bool {
        // Literals are lower-case letters and "-". Bit 0x40 marks the letters; shifted right it
        // gives the 0x20 case bit to fold for letters only, so "-" must match exactly.
        let lit = literal.utf8Start
        let count = literal.utf8CodeUnitCount
        let base = p.baseAddress! + start
        var i = 0
        while i + 8 <= count {
            let b = UnsafeRawPointer(lit + i).loadUnaligned(as: UInt64.self)
            let a = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) | ((b & 0x4040_4040_4040_4040) >> 1)
            if a != b { return false }
            i += 8
        }
        while i < count {
            let b = lit[i]
            if base[i] | ((b & 0x40) >> 1) != b { return false }
            i += 1
        }
        return true
    }
}

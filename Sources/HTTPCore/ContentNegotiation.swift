/// A content coding the edge can serve (RFC 9110 §8.4.1). The raw value orders preference at
/// equal q-value: a higher raw value wins (br > zstd > gzip > identity), because br and zstd
/// variants are the smallest and were compressed once, at publish time.
///
/// `dcz` (RFC 9842) comes last and is never chosen by `ContentNegotiation.select`: it is only
/// sent when the request names a dictionary the file has a delta for (`AvailableDictionary`).
public enum ContentCoding: UInt8, Sendable, CaseIterable {
    case identity, gzip, zstd, br, dcz

    /// The registered token, as sent in `Content-Encoding` (identity is never sent).
    public var token: String {
        switch self {
        case .identity: "identity"
        case .gzip: "gzip"
        case .zstd: "zstd"
        case .br: "br"
        case .dcz: "dcz"
        }
    }

    /// The same token as a static string, for writing a response head without allocating.
    public var staticToken: StaticString {
        switch self {
        case .identity: "identity"
        case .gzip: "gzip"
        case .zstd: "zstd"
        case .br: "br"
        case .dcz: "dcz"
        }
    }
}

/// The encoded variants a resource has. Identity (the stored bytes) is always available and so
/// is not a member; `offers(.identity)` is always true.
public struct AvailableCodings: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let gzip = AvailableCodings(rawValue: 1 << 0)
    public static let zstd = AvailableCodings(rawValue: 1 << 1)
    public static let br = AvailableCodings(rawValue: 1 << 2)
    /// Identity only: a resource without precompressed variants.
    public static let identityOnly: AvailableCodings = []
    public static let all: AvailableCodings = [.gzip, .zstd, .br]

    /// The set holding one coding (empty for identity, which needs no variant).
    public init(_ coding: ContentCoding) {
        switch coding {
        case .identity: self = []
        case .gzip: self = .gzip
        case .zstd: self = .zstd
        case .br: self = .br
        case .dcz: self = []
        }
    }

    /// Whether the resource can be sent with this coding (never `dcz`: that needs a dictionary).
    public func offers(_ coding: ContentCoding) -> Bool {
        coding == .identity || (coding != .dcz && contains(AvailableCodings(coding)))
    }
}

/// Chooses the `Content-Encoding` for a response from the request's `Accept-Encoding`
/// (RFC 9110 §12.5.3) and the variants a resource has. Scans the field's bytes in place:
/// no allocation, linear in the field length.
///
/// Rules, with the choices the RFC leaves open:
/// - Absent header: identity. (RFC 9110 says any coding is then acceptable, but a client that
///   sends no Accept-Encoding may not decode anything; every common server sends identity.)
/// - Empty header: identity only (§12.5.3: "does not want any content coding").
/// - Tokens are case-insensitive; `x-gzip` counts as gzip (§8.4.1.3); unknown codings are skipped.
/// - `*` gives its weight to every coding not listed by name, identity included.
/// - A member whose q-value is not valid qvalue syntax (§12.4.2: `0`–`1` with at most three
///   decimals, e.g. `q=2`, `q=0.5555`, `q=abc`) or whose parameters are malformed is ignored
///   (the rest of the field still counts). If a coding appears twice, its first member wins.
/// - Identity not named and not covered by `*` is acceptable with the lowest positive weight:
///   any listed coding with q > 0 is preferred to it.
/// - At equal q: br > zstd > gzip > identity.
/// - `nil` (answer 406) only when identity is explicitly refused (`identity;q=0`, or `*;q=0`
///   without an identity member) and no available coding is acceptable. In every other case
///   where nothing listed fits, identity is sent anyway (RFC 9110 §12.5.3 allows either).
public enum ContentNegotiation {
    public static func select(acceptEncoding: ArraySlice<UInt8>?, available: AvailableCodings) -> ContentCoding? {
        guard let field = acceptEncoding else { return .identity }
        let weights = field.withUnsafeBufferPointer { AcceptEncodingWeights(parsing: $0) }
        return weights.select(available: available)
    }

    /// Convenience for tests and configuration; the edge passes the field's bytes.
    public static func select(acceptEncoding: String?, available: AvailableCodings) -> ContentCoding? {
        select(acceptEncoding: acceptEncoding.map { ArraySlice($0.utf8) }, available: available)
    }

    /// Whether the field names `dcz` with q > 0 (RFC 9842 §5.2). `*` does not count: a client
    /// that can use a dictionary lists the coding by name, beside `Available-Dictionary`.
    public static func acceptsDictionaryZstd(acceptEncoding: ArraySlice<UInt8>?) -> Bool {
        guard let field = acceptEncoding else { return false }
        return field.withUnsafeBufferPointer { AcceptEncodingWeights(parsing: $0) }.dcz > 0
    }

    public static func acceptsDictionaryZstd(acceptEncoding: String?) -> Bool {
        acceptsDictionaryZstd(acceptEncoding: acceptEncoding.map { ArraySlice($0.utf8) })
    }
}

/// The weights (in thousandths, 0...1000; -1 when not mentioned) an Accept-Encoding field gives
/// to the codings we know.
struct AcceptEncodingWeights {
    var br: Int16 = -1
    var zstd: Int16 = -1
    var gzip: Int16 = -1
    var identity: Int16 = -1
    var star: Int16 = -1
    /// `dcz` (RFC 9842 §5.2): recorded only; `select` never picks it (it needs a dictionary).
    var dcz: Int16 = -1

    init(parsing field: UnsafeBufferPointer<UInt8>) {
        let n = field.count
        var i = 0
        while i < n {
            // Empty list elements and separators (RFC 9110 §5.6.1).
            while i < n, field[i] == SemanticBytes.comma || SemanticBytes.isOWS(field[i]) { i += 1 }
            if i >= n { break }
            let tokenStart = i
            while i < n, SemanticBytes.isTokenChar(field[i]) { i += 1 }
            let tokenEnd = i
            var valid = tokenEnd > tokenStart
            var q: Int16 = 1000
            i = SemanticBytes.skipOWS(field, from: i)
            while valid, i < n, field[i] == SemanticBytes.semicolon {
                i = SemanticBytes.skipOWS(field, from: i + 1)
                let nameStart = i
                while i < n, SemanticBytes.isTokenChar(field[i]) { i += 1 }
                let nameEnd = i
                guard nameEnd > nameStart, i < n, field[i] == SemanticBytes.equals else {
                    valid = false
                    break
                }
                i += 1
                let valueStart = i
                if i < n, field[i] == SemanticBytes.quote {
                    guard let end = SemanticBytes.endOfQuotedString(field, from: i) else {
                        valid = false
                        break
                    }
                    i = end
                } else {
                    while i < n, SemanticBytes.isTokenChar(field[i]) { i += 1 }
                }
                let valueEnd = i
                if nameEnd - nameStart == 1, field[nameStart] | 0x20 == UInt8(ascii: "q") {
                    guard let parsed = Self.qvalue(field, valueStart, valueEnd) else {
                        valid = false
                        break
                    }
                    q = parsed
                }
                i = SemanticBytes.skipOWS(field, from: i)
            }
            if i < n, field[i] != SemanticBytes.comma { valid = false }
            if valid { record(field, tokenStart, tokenEnd, q) }
            // Resynchronise on the next comma after a malformed member.
            while i < n, field[i] != SemanticBytes.comma { i += 1 }
        }
    }

    private mutating func record(_ field: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ q: Int16) {
        func named(_ literal: StaticString) -> Bool {
            SemanticBytes.equalsIgnoringCase(field, start, end, literal)
        }
        switch end - start {
        case 1 where field[start] == UInt8(ascii: "*"):
            if star < 0 { star = q }
        case 2 where named("br"):
            if br < 0 { br = q }
        case 4 where named("gzip"):
            if gzip < 0 { gzip = q }
        case 4 where named("zstd"):
            if zstd < 0 { zstd = q }
        case 3 where named("dcz"):
            if dcz < 0 { dcz = q }
        case 6 where named("x-gzip"):
            if gzip < 0 { gzip = q }
        case 8 where named("identity"):
            if identity < 0 { identity = q }
        default:
            break
        }
    }

    /// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
    static func qvalue(_ field: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int16? {
        let length = end - start
        guard length >= 1, length <= 5 else { return nil }
        let lead = field[start]
        guard lead == UInt8(ascii: "0") || lead == UInt8(ascii: "1") else { return nil }
        if length == 1 { return lead == UInt8(ascii: "1") ? 1000 : 0 }
        guard field[start + 1] == UInt8(ascii: ".") else { return nil }
        var thousandths: Int16 = 0
        var scale: Int16 = 100
        for k in (start + 2)..<end {
            let digit = field[k] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            thousandths += Int16(digit) * scale
            scale /= 10
        }
        if lead == UInt8(ascii: "1") { return thousandths == 0 ? 1000 : nil }
        return thousandths
    }

    func select(available: AvailableCodings) -> ContentCoding? {
        var best: ContentCoding? = nil
        var bestQ: Int16 = 0
        // Preference order: a later candidate must be strictly better to win a tie.
        func consider(_ coding: ContentCoding, _ named: Int16) {
            guard available.offers(coding) else { return }
            let q = named >= 0 ? named : max(star, 0)
            if q > bestQ {
                best = coding
                bestQ = q
            }
        }
        consider(.br, br)
        consider(.zstd, zstd)
        consider(.gzip, gzip)
        let identityExplicit = identity >= 0 ? identity : star
        // Unlisted identity: acceptable, ranked below anything listed with q > 0.
        let identityQ: Int16 = identityExplicit >= 0 ? identityExplicit : 1
        if identityQ > bestQ {
            best = .identity
            bestQ = identityQ
        }
        if best == nil, identityExplicit != 0 { return .identity }
        return best
    }
}

/// Byte-level helpers shared by the HTTP semantics files (ContentNegotiation, EntityTag,
/// ByteRange, HTTPDate, CacheControl, ResponseHead). Internal; ASCII only.
enum SemanticBytes {
    // Computed, not `static let`: a stored static is a lazily initialised global behind an
    // accessor call; these fold to constants.
    @inline(__always) static var space: UInt8 { 0x20 }
    @inline(__always) static var tab: UInt8 { 0x09 }
    @inline(__always) static var comma: UInt8 { 0x2C }
    @inline(__always) static var semicolon: UInt8 { 0x3B }
    @inline(__always) static var equals: UInt8 { 0x3D }
    @inline(__always) static var quote: UInt8 { 0x22 }
    @inline(__always) static var backslash: UInt8 { 0x5C }
    @inline(__always) static var cr: UInt8 { 0x0D }
    @inline(__always) static var lf: UInt8 { 0x0A }

    @inline(__always) static func isOWS(_ b: UInt8) -> Bool { b == space || b == tab }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") <= 9 }

    /// RFC 9110 §5.6.2 tchar, as a bitmap over ASCII: bit b of the mask for b < 64 and b ≥ 64.
    /// `!#$%&'*+-.^_`|~`, digits and letters.
    @inline(__always) static func isTokenChar(_ b: UInt8) -> Bool {
        // 0x20-0x3F: ! # $ % & ' * + - . 0-9
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        // 0x40-0x7F: A-Z ^ _ ` a-z | ~
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        if b < 64 { return (low >> UInt64(b)) & 1 == 1 }
        if b < 128 { return (high >> UInt64(b - 64)) & 1 == 1 }
        return false
    }

    /// Whether a field value byte is forbidden in what we write: CR, LF or NUL.
    @inline(__always) static func isLineBreakOrNul(_ b: UInt8) -> Bool {
        b <= 0x0D && (b == 0x0D || b == 0x0A || b == 0)
    }

    /// Whether any byte is CR, LF or NUL. Eight bytes at a time: a word with no byte below
    /// 0x0E cannot hold one (the classic "has a byte less than n" bit trick), so only words
    /// with a control byte are checked byte by byte.
    static func containsLineBreakOrNul(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= p.count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if (word &- ones &* 0x0E) & ~word & highs != 0 {
                for k in i..<(i + 8) where isLineBreakOrNul(p[k]) { return true }
            }
            i += 8
        }
        while i < p.count {
            if isLineBreakOrNul(p[i]) { return true }
            i += 1
        }
        return false
    }

    static func skipOWS(_ p: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        var i = i
        while i < p.count, isOWS(p[i]) { i += 1 }
        return i
    }

    /// The index just past the closing quote of a quoted-string starting at `start`, or nil if
    /// it is unterminated (RFC 9110 §5.6.4, backslash escapes honoured).
    static func endOfQuotedString(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var i = start + 1
        while i < p.count {
            switch p[i] {
            case quote: return i + 1
            case backslash: i += 2
            default: i += 1
            }
        }
        return nil
    }

    /// ASCII case-insensitive comparison of `p[start..<end]` with a lower-case literal.
    static func equalsIgnoringCase(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        guard end - start == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        for k in 0..<(end - start) where lowercased(p[start + k]) != lit[k] { return false }
        return true
    }

    @inline(__always) static func lowercased(_ b: UInt8) -> UInt8 {
        b &- UInt8(ascii: "A") < 26 ? b | 0x20 : b
    }

    /// The range of `p` without leading and trailing OWS.
    static func trimmedOWS(_ p: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var start = 0
        var end = p.count
        while start < end, isOWS(p[start]) { start += 1 }
        while end > start, isOWS(p[end - 1]) { end -= 1 }
        return start..<end
    }

    /// Appends a non-negative integer's decimal digits without allocating (beyond the buffer's
    /// own growth).
    static func appendDecimal(_ value: Int64, to buffer: inout [UInt8]) {
        precondition(value >= 0, "negative value in a decimal header field")
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var v = value
        var k = start + digits - 1
        while k >= start {
            buffer[k] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
            v /= 10
            k -= 1
        }
    }

    /// Number of decimal digits of a non-negative value.
    static func decimalLength(_ value: Int64) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }
}

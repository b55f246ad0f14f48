/// The request side of Compression Dictionary Transport (RFC 9842 §2.2): the
/// `Available-Dictionary` field names the dictionary a client holds by its SHA-256, as a
/// Structured Field byte sequence (RFC 8941 §3.3.5): `:<base64 of 32 bytes>:`.
///
/// Anything else (another length, bad base64, a list, parameters, extra bytes, a field over
/// 128 bytes) is not an error for the request: the dictionary is treated as unknown and the
/// normal negotiation answers (RFC 9842 §2.2: a server ignores a dictionary it cannot use).
public enum AvailableDictionary {
    /// The longest field value looked at; a SHA-256 needs 46 bytes.
    public static let maxFieldLength = 128

    /// The 32-byte SHA-256 the field carries, or nil when it is not exactly one well-formed hash.
    public static func parse(_ field: ArraySlice<UInt8>) -> [UInt8]? {
        guard field.count <= maxFieldLength else { return nil }
        return field.withUnsafeBufferPointer { p -> [UInt8]? in
            let range = SemanticBytes.trimmedOWS(p)
            // ":" 44 base64 characters (32 bytes, one "=" of padding) ":"
            guard range.count == 46, p[range.lowerBound] == colon, p[range.upperBound - 1] == colon else { return nil }
            return Base64.decode32(p, from: range.lowerBound + 1)
        }
    }

    public static func parse(_ field: String) -> [UInt8]? {
        parse(ArraySlice(field.utf8))
    }

    private static var colon: UInt8 { 0x3A }
}

/// Strict RFC 4648 §4 base64 for a SHA-256: 44 characters, the last one `=`, the unused low bits
/// of the final character zero (so every hash has exactly one spelling).
enum Base64 {
    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    static func decode32(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> [UInt8]? {
        guard p.count >= start + 44, p[start + 43] == UInt8(ascii: "=") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(33)
        var bits: UInt32 = 0
        var count = 0
        for k in start..<(start + 43) {
            guard let v = value(p[k]) else { return nil }
            bits = bits << 6 | UInt32(v)
            count += 6
            if count >= 8 {
                count -= 8
                out.append(UInt8(truncatingIfNeeded: bits >> UInt32(count)))
                bits &= (1 << UInt32(count)) - 1
            }
        }
        // 43 characters = 258 bits = 32 bytes + 2 padding bits, which must be zero.
        guard out.count == 32, bits == 0 else { return nil }
        return out
    }
}

/// The response side (RFC 9842 §2.1): `Use-As-Dictionary` tells the client to keep this response
/// as a dictionary for later requests whose URL matches `match` (a URL Pattern, relative patterns
/// resolved against the response's URL), optionally only for some request destinations.
public struct UseAsDictionary: Sendable, Equatable {
    public var match: String
    /// Request destinations (`script`, `style`, …); empty means any.
    public var matchDestinations: [String]
    public var id: String?

    /// nil when a value cannot be written as a Structured Field string (RFC 8941 §3.3.3: printable
    /// ASCII only) or a destination is not a token, or a value is empty or over 1024 bytes.
    public init?(match: String, matchDestinations: [String] = [], id: String? = nil) {
        func printable(_ s: String) -> Bool {
            !s.isEmpty && s.utf8.count <= 1024 && s.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
        }
        guard printable(match), id.map(printable) ?? true,
            matchDestinations.allSatisfy({ d in !d.isEmpty && d.utf8.allSatisfy { $0 >= 0x61 && $0 <= 0x7A || $0 == 0x2D } })
        else { return nil }
        self.match = match
        self.matchDestinations = matchDestinations
        self.id = id
    }

    /// The field value, an RFC 8941 dictionary: `match="/assets/app.*.js", match-dest=("script")`.
    public var fieldValue: String {
        var value = "match=" + Self.quoted(match)
        if !matchDestinations.isEmpty {
            value += ", match-dest=(" + matchDestinations.map(Self.quoted).joined(separator: " ") + ")"
        }
        if let id { value += ", id=" + Self.quoted(id) }
        return value
    }

    /// RFC 8941 §4.1.6: `"` and `\` are escaped with a backslash.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }
}

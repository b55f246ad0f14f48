/// A resource's caching policy, as stored in a deployment manifest, and its `Cache-Control`
/// header value (RFC 9111 §5.2.2, RFC 8246 for `immutable`). `init(headerValue:)` reads a value
/// back, so a policy survives a round trip through its header form.
public enum CacheControl: Equatable, Hashable, Sendable {
    /// Content-hashed names that never change: `max-age=31536000, immutable` (no `public`: it
    /// only matters for responses to requests with `Authorization`, which the edge never serves).
    case immutable
    /// HTML entry points: `no-cache` (store, but revalidate before every use).
    case revalidate
    /// `public, max-age=N` (N ≥ 0 seconds).
    case maxAge(Int)
    /// Any other value, sent as given (must not contain CR or LF).
    case custom(String)

    /// One year, the conventional "forever" for immutable assets.
    public static let immutableMaxAge = 31_536_000

    /// The header value.
    public var headerValue: String {
        switch self {
        case .immutable: "max-age=31536000, immutable"
        case .revalidate: "no-cache"
        case .maxAge(let seconds): "public, max-age=\(max(seconds, 0))"
        case .custom(let value): value
        }
    }

    /// The header value as bytes, for the response head writer.
    public var headerBytes: [UInt8] { Array(headerValue.utf8) }

    /// Reads a header value back into a policy. Directive names compare case-insensitively,
    /// whitespace around commas is ignored, and directive order does not matter; any value
    /// that is not exactly one of the three canonical directive sets becomes `.custom` with the
    /// value trimmed of surrounding whitespace.
    public init(headerValue field: ArraySlice<UInt8>) {
        let directives = field.split(separator: SemanticBytes.comma, omittingEmptySubsequences: false)
            .map { directive in
                String(
                    decoding: directive.withUnsafeBufferPointer { p in
                        Array(p[SemanticBytes.trimmedOWS(p)]).map(SemanticBytes.lowercased)
                    }, as: UTF8.self)
            }
        let set = Set(directives)
        let trimmed = field.withUnsafeBufferPointer { p in String(decoding: p[SemanticBytes.trimmedOWS(p)], as: UTF8.self) }
        if directives.count == set.count {
            // With or without `public` (manifests published before it was dropped carry it).
            if set == ["max-age=31536000", "immutable"] || set == ["public", "max-age=31536000", "immutable"] {
                self = .immutable
                return
            }
            if set == ["no-cache"] {
                self = .revalidate
                return
            }
            if set.count == 2, set.contains("public"),
                let maxAge = set.first(where: { $0.hasPrefix("max-age=") }),
                let seconds = CacheControl.deltaSeconds(maxAge.dropFirst(8))
            {
                self = .maxAge(seconds)
                return
            }
        }
        self = .custom(trimmed)
    }

    public init(headerValue: String) {
        self.init(headerValue: ArraySlice(headerValue.utf8))
    }

    /// delta-seconds = 1*DIGIT (RFC 9111 §1.2.2); canonical digits only, so the value
    /// round-trips (no leading zeros, no overflow).
    private static func deltaSeconds(_ digits: Substring) -> Int? {
        guard !digits.isEmpty, digits.count <= 10, digits.utf8.allSatisfy(SemanticBytes.isDigit),
            digits == "0" || digits.first != "0"
        else { return nil }
        return Int(digits)
    }
}

/// Evaluates a request's preconditions against the selected representation, in the order
/// RFC 9110 §13.2.2 prescribes, and says whether to proceed (and whether a Range may be
/// honoured), answer 304, or answer 412. Pure: header values in, decision out.
public enum ConditionalRequest {
    /// The request method, as far as preconditions and ranges care.
    public enum Method: Sendable {
        /// GET: failing If-None-Match/If-Modified-Since gives 304; ranges apply.
        case get
        /// HEAD: like GET, but Range is ignored (§14.2: GET is the only method with ranges).
        case head
        /// Anything else: failing If-None-Match gives 412; If-Modified-Since is ignored.
        case other

        var isGetOrHead: Bool { self != .other }
    }

    /// The decision.
    public enum Outcome: Equatable, Sendable {
        /// Serve the representation. `rangeAllowed` is true when the request has a Range
        /// header that may be honoured (GET, and If-Range absent or matching); false means send
        /// the full representation with 200.
        case proceed(rangeAllowed: Bool)
        /// 304 Not Modified.
        case notModified
        /// 412 Precondition Failed.
        case preconditionFailed
    }

    /// The validators of the selected representation.
    public struct Validators: Sendable {
        /// The current strong ETag, as sent in the `ETag` header (with quotes), or nil.
        public var etag: EntityTag?
        /// Last-Modified, seconds since the epoch, or nil.
        public var lastModified: Int64?

        public init(etag: EntityTag?, lastModified: Int64?) {
            self.etag = etag
            self.lastModified = lastModified
        }

        /// - Parameter etagHeader: the `ETag` header bytes (e.g. `"abc"`); unparseable means none.
        public init(etagHeader: ArraySlice<UInt8>?, lastModified: Int64?) {
            self.init(etag: etagHeader.flatMap { EntityTag(parsing: $0) }, lastModified: lastModified)
        }
    }

    /// The request's conditional header values (each nil when absent).
    public struct Headers: Sendable {
        public var ifMatch: ArraySlice<UInt8>?
        public var ifUnmodifiedSince: ArraySlice<UInt8>?
        public var ifNoneMatch: ArraySlice<UInt8>?
        public var ifModifiedSince: ArraySlice<UInt8>?
        public var ifRange: ArraySlice<UInt8>?
        /// Whether the request carries a Range header.
        public var hasRange: Bool

        public init(
            ifMatch: ArraySlice<UInt8>? = nil, ifUnmodifiedSince: ArraySlice<UInt8>? = nil,
            ifNoneMatch: ArraySlice<UInt8>? = nil, ifModifiedSince: ArraySlice<UInt8>? = nil,
            ifRange: ArraySlice<UInt8>? = nil, hasRange: Bool = false
        ) {
            self.ifMatch = ifMatch
            self.ifUnmodifiedSince = ifUnmodifiedSince
            self.ifNoneMatch = ifNoneMatch
            self.ifModifiedSince = ifModifiedSince
            self.ifRange = ifRange
            self.hasRange = hasRange
        }
    }

    /// RFC 9110 §13.2.2, steps 1–5, for a representation that exists.
    ///
    /// - Invalid or list-valued dates are ignored (§13.1.3, §13.1.4), as are date conditions
    ///   when the representation has no Last-Modified.
    /// - If-Match with no parseable member fails (412); If-None-Match with no parseable
    ///   member holds (proceed). See `EntityTagListScanner`.
    /// - If-Range: an entity-tag must match the current ETag strongly (a weak tag never
    ///   does); a date must equal Last-Modified exactly; anything else means "ignore Range".
    public static func evaluate(method: Method, validators: Validators, headers: Headers) -> Outcome {
        // Step 1: If-Match, strong comparison (§13.1.1).
        if let ifMatch = headers.ifMatch {
            if !ifMatchHolds(ifMatch, validators) { return .preconditionFailed }
        } else if let field = headers.ifUnmodifiedSince,
            // Step 2: If-Unmodified-Since, only without If-Match (§13.1.4).
            let date = HTTPDate.parse(field), let lastModified = validators.lastModified,
            lastModified > date
        {
            return .preconditionFailed
        }

        // Step 3: If-None-Match, weak comparison (§13.1.2).
        if let ifNoneMatch = headers.ifNoneMatch {
            if !ifNoneMatchHolds(ifNoneMatch, validators) {
                return method.isGetOrHead ? .notModified : .preconditionFailed
            }
        } else if method.isGetOrHead, let field = headers.ifModifiedSince,
            // Step 4: If-Modified-Since, GET/HEAD only and only without If-None-Match (§13.1.3).
            let date = HTTPDate.parse(field), let lastModified = validators.lastModified,
            lastModified <= date
        {
            return .notModified
        }

        // Step 5: If-Range decides whether the Range header counts (§13.1.5).
        guard method == .get, headers.hasRange else { return .proceed(rangeAllowed: false) }
        guard let ifRange = headers.ifRange else { return .proceed(rangeAllowed: true) }
        return .proceed(rangeAllowed: ifRangeHolds(ifRange, validators))
    }

    static func ifMatchHolds(_ field: ArraySlice<UInt8>, _ validators: Validators) -> Bool {
        // `*` holds for any existing representation, even one without an ETag.
        anyMember(of: field, matches: validators.etag, using: .strong)
    }

    static func ifNoneMatchHolds(_ field: ArraySlice<UInt8>, _ validators: Validators) -> Bool {
        !anyMember(of: field, matches: validators.etag, using: .weak)
    }

    /// One pass over the list: true at the first `*` or matching tag.
    private static func anyMember(of field: ArraySlice<UInt8>, matches current: EntityTag?, using comparison: EntityTag.Comparison) -> Bool {
        for member in EntityTagListScanner(field) {
            switch member {
            case .any: return true
            case .tag(let tag): if let current, tag.matches(current, using: comparison) { return true }
            }
        }
        return false
    }

    static func ifRangeHolds(_ field: ArraySlice<UInt8>, _ validators: Validators) -> Bool {
        if let tag = EntityTag(parsing: field) {
            guard let current = validators.etag else { return false }
            return tag.matches(current, using: .strong)
        }
        guard let date = HTTPDate.parse(field), let lastModified = validators.lastModified else { return false }
        return date == lastModified
    }
}

/// Byte range requests (RFC 9110 §14): parse `Range: bytes=…`, resolve it against a
/// representation's length, and format `Content-Range` and multipart/byteranges framing.
///
/// Choices where the RFC leaves room:
/// - Another unit, or any syntax error anywhere in the field (including `last < first`), means
///   the whole header is ignored and the full representation is sent with 200 (§14.2: a server
///   may ignore the Range header field).
/// - Numbers too large for Int64 saturate: `bytes=0-99999999999999999999` means "to the end",
///   a saturated first position is simply past the end.
/// - More than `Limits.maxSpecifiers` range-specs (default 128) in the field, or more than
///   `Limits.maxRanges` (default 16) ranges left after coalescing: the header is ignored and
///   200 is sent (§14.2 lets a server ignore many small or overlapping ranges; this is what
///   nginx's max_ranges and Apache's MaxRanges do, and it keeps a 10,000-range request cheap).
/// - Overlapping and adjacent ranges are coalesced; parts keep the order in which their first
///   range-spec appeared (§14.6).
/// - A zero-length representation cannot satisfy any int-range (416); a suffix-range on it is
///   ignored and the empty representation is sent with 200.
public enum ByteRange {
    /// One range-spec before it meets a length (§14.1.1).
    public enum Spec: Equatable, Sendable {
        /// `first-last`
        case closed(first: Int64, last: Int64)
        /// `first-`
        case from(first: Int64)
        /// `-length`: the last `length` bytes.
        case suffix(length: Int64)

        /// Non-negative positions, last ≥ first: always true for parsed specs; hand-built
        /// ones that are not make `resolve` ignore the header rather than trap.
        var isWellFormed: Bool {
            switch self {
            case .closed(let first, let last): first >= 0 && last >= first
            case .from(let first): first >= 0
            case .suffix(let length): length >= 0
            }
        }
    }

    /// A satisfiable range: inclusive byte positions inside the representation.
    public struct Span: Equatable, Sendable {
        public let first: Int64
        public let last: Int64
        public init(first: Int64, last: Int64) {
            precondition(first >= 0 && first <= last, "empty or negative span")
            self.first = first
            self.last = last
        }
        /// Number of bytes in the span.
        public var count: Int64 { last - first + 1 }
    }

    /// What to answer to a Range header.
    public enum Resolution: Equatable, Sendable {
        /// Ignore the header: 200 with the whole representation.
        case ignored
        /// 206 with one `Content-Range`.
        case single(Span)
        /// 206 with a multipart/byteranges body; spans in response order.
        case multiple([Span])
        /// 416 with `Content-Range: bytes */length`.
        case unsatisfiable
    }

    /// Caps that keep hostile Range headers cheap.
    public struct Limits: Sendable, Equatable {
        /// Range-specs accepted in one field before the field is ignored.
        public var maxSpecifiers: Int
        /// Ranges (after coalescing) served as one multipart response before the field is ignored.
        public var maxRanges: Int
        public init(maxSpecifiers: Int = 128, maxRanges: Int = 16) {
            self.maxSpecifiers = maxSpecifiers
            self.maxRanges = maxRanges
        }
        public static let `default` = Limits()
    }

    // MARK: - Parsing

    /// The range-specs of a `bytes` Range field, or nil when the header must be ignored.
    public static func parse(_ field: ArraySlice<UInt8>, limits: Limits = .default) -> [Spec]? {
        field.withUnsafeBufferPointer { p -> [Spec]? in
            let r = SemanticBytes.trimmedOWS(p)
            // range-unit "=" (units are case-insensitive, §14.1).
            guard r.count > 6, SemanticBytes.equalsIgnoringCase(p, r.lowerBound, r.lowerBound + 5, "bytes"),
                p[r.lowerBound + 5] == SemanticBytes.equals
            else { return nil }
            var specs: [Spec] = []
            var i = r.lowerBound + 6
            let end = r.upperBound
            while i < end {
                while i < end, p[i] == SemanticBytes.comma || SemanticBytes.isOWS(p[i]) { i += 1 }
                if i >= end { break }
                let spec: Spec
                if p[i] == UInt8(ascii: "-") {
                    guard let (length, next) = saturatingNumber(p, i + 1, end) else { return nil }
                    spec = .suffix(length: length)
                    i = next
                } else {
                    guard let (first, afterFirst) = saturatingNumber(p, i, end),
                        afterFirst < end, p[afterFirst] == UInt8(ascii: "-")
                    else { return nil }
                    i = afterFirst + 1
                    if let (last, next) = saturatingNumber(p, i, end) {
                        guard last >= first else { return nil }
                        spec = .closed(first: first, last: last)
                        i = next
                    } else {
                        spec = .from(first: first)
                    }
                }
                // OWS up to the trimmed end only (the field's trailing OWS lies past `end`).
                while i < end, SemanticBytes.isOWS(p[i]) { i += 1 }
                guard i == end || p[i] == SemanticBytes.comma else { return nil }
                guard specs.count < limits.maxSpecifiers else { return nil }
                specs.append(spec)
            }
            return specs.isEmpty ? nil : specs
        }
    }

    /// 1*DIGIT at `start`, saturating at Int64.max; nil if there is no digit.
    private static func saturatingNumber(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (Int64, Int)? {
        var i = start
        var value: Int64 = 0
        while i < end, SemanticBytes.isDigit(p[i]) {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(p[i] - UInt8(ascii: "0")))
            value = (o1 || o2) ? .max : sum
            i += 1
        }
        return i > start ? (value, i) : nil
    }

    // MARK: - Resolution

    /// Parses and resolves a Range field against a representation of `length` bytes.
    public static func resolve(_ field: ArraySlice<UInt8>, length: Int64, limits: Limits = .default) -> Resolution {
        guard let specs = parse(field, limits: limits) else { return .ignored }
        return resolve(specs, length: length, limits: limits)
    }

    public static func resolve(_ field: String, length: Int64, limits: Limits = .default) -> Resolution {
        resolve(ArraySlice(field.utf8), length: length, limits: limits)
    }

    /// Resolves parsed range-specs against `length` (§14.1.1 satisfiability), coalescing
    /// overlapping and adjacent ranges.
    public static func resolve(_ specs: [Spec], length: Int64, limits: Limits = .default) -> Resolution {
        precondition(length >= 0)
        guard specs.count <= limits.maxSpecifiers, specs.allSatisfy(\.isWellFormed) else { return .ignored }
        if specs.count == 1 { return resolveOne(specs[0], length: length) }
        var candidates: [(span: Span, order: Int)] = []
        candidates.reserveCapacity(specs.count)
        var nonEmptySuffix = false
        for (order, spec) in specs.enumerated() {
            switch spec {
            case .closed(let first, let last):
                if first < length { candidates.append((Span(first: first, last: min(last, length - 1)), order)) }
            case .from(let first):
                if first < length { candidates.append((Span(first: first, last: length - 1), order)) }
            case .suffix(let n):
                guard n > 0 else { continue }
                nonEmptySuffix = true
                if length > 0 { candidates.append((Span(first: length - min(n, length), last: length - 1), order)) }
            }
        }
        if candidates.isEmpty { return length == 0 && nonEmptySuffix ? .ignored : .unsatisfiable }

        candidates.sort { $0.span.first < $1.span.first }
        var merged: [(span: Span, order: Int)] = []
        for candidate in candidates {
            if let top = merged.last, candidate.span.first <= top.span.last + 1 {
                merged[merged.count - 1] = (
                    Span(first: top.span.first, last: max(top.span.last, candidate.span.last)),
                    min(top.order, candidate.order)
                )
            } else {
                merged.append(candidate)
            }
        }
        if merged.count == 1 { return .single(merged[0].span) }
        if merged.count > limits.maxRanges { return .ignored }
        merged.sort { $0.order < $1.order }
        return .multiple(merged.map(\.span))
    }

    /// The common case, without the coalescing arrays.
    private static func resolveOne(_ spec: Spec, length: Int64) -> Resolution {
        switch spec {
        case .closed(let first, let last):
            first < length ? .single(Span(first: first, last: min(last, length - 1))) : .unsatisfiable
        case .from(let first):
            first < length ? .single(Span(first: first, last: length - 1)) : .unsatisfiable
        case .suffix(let n) where n == 0:
            .unsatisfiable
        case .suffix(let n):
            length > 0 ? .single(Span(first: length - min(n, length), last: length - 1)) : .ignored
        }
    }

    // MARK: - Content-Range

    /// `bytes first-last/length` (§14.4).
    public static func contentRange(_ span: Span, completeLength: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        appendContentRange(span, completeLength: completeLength, to: &bytes)
        return bytes
    }

    /// `bytes */length`, sent with 416 (§15.5.17).
    public static func unsatisfiedContentRange(completeLength: Int64) -> [UInt8] {
        var bytes = Array("bytes */".utf8)
        SemanticBytes.appendDecimal(completeLength, to: &bytes)
        return bytes
    }

    public static func appendContentRange(_ span: Span, completeLength: Int64, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: "bytes ".utf8)
        SemanticBytes.appendDecimal(span.first, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        SemanticBytes.appendDecimal(span.last, to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        SemanticBytes.appendDecimal(completeLength, to: &bytes)
    }
}

/// The framing of a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1): the head
/// before each part's bytes, the closing delimiter, and the total Content-Length, so the edge
/// can stream parts straight from the representation. The body is
/// `partHead(0) data0 partHead(1) data1 … closing`.
public struct MultipartByteRanges: Sendable {
    public let spans: [ByteRange.Span]
    public let contentType: [UInt8]
    public let completeLength: Int64
    public let boundary: [UInt8]

    /// - Parameters:
    ///   - boundary: 1–70 characters from RFC 2046's bchars, not ending in a space; chosen by
    ///     the caller (a random or per-resource token). Violations are programmer errors.
    public init(spans: [ByteRange.Span], contentType: some Sequence<UInt8>, completeLength: Int64, boundary: String) {
        let boundaryBytes = Array(boundary.utf8)
        precondition(MultipartByteRanges.isValidBoundary(boundaryBytes), "invalid multipart boundary")
        let type = Array(contentType)
        precondition(!type.contains(SemanticBytes.cr) && !type.contains(SemanticBytes.lf), "CR/LF in content type")
        self.spans = spans
        self.contentType = type
        self.completeLength = completeLength
        self.boundary = boundaryBytes
    }

    public init(spans: [ByteRange.Span], contentType: String, completeLength: Int64, boundary: String) {
        self.init(spans: spans, contentType: contentType.utf8, completeLength: completeLength, boundary: boundary)
    }

    /// The response's `Content-Type`: `multipart/byteranges; boundary=…`.
    public var responseContentType: [UInt8] {
        Array("multipart/byteranges; boundary=".utf8) + boundary
    }

    /// The delimiter and headers before part `index`'s bytes. The first part has no leading
    /// CRLF; later ones start with the CRLF that ends the previous part's data.
    public func partHead(_ index: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(partHeadLength(index))
        if index > 0 { bytes.append(contentsOf: "\r\n".utf8) }
        bytes.append(contentsOf: "--".utf8)
        bytes.append(contentsOf: boundary)
        bytes.append(contentsOf: "\r\nContent-Type: ".utf8)
        bytes.append(contentsOf: contentType)
        bytes.append(contentsOf: "\r\nContent-Range: ".utf8)
        ByteRange.appendContentRange(spans[index], completeLength: completeLength, to: &bytes)
        bytes.append(contentsOf: "\r\n\r\n".utf8)
        return bytes
    }

    /// `CRLF --boundary-- CRLF`, after the last part's bytes.
    public var closing: [UInt8] {
        Array("\r\n--".utf8) + boundary + Array("--\r\n".utf8)
    }

    /// The exact Content-Length of the whole multipart body.
    public var contentLength: Int64 {
        var total = Int64(closing.count)
        for index in spans.indices {
            total += Int64(partHeadLength(index)) + spans[index].count
        }
        return total
    }

    private func partHeadLength(_ index: Int) -> Int {
        let span = spans[index]
        let contentRangeLength =
            6 + SemanticBytes.decimalLength(span.first) + 1
            + SemanticBytes.decimalLength(span.last) + 1 + SemanticBytes.decimalLength(completeLength)
        return (index > 0 ? 2 : 0) + 2 + boundary.count + 16 + contentType.count + 17 + contentRangeLength + 4
    }

    /// Whether a boundary is valid: RFC 2046 §5.1.1, 0*69bchars bcharsnospace.
    public static func isValidBoundary(_ boundary: String) -> Bool {
        isValidBoundary(Array(boundary.utf8))
    }

    static func isValidBoundary(_ b: [UInt8]) -> Bool {
        guard (1...70).contains(b.count), b.last != SemanticBytes.space else { return false }
        return b.allSatisfy { c in
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return true
            default:
                return "'()+_,-./:=? ".utf8.contains(c)
            }
        }
    }
}

import HTTPCore
import Testing

@Suite("Conditional requests (RFC 9110 §13.2.2)")
struct ConditionalRequestTests {
    /// The representation: ETag "v2", last modified Sun, 06 Nov 1994 08:49:37 GMT.
    static let lastModified: Int64 = 784_111_777
    static let current = ConditionalRequest.Validators(etagHeader: ArraySlice("\"v2\"".utf8), lastModified: lastModified)

    static let sameDate = "Sun, 06 Nov 1994 08:49:37 GMT"
    static let earlier = "Sat, 05 Nov 1994 08:49:37 GMT"
    static let later = "Mon, 07 Nov 1994 08:49:37 GMT"

    private func evaluate(
        _ method: ConditionalRequest.Method = .get,
        validators: ConditionalRequest.Validators = current,
        ifMatch: String? = nil, ifUnmodifiedSince: String? = nil,
        ifNoneMatch: String? = nil, ifModifiedSince: String? = nil,
        ifRange: String? = nil, range: Bool = false
    ) -> ConditionalRequest.Outcome {
        func bytes(_ s: String?) -> ArraySlice<UInt8>? { s.map { ArraySlice($0.utf8) } }
        let headers = ConditionalRequest.Headers(
            ifMatch: bytes(ifMatch), ifUnmodifiedSince: bytes(ifUnmodifiedSince),
            ifNoneMatch: bytes(ifNoneMatch), ifModifiedSince: bytes(ifModifiedSince),
            ifRange: bytes(ifRange), hasRange: range)
        return ConditionalRequest.evaluate(method: method, validators: validators, headers: headers)
    }

    // MARK: No preconditions

    @Test func withoutPreconditionsTheRequestProceeds() {
        #expect(evaluate() == .proceed(rangeAllowed: false))
        #expect(evaluate(range: true) == .proceed(rangeAllowed: true))
    }

    @Test func headIgnoresRange() {
        #expect(evaluate(.head, range: true) == .proceed(rangeAllowed: false))
    }

    // MARK: Step 1: If-Match (strong)

    @Test func ifMatchWithTheCurrentTagProceeds() {
        #expect(evaluate(ifMatch: "\"v1\", \"v2\"") == .proceed(rangeAllowed: false))
    }

    @Test func ifMatchWithAnotherTagFails() {
        #expect(evaluate(ifMatch: "\"v1\"") == .preconditionFailed)
        #expect(evaluate(.other, ifMatch: "\"v1\"") == .preconditionFailed)
    }

    @Test func ifMatchUsesStrongComparisonSoAWeakTagFails() {
        #expect(evaluate(ifMatch: "W/\"v2\"") == .preconditionFailed)
    }

    @Test func ifMatchStarHoldsForAnExistingRepresentation() {
        #expect(evaluate(ifMatch: "*") == .proceed(rangeAllowed: false))
        let noTag = ConditionalRequest.Validators(etag: nil, lastModified: Self.lastModified)
        #expect(evaluate(validators: noTag, ifMatch: "*") == .proceed(rangeAllowed: false))
    }

    @Test func ifMatchFailsWhenTheRepresentationHasNoETag() {
        let noTag = ConditionalRequest.Validators(etag: nil, lastModified: Self.lastModified)
        #expect(evaluate(validators: noTag, ifMatch: "\"v2\"") == .preconditionFailed)
    }

    @Test func ifMatchWithOnlyGarbageFails() {
        #expect(evaluate(ifMatch: "v2") == .preconditionFailed)
        #expect(evaluate(ifMatch: "") == .preconditionFailed)
    }

    // MARK: Step 2: If-Unmodified-Since (only without If-Match)

    @Test func ifUnmodifiedSinceASameOrLaterDateProceeds() {
        #expect(evaluate(ifUnmodifiedSince: Self.sameDate) == .proceed(rangeAllowed: false))
        #expect(evaluate(ifUnmodifiedSince: Self.later) == .proceed(rangeAllowed: false))
    }

    @Test func ifUnmodifiedSinceAnEarlierDateFails() {
        #expect(evaluate(ifUnmodifiedSince: Self.earlier) == .preconditionFailed)
    }

    @Test func ifUnmodifiedSinceIsIgnoredWhenIfMatchIsPresent() {
        #expect(evaluate(ifMatch: "\"v2\"", ifUnmodifiedSince: Self.earlier) == .proceed(rangeAllowed: false))
    }

    @Test func anInvalidIfUnmodifiedSinceIsIgnored() {
        #expect(evaluate(ifUnmodifiedSince: "not a date") == .proceed(rangeAllowed: false))
        #expect(evaluate(ifUnmodifiedSince: "\(Self.earlier), \(Self.earlier)") == .proceed(rangeAllowed: false))
    }

    @Test func ifUnmodifiedSinceIsIgnoredWithoutALastModified() {
        let noDate = ConditionalRequest.Validators(etagHeader: ArraySlice("\"v2\"".utf8), lastModified: nil)
        #expect(evaluate(validators: noDate, ifUnmodifiedSince: Self.earlier) == .proceed(rangeAllowed: false))
    }

    // MARK: Step 3: If-None-Match (weak)

    @Test func ifNoneMatchWithTheCurrentTagIsNotModifiedForGetAndHead() {
        #expect(evaluate(ifNoneMatch: "\"v2\"") == .notModified)
        #expect(evaluate(.head, ifNoneMatch: "\"v2\"") == .notModified)
    }

    @Test func ifNoneMatchWithTheCurrentTagFailsForOtherMethods() {
        #expect(evaluate(.other, ifNoneMatch: "\"v2\"") == .preconditionFailed)
    }

    @Test func ifNoneMatchUsesWeakComparison() {
        #expect(evaluate(ifNoneMatch: "W/\"v2\"") == .notModified)
        #expect(evaluate(ifNoneMatch: "\"v0\", W/\"v1\", W/\"v2\"") == .notModified)
    }

    @Test func ifNoneMatchWithOtherTagsProceeds() {
        #expect(evaluate(ifNoneMatch: "\"v1\"") == .proceed(rangeAllowed: false))
        #expect(evaluate(ifNoneMatch: "v2") == .proceed(rangeAllowed: false))
    }

    @Test func ifNoneMatchStarMatchesAnyRepresentation() {
        #expect(evaluate(ifNoneMatch: "*") == .notModified)
        #expect(evaluate(.other, ifNoneMatch: "*") == .preconditionFailed)
    }

    // MARK: Step 4: If-Modified-Since (GET/HEAD, only without If-None-Match)

    @Test func ifModifiedSinceASameOrLaterDateIsNotModified() {
        #expect(evaluate(ifModifiedSince: Self.sameDate) == .notModified)
        #expect(evaluate(ifModifiedSince: Self.later) == .notModified)
        #expect(evaluate(.head, ifModifiedSince: Self.sameDate) == .notModified)
    }

    @Test func ifModifiedSinceAnEarlierDateProceeds() {
        #expect(evaluate(ifModifiedSince: Self.earlier) == .proceed(rangeAllowed: false))
    }

    @Test func ifModifiedSinceIsIgnoredForOtherMethods() {
        #expect(evaluate(.other, ifModifiedSince: Self.later) == .proceed(rangeAllowed: false))
    }

    @Test func ifModifiedSinceIsIgnoredWhenIfNoneMatchIsPresent() {
        // The tag changed although the date says "not modified": the tag wins (§13.1.3).
        #expect(evaluate(ifNoneMatch: "\"v1\"", ifModifiedSince: Self.later) == .proceed(rangeAllowed: false))
    }

    @Test func ifModifiedSinceAcceptsTheObsoleteFormats() {
        #expect(evaluate(ifModifiedSince: "Sunday, 06-Nov-94 08:49:37 GMT") == .notModified)
        #expect(evaluate(ifModifiedSince: "Sun Nov  6 08:49:37 1994") == .notModified)
    }

    @Test func anInvalidIfModifiedSinceIsIgnored() {
        #expect(evaluate(ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 CET") == .proceed(rangeAllowed: false))
        #expect(evaluate(ifModifiedSince: String(repeating: "\u{0}", count: 1000)) == .proceed(rangeAllowed: false))
    }

    // MARK: Precedence across steps

    @Test func ifMatchFailureComesBeforeIfNoneMatch() {
        #expect(evaluate(ifMatch: "\"v1\"", ifNoneMatch: "\"v2\"") == .preconditionFailed)
    }

    @Test func ifUnmodifiedSinceFailureComesBeforeIfNoneMatch() {
        #expect(evaluate(ifUnmodifiedSince: Self.earlier, ifNoneMatch: "\"v2\"") == .preconditionFailed)
    }

    @Test func passingIfMatchThenMatchingIfNoneMatchIsNotModified() {
        #expect(evaluate(ifMatch: "\"v2\"", ifNoneMatch: "\"v2\"") == .notModified)
    }

    @Test func notModifiedComesBeforeIfRange() {
        #expect(evaluate(ifNoneMatch: "\"v2\"", ifRange: "\"v2\"", range: true) == .notModified)
    }

    // MARK: Step 5: If-Range

    @Test func ifRangeWithTheCurrentStrongTagAllowsTheRange() {
        #expect(evaluate(ifRange: "\"v2\"", range: true) == .proceed(rangeAllowed: true))
    }

    @Test func ifRangeWithAnotherTagSendsTheFullRepresentation() {
        #expect(evaluate(ifRange: "\"v1\"", range: true) == .proceed(rangeAllowed: false))
    }

    @Test func ifRangeWithAWeakTagNeverMatches() {
        #expect(evaluate(ifRange: "W/\"v2\"", range: true) == .proceed(rangeAllowed: false))
    }

    @Test func ifRangeWithTheExactLastModifiedDateAllowsTheRange() {
        #expect(evaluate(ifRange: Self.sameDate, range: true) == .proceed(rangeAllowed: true))
    }

    @Test func ifRangeWithAnyOtherDateSendsTheFullRepresentation() {
        #expect(evaluate(ifRange: Self.later, range: true) == .proceed(rangeAllowed: false))
        #expect(evaluate(ifRange: Self.earlier, range: true) == .proceed(rangeAllowed: false))
    }

    @Test func ifRangeWithGarbageOrAListSendsTheFullRepresentation() {
        #expect(evaluate(ifRange: "v2", range: true) == .proceed(rangeAllowed: false))
        #expect(evaluate(ifRange: "\"v2\", \"v3\"", range: true) == .proceed(rangeAllowed: false))
        #expect(evaluate(ifRange: "*", range: true) == .proceed(rangeAllowed: false))
    }

    @Test func ifRangeWithoutARangeHeaderChangesNothing() {
        #expect(evaluate(ifRange: "\"v1\"") == .proceed(rangeAllowed: false))
    }

    @Test func ifRangeDateWithoutALastModifiedNeverMatches() {
        let noDate = ConditionalRequest.Validators(etagHeader: ArraySlice("\"v2\"".utf8), lastModified: nil)
        #expect(evaluate(validators: noDate, ifRange: Self.sameDate, range: true) == .proceed(rangeAllowed: false))
    }

    @Test func anUnparseableCurrentETagCountsAsNone() {
        let broken = ConditionalRequest.Validators(etagHeader: ArraySlice("v2".utf8), lastModified: nil)
        #expect(broken.etag == nil)
        #expect(evaluate(validators: broken, ifNoneMatch: "\"v2\"") == .proceed(rangeAllowed: false))
    }
}

// Invariants of HTTPCore's field parsers on arbitrary bytes: Range (and multipart framing),
// preconditions, Accept-Encoding negotiation, entity tags, HTTP dates. No test framework here:
// `scripts/fuzz.sh` compiles this file with the HTTPCore sources and Fuzz/HeadersFuzz.swift (the
// libFuzzer target), and HeaderFuzzTests runs it over seeded mutations in the test suite.
#if canImport(HTTPCore)
    import HTTPCore
#endif

/// Checks every parser on `input`; returns the first broken invariant, or nil.
/// The first byte picks a resource length; the rest is split at LF into field values.
func headerInvariantViolation(_ input: [UInt8]) -> String? {
    guard let first = input.first else { return nil }
    let rest = Array(input.dropFirst())
    let parts = rest.split(separator: 0x0A, maxSplits: 6, omittingEmptySubsequences: false).map { ArraySlice($0) }
    func part(_ i: Int) -> ArraySlice<UInt8>? { i < parts.count ? parts[i] : nil }
    let lengths: [Int64] = [0, 1, Int64(first), Int64(first) * 977 + 13, 1 << 40]

    // Range: every span lies inside the representation; multipart framing adds up.
    for length in lengths {
        let field = part(0) ?? []
        switch ByteRange.resolve(field, length: length) {
        case .ignored:
            break
        case .unsatisfiable:
            break
        case .single(let span):
            if !(0 <= span.first && span.first <= span.last && span.last < length) { return "single span \(span) outside 0..<\(length)" }
            if span.count != span.last - span.first + 1 { return "span count" }
        case .multiple(let spans):
            if spans.count < 2 || spans.count > ByteRange.Limits.default.maxRanges { return "\(spans.count) spans" }
            for span in spans where !(0 <= span.first && span.first <= span.last && span.last < length) {
                return "multipart span \(span) outside 0..<\(length)"
            }
            let m = MultipartByteRanges(spans: spans, contentType: "text/plain", completeLength: length, boundary: "wharf-b")
            var total = Int64(m.closing.count)
            for (i, span) in spans.enumerated() { total += Int64(m.partHead(i).count) + span.count }
            if total != m.contentLength { return "multipart length \(m.contentLength) != \(total)" }
        }
        if let specs = ByteRange.parse(field) {
            if ByteRange.resolve(specs, length: length) != ByteRange.resolve(field, length: length) { return "parse then resolve differs" }
        }
    }

    // Preconditions: deterministic; HEAD decides like GET (ranges aside); no field, no condition.
    let validators = ConditionalRequest.Validators(etagHeader: part(1), lastModified: Int64(first) * 86_400)
    let headers = ConditionalRequest.Headers(
        ifMatch: part(2), ifUnmodifiedSince: part(3), ifNoneMatch: part(4),
        ifModifiedSince: part(5), ifRange: part(6), hasRange: first & 1 == 1)
    let get = ConditionalRequest.evaluate(method: .get, validators: validators, headers: headers)
    if get != ConditionalRequest.evaluate(method: .get, validators: validators, headers: headers) { return "evaluate not deterministic" }
    let head = ConditionalRequest.evaluate(method: .head, validators: validators, headers: headers)
    switch (get, head) {
    case (.notModified, .notModified), (.preconditionFailed, .preconditionFailed), (.proceed, .proceed(rangeAllowed: false)): break
    default: return "GET \(get) but HEAD \(head)"
    }
    let bare = ConditionalRequest.evaluate(
        method: .get, validators: validators,
        headers: .init(hasRange: headers.hasRange))
    if bare != .proceed(rangeAllowed: headers.hasRange) { return "no precondition gave \(bare)" }

    // Accept-Encoding: the choice is offered (or identity), for every set of variants.
    let codings: [ContentCoding] = [.gzip, .zstd, .br]
    for mask in 0..<8 {
        var available = AvailableCodings()
        for (i, c) in codings.enumerated() where mask & (1 << i) != 0 { available.insert(AvailableCodings(c)) }
        let field = part(0)
        if let chosen = ContentNegotiation.select(acceptEncoding: field, available: available),
            chosen != .identity, !available.offers(chosen)
        {
            return "chose \(chosen) from \(mask)"
        }
        if ContentNegotiation.select(acceptEncoding: field, available: available)
            != ContentNegotiation.select(acceptEncoding: field, available: available)
        {
            return "select not deterministic"
        }
    }
    _ = ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: part(0))

    // Entity tags: a parsed tag matches itself; its header form parses back to it.
    for field in parts {
        if let tag = EntityTag(parsing: field) {
            if !tag.matches(tag, using: .weak) { return "tag does not match itself" }
            if EntityTag(parsing: ArraySlice(tag.headerValue)) != tag { return "tag round trip" }
            if !EntityTagListScanner.contains(tag, in: ArraySlice(tag.headerValue), using: .weak) { return "list of one tag" }
        }
        _ = EntityTagListScanner.contains(EntityTag(opaque: ArraySlice("x".utf8)), in: field, using: .strong)
        _ = EntityTagListScanner.containsWildcard(field)
    }

    // Dates: what parses formats to an IMF-fixdate that parses back to the same second.
    for field in parts {
        if let seconds = HTTPDate.parse(field, now: 1_764_000_000), seconds >= 0, seconds < 253_402_300_800 {
            if HTTPDate.parse(ArraySlice(HTTPDate.format(seconds))) != seconds { return "date round trip \(seconds)" }
        }
    }
    return nil
}

/// Seeds for the fuzzers and the smoke test: realistic and hostile field values.
let headerSeeds: [String] = [
    "\u{7}bytes=0-99\nW/\"v1\"\n\"v1\", \"v2\"\nSun, 06 Nov 1994 08:49:37 GMT\n*\nSunday, 06-Nov-94 08:49:37 GMT\n\"v1\"",
    "\u{40}bytes=-500, 0-0, 9-, 3-4,5-6\n\"abc\"\n*\nSun Nov  6 08:49:37 1994\nW/\"abc\"\nMon, 07 Nov 1994 08:49:37 GMT\nSun, 06 Nov 1994 08:49:37 GMT",
    "\u{FF}br;q=1.0, gzip;q=0.8, zstd;q=0.9, *;q=0, identity;q=0.001\n\"x\"\n\n\n\"x\", W/\"y\"",
    "\u{1}BYTES = 1-2 , ,, 100000000000000000000-\n\"\"\n\"a\"b\"\n31 Dec 9999 23:59:59 GMT",
    "\u{10}gzip;q=0.0000, br;q=1.001, dcz, x-custom;q=0.5, ;q=1\nW/\"\"\n\"",
]

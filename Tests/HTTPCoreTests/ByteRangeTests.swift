import HTTPCore
import Testing

@Suite("Byte ranges (RFC 9110 §14)")
struct ByteRangeTests {
    private func span(_ first: Int64, _ last: Int64) -> ByteRange.Span {
        ByteRange.Span(first: first, last: last)
    }

    private func resolve(_ field: String, _ length: Int64, limits: ByteRange.Limits = .default) -> ByteRange.Resolution {
        ByteRange.resolve(field, length: length, limits: limits)
    }

    // MARK: RFC 9110 §14.1.2 examples, representation length 10000

    @Test func theFirst500Bytes() {
        #expect(resolve("bytes=0-499", 10_000) == .single(span(0, 499)))
    }

    @Test func theSecond500Bytes() {
        #expect(resolve("bytes=500-999", 10_000) == .single(span(500, 999)))
    }

    @Test func theFinal500BytesAsSuffixAndAsOpenRange() {
        #expect(resolve("bytes=-500", 10_000) == .single(span(9_500, 9_999)))
        #expect(resolve("bytes=9500-", 10_000) == .single(span(9_500, 9_999)))
    }

    @Test func theFirstAndLastBytesOnlyAreTwoParts() {
        #expect(resolve("bytes=0-0,-1", 10_000) == .multiple([span(0, 0), span(9_999, 9_999)]))
    }

    @Test func nonCanonicalButValidSecond500BytesCoalesce() {
        #expect(resolve("bytes=500-600,601-999", 10_000) == .single(span(500, 999)))
        #expect(resolve("bytes=500-700,601-999", 10_000) == .single(span(500, 999)))
    }

    // MARK: Parsing

    @Test func parsingYieldsEachSpecInOrder() {
        #expect(ByteRange.parse(ArraySlice("bytes=1-2, 5-, -3".utf8)) == [.closed(first: 1, last: 2), .from(first: 5), .suffix(length: 3)])
    }

    @Test func theUnitIsCaseInsensitiveAndListWhitespaceIsTolerated() {
        #expect(resolve("Bytes=0-1", 10) == .single(span(0, 1)))
        #expect(resolve("  BYTES=0-1 ,\t 4-5 ,, ", 10) == .multiple([span(0, 1), span(4, 5)]))
    }

    @Test(arguments: [
        "", "bytes", "bytes=", "bytes=,", "items=0-1", "bytes 0-1", "bytes =0-1", "bytes=-", "bytes=a-b",
        "bytes=5-4", "bytes=0-1;x", "bytes=0-1 2-3", "bytes=--1", "bytes=1--2", "bytes=0x10-0x20",
        "bytes=0-1,junk", "bytes=+1-2", "bytes=1-+2", "bytes=0- 1", "bytes==0-1",
    ])
    func syntaxErrorsAndOtherUnitsIgnoreTheHeader(field: String) {
        #expect(ByteRange.parse(ArraySlice(field.utf8)) == nil)
        #expect(resolve(field, 10_000) == .ignored)
    }

    @Test func overflowingNumbersSaturate() {
        #expect(resolve("bytes=0-99999999999999999999999999999", 10_000) == .single(span(0, 9_999)))
        #expect(resolve("bytes=-99999999999999999999999999999", 10_000) == .single(span(0, 9_999)))
        #expect(resolve("bytes=99999999999999999999999999999-", 10_000) == .unsatisfiable)
        #expect(resolve("bytes=9223372036854775807-9223372036854775807", 10_000) == .unsatisfiable)
        let digits = String(repeating: "9", count: 100_000)
        #expect(resolve("bytes=0-\(digits)", 10) == .single(span(0, 9)))
    }

    // MARK: Resolution

    @Test func aLastPositionPastTheEndIsClipped() {
        #expect(resolve("bytes=9000-20000", 10_000) == .single(span(9_000, 9_999)))
    }

    @Test func aSuffixLongerThanTheRepresentationMeansAllOfIt() {
        #expect(resolve("bytes=-20000", 10_000) == .single(span(0, 9_999)))
    }

    @Test func rangesStartingPastTheEndAreUnsatisfiable() {
        #expect(resolve("bytes=10000-", 10_000) == .unsatisfiable)
        #expect(resolve("bytes=10000-10001, 20000-", 10_000) == .unsatisfiable)
    }

    @Test func aZeroSuffixIsUnsatisfiable() {
        #expect(resolve("bytes=-0", 10_000) == .unsatisfiable)
    }

    @Test func unsatisfiableMembersAreDroppedWhenAnotherIsSatisfiable() {
        #expect(resolve("bytes=20000-, 0-9", 10_000) == .single(span(0, 9)))
        #expect(resolve("bytes=-0, 5-", 10) == .single(span(5, 9)))
    }

    @Test func anEmptyRepresentationSatisfiesNoIntRangeAndIgnoresASuffix() {
        #expect(resolve("bytes=0-", 0) == .unsatisfiable)
        #expect(resolve("bytes=0-0", 0) == .unsatisfiable)
        #expect(resolve("bytes=-5", 0) == .ignored)
    }

    @Test func partsKeepTheOrderOfTheirFirstSpec() {
        #expect(resolve("bytes=50-59, 0-9, 20-29", 100) == .multiple([span(50, 59), span(0, 9), span(20, 29)]))
        // 25-55 merges 20-29 and 50-59; the merged part takes 50-59's (earlier) place.
        #expect(resolve("bytes=50-59, 0-9, 20-29, 25-55", 100) == .multiple([span(20, 59), span(0, 9)]))
    }

    @Test func adjacentAndContainedRangesCoalesce() {
        #expect(resolve("bytes=0-9,10-19,20-29", 100) == .single(span(0, 29)))
        #expect(resolve("bytes=0-99,10-19,-5", 100) == .single(span(0, 99)))
        #expect(resolve("bytes=0-9,11-19", 100) == .multiple([span(0, 9), span(11, 19)]))
    }

    @Test func manyAdjacentTinyRangesCoalesceIntoOne() {
        let field = "bytes=" + (0..<100).map { "\($0)-\($0)" }.joined(separator: ",")
        #expect(resolve(field, 1_000) == .single(span(0, 99)))
    }

    @Test func moreDisjointRangesThanTheCapIgnoreTheHeader() {
        let sixteen = "bytes=" + (0..<16).map { "\($0 * 10)-\($0 * 10)" }.joined(separator: ",")
        let seventeen = "bytes=" + (0..<17).map { "\($0 * 10)-\($0 * 10)" }.joined(separator: ",")
        guard case .multiple(let parts) = resolve(sixteen, 1_000) else {
            Issue.record("16 ranges should be served")
            return
        }
        #expect(parts.count == 16)
        #expect(resolve(seventeen, 1_000) == .ignored)
        #expect(resolve(seventeen, 1_000, limits: .init(maxSpecifiers: 128, maxRanges: 17)) != .ignored)
    }

    @Test func tenThousandRangesAreIgnoredCheaply() {
        let field = "bytes=" + (0..<10_000).map { "\($0 * 2)-\($0 * 2)" }.joined(separator: ",")
        #expect(ByteRange.parse(ArraySlice(field.utf8)) == nil)
        #expect(resolve(field, 1_000_000) == .ignored)
        let sameRange = "bytes=" + Array(repeating: "0-0", count: 10_000).joined(separator: ",")
        #expect(resolve(sameRange, 10) == .ignored)
    }

    @Test func handBuiltSpecsThatCouldNotBeParsedAreIgnored() {
        #expect(ByteRange.resolve([.closed(first: 5, last: 2)], length: 10) == .ignored)
        #expect(ByteRange.resolve([.from(first: -1)], length: 10) == .ignored)
        #expect(ByteRange.resolve([.suffix(length: -3), .from(first: 0)], length: 10) == .ignored)
        #expect(ByteRange.resolve([.closed(first: 2, last: 5), .from(first: 8)], length: 10) == .multiple([span(2, 5), span(8, 9)]))
    }

    @Test func garbageBytesNeverCrash() {
        var state: UInt32 = 99
        for _ in 0..<1_000 {
            var bytes = Array("bytes=".utf8)
            for _ in 0..<24 {
                state = state &* 1_103_515_245 &+ 12345
                bytes.append(Array("0123456789-, \u{7f}".utf8)[Int(state >> 16) % 14])
            }
            switch ByteRange.resolve(bytes[...], length: 500) {
            case .single(let s):
                #expect(s.last < 500)
            case .multiple(let parts):
                #expect(parts.count >= 2 && parts.count <= 16)
                #expect(parts.allSatisfy { $0.last < 500 })
            case .ignored, .unsatisfiable:
                break
            }
        }
    }

    // MARK: Content-Range

    @Test func contentRangeForAPartAndForA416() {
        #expect(String(decoding: ByteRange.contentRange(span(0, 499), completeLength: 1234), as: UTF8.self) == "bytes 0-499/1234")
        #expect(String(decoding: ByteRange.unsatisfiedContentRange(completeLength: 1234), as: UTF8.self) == "bytes */1234")
        #expect(String(decoding: ByteRange.unsatisfiedContentRange(completeLength: 0), as: UTF8.self) == "bytes */0")
    }

    // MARK: multipart/byteranges

    @Test func multipartBodyFramingAndLengthAgree() {
        let content = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        guard case .multiple(let spans) = resolve("bytes=0-4, -3", Int64(content.count)) else {
            Issue.record("expected two parts")
            return
        }
        let multipart = MultipartByteRanges(
            spans: spans, contentType: "text/plain; charset=utf-8",
            completeLength: Int64(content.count), boundary: "THIS_STRING_SEPARATES")
        var body: [UInt8] = []
        for (index, s) in spans.enumerated() {
            body += multipart.partHead(index)
            body += content[Int(s.first)...Int(s.last)]
        }
        body += multipart.closing
        let expected = """
            --THIS_STRING_SEPARATES\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Range: bytes 0-4/36\r
            \r
            01234\r
            --THIS_STRING_SEPARATES\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Range: bytes 33-35/36\r
            \r
            xyz\r
            --THIS_STRING_SEPARATES--\r

            """
        #expect(String(decoding: body, as: UTF8.self) == expected)
        #expect(multipart.contentLength == Int64(body.count))
        #expect(String(decoding: multipart.responseContentType, as: UTF8.self) == "multipart/byteranges; boundary=THIS_STRING_SEPARATES")
    }

    @Test func multipartLengthCountsLargeOffsetsDigitForDigit() {
        let total: Int64 = 50_000_000_000
        let spans = [span(0, 9), span(1_000_000_000, 1_000_000_099), span(49_999_999_990, 49_999_999_999)]
        let multipart = MultipartByteRanges(
            spans: spans, contentType: "application/octet-stream",
            completeLength: total, boundary: "b")
        var framing = 0
        for index in spans.indices { framing += multipart.partHead(index).count }
        framing += multipart.closing.count
        #expect(multipart.contentLength == Int64(framing) + 10 + 100 + 10)
    }

    @Test func boundariesFollowRFC2046() {
        #expect(MultipartByteRanges.isValidBoundary("abc'()+_,-./:=? z"))
        #expect(!MultipartByteRanges.isValidBoundary(""))
        #expect(!MultipartByteRanges.isValidBoundary("ends with space "))
        #expect(!MultipartByteRanges.isValidBoundary(String(repeating: "x", count: 71)))
        #expect(!MultipartByteRanges.isValidBoundary("crlf\r\n"))
    }
}

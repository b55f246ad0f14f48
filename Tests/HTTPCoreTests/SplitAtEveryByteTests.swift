import Testing
import WharfTestSupport

@testable import HTTPCore

extension RequestFixture: CustomTestStringConvertible {
    var testDescription: String { name }
}

/// The parser's central property: however a byte stream is cut into reads, the same heads,
/// the same body bytes and the same rejection come out.
@Suite struct SplitAtEveryByteTests {
    @Test func theCorpusHasAtLeastThirtyFixtures() {
        #expect(requestFixtures.count >= 30)
        #expect(Set(requestFixtures.map(\.name)).count == requestFixtures.count)
    }

    @Test(arguments: requestFixtures)
    func eachFixtureParsesAsExpected(fixture: RequestFixture) {
        let outcome = Feed.whole(fixture.bytes)
        switch fixture.expected {
        case .requests(let count):
            #expect(outcome.error == nil)
            #expect(outcome.messages.count == count)
            #expect(outcome.completeCount == count)
            #expect(outcome.unconsumed == 0)
        case .rejected(let count, let error):
            #expect(outcome.error == error)
            #expect(outcome.completeCount == count)
        case .incomplete(let count):
            #expect(outcome.error == nil)
            #expect(outcome.completeCount == count)
            #expect(outcome.unconsumed > 0 || outcome.messages.count > count)
        }
    }

    @Test(arguments: requestFixtures)
    func splittingAtAnySingleByteGivesTheSameResult(fixture: RequestFixture) {
        let whole = Feed.whole(fixture.bytes)
        for cut in 0...fixture.bytes.count {
            let split = Feed.pieces(fixture.bytes, cuts: [cut])
            #expect(split == whole, "cut at \(cut)")
            if split != whole { break }
        }
    }

    @Test(arguments: requestFixtures)
    func feedingOneByteAtATimeGivesTheSameResult(fixture: RequestFixture) {
        let whole = Feed.whole(fixture.bytes)
        let cuts = Array(0...fixture.bytes.count)
        #expect(Feed.pieces(fixture.bytes, cuts: cuts) == whole)
        #expect(Feed.pieces(fixture.bytes, cuts: cuts, compact: false) == whole)
    }

    @Test(arguments: requestFixtures)
    func randomMultiWaySplitsGiveTheSameResult(fixture: RequestFixture) {
        let whole = Feed.whole(fixture.bytes)
        var generator = SeededRandom(seed: UInt64(fixture.bytes.count))
        for _ in 0..<20 {
            let cuts = (0..<4).map { _ in Int(generator.next() % UInt64(fixture.bytes.count + 1)) }
            #expect(Feed.pieces(fixture.bytes, cuts: cuts, compact: generator.next() % 2 == 0) == whole, "cuts \(cuts)")
        }
    }

    @Test func aThousandPipelinedRequestsSplitIntoOddReadsMatchTheWholeBuffer() {
        let complete = requestFixtures.filter { if case .requests(1) = $0.expected { true } else { false } }
        var bytes: [UInt8] = []
        for i in 0..<1000 { bytes += complete[i % complete.count].bytes }
        let whole = Feed.whole(bytes)
        #expect(whole.error == nil)
        #expect(whole.unconsumed == 0)
        #expect(whole.completeCount == 1000)
        let cuts = Array(stride(from: 0, to: bytes.count, by: 37))
        #expect(Feed.pieces(bytes, cuts: cuts) == whole)
    }

    @Test func limitErrorsDoNotDependOnHowBytesArrive() {
        let limits = ParserLimits(maxRequestLineBytes: 64, maxHeaderBytes: 128, maxFieldCount: 3, maxBodyBytes: 10)
        let streams = [
            "GET /" + String(repeating: "a", count: 80) + " HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-A: " + String(repeating: "b", count: 120) + "\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n",
        ]
        for text in streams {
            let bytes = Array(text.utf8)
            let whole = Feed.whole(bytes, limits: limits)
            #expect(whole.error != nil, "\(text)")
            for cut in 0...bytes.count {
                #expect(Feed.pieces(bytes, cuts: [cut], limits: limits) == whole)
            }
        }
    }
}

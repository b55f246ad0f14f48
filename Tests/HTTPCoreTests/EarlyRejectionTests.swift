import Testing

@testable import HTTPCore

/// Heads that are already wrong before they end: the parser must refuse them with the bytes
/// it has, not wait for the empty line that ends the head (issue 19, item 1).
struct PartialHead: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let error: ParseError
    init(_ name: String, _ text: String, _ error: ParseError) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.error = error
    }
    var testDescription: String { name }
}

let partialHeads: [PartialHead] = [
    .init("unknown minor version", "GET /app.js HTTP/1.7\r\nHost: shop", .unsupportedMinorVersion),
    .init("two spaces after the method", "DELETE  /x HTTP/1.1\r\n", .invalidRequestLine),
    .init("a word after the version", "GET /x HTTP/1.1 extra\r\nHost: a\r\n", .invalidVersion),
    .init("method with a separator", "GE{T /x HTTP/1.1\r\nAcc", .invalidMethod),
    .init("obs-fold right after the request line", "GET / HTTP/1.1\r\n\tHost: a\r\n", .whitespaceBeforeFirstField),
    .init("folded line, its LF not yet sent", "GET / HTTP/1.1\r\nHost: a\r\n  continued", .obsoleteLineFolding),
    .init(
        "second Content-Length, same value", "PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 7\r\nAccept: ",
        .duplicateContentLength),
    .init("Content-Length past 18 digits", "PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 1844674407370955161600\r\nX-A", .invalidContentLength),
    .init("bare CR, no LF anywhere after", "GET / HTTP/1.1\r\nHost: a\rHost: b", .bareCarriageReturn),
    .init("bare CR in the request line, no LF yet", "GET /a\rb HTTP/1.1", .bareCarriageReturn),
    .init("bare CR in a chunk-size line", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r;", .bareCarriageReturn),
    .init("bare CR in a trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r2", .bareCarriageReturn),
]

@Suite struct EarlyRejectionTests {
    @Test(arguments: partialHeads)
    func aPartialHeadThatIsAlreadyWrongIsRefusedAtOnce(head: PartialHead) {
        let outcome = Feed.whole(head.bytes)
        #expect(outcome.error == head.error)
        // And byte by byte: refused at the latest once its last byte is in.
        #expect(Feed.pieces(head.bytes, cuts: Array(0...head.bytes.count)).error == head.error)
    }

    @Test func aBareCRIsRefusedAsSoonAsTheByteAfterItArrives() throws {
        var parser = RequestParser()
        var buffer = Array("GET / HTTP/1.1\r\nHost: a\r".utf8)
        var index = 0
        #expect(try parser.next(in: buffer, at: &index) == nil)  // CR last: LF may still come
        buffer.append(UInt8(ascii: "x"))
        #expect(throws: ParseError.bareCarriageReturn) { try parser.next(in: buffer, at: &index) }
    }

    @Test func aCRLFSplitAcrossReadsIsFine() throws {
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n".utf8)
        for cut in 0...bytes.count {
            #expect(Feed.pieces(bytes, cuts: [cut]).completeCount == 1, "cut at \(cut)")
        }
    }

    @Test func aBadChunkAfterTheHeadIsABodyFailure() throws {
        var parser = RequestParser()
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY".utf8)
        var index = 0
        guard case .head = try parser.next(in: bytes, at: &index) else {
            Issue.record("no head")
            return
        }
        #expect(!parser.failedInBody)
        guard case .body = try parser.next(in: bytes, at: &index) else {
            Issue.record("no body")
            return
        }
        #expect(throws: ParseError.missingChunkTerminator) { try parser.next(in: bytes, at: &index) }
        #expect(parser.failedInBody)
        // Failed for good: the bytes after the bad chunk are never parsed as a request.
        #expect(throws: ParseError.missingChunkTerminator) { try parser.next(in: bytes, at: &index) }
    }

    @Test func aBadHeadIsNotABodyFailure() {
        var parser = RequestParser()
        let batch = parser.parse(Array("GET / HTTP/1.1\r\nHost: a\rx".utf8))
        #expect(batch.error == .bareCarriageReturn)
        #expect(!parser.failedInBody)
    }

    @Test func oneContentLengthListOfEqualValuesIsStillOneField() throws {
        let head = try singleHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc")
        #expect(head.body == .contentLength(3))
    }

    /// Found by the fuzzer: at the field-count limit a partial line with a bare CR must not be
    /// refused early as bareCarriageReturn, because once whole it gets tooManyFields (the count is
    /// checked first): the outcome must not depend on how the bytes were split.
    @Test func atTheFieldLimitThePartialLineWaitsForItsEnd() {
        let limits = ParserLimits(maxRequestLineBytes: 64, maxHeaderBytes: 256, maxFieldCount: 2)
        for text in [
            "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY\rZ: 2\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n Y: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC\rD: 3\r\n\r\n",
        ] {
            let bytes = Array(text.utf8)
            let whole = Feed.whole(bytes, limits: limits)
            #expect(whole.error == .tooManyFields, "\(text)")
            #expect(Feed.pieces(bytes, cuts: Array(0...bytes.count), limits: limits) == whole, "\(text)")
        }
    }
}

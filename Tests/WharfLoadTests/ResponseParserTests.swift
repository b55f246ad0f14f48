import Testing

@testable import WharfLoad

/// Feeds `text` to a parser in pieces of `split` bytes and returns what it saw.
private func parse(_ text: String, split: Int = .max, head: Bool = false) throws -> (
    heads: [ResponseHead], interim: [Int], bodies: [String], ends: Int
) {
    var parser = ResponseParser()
    parser.requestIsHead = head
    var heads: [ResponseHead] = []
    var interim: [Int] = []
    var bodies: [String] = []
    var ends = 0
    var body: [UInt8] = []
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + split)
        var chunkOffset = offset
        while chunkOffset < end {
            let used = try bytes[chunkOffset..<end].withUnsafeBytes { raw in
                try parser.feed(raw) { event in
                    switch event {
                    case .interim(let h): interim.append(h.status)
                    case .head(let h): heads.append(h)
                    case .body(let b): body.append(contentsOf: b)
                    case .end:
                        ends += 1
                        bodies.append(String(decoding: body, as: UTF8.self))
                        body = []
                    }
                }
            }
            chunkOffset += used
        }
        offset = end
    }
    return (heads, interim, bodies, ends)
}

@Test func aContentLengthResponseIsParsedWhateverTheSplit() throws {
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"abc\"\r\nContent-Encoding: br\r\n\r\nhello"
    for split in [1, 2, 3, 7, 1000] {
        let r = try parse(text, split: split)
        #expect(r.heads.count == 1)
        #expect(r.heads[0].status == 200)
        #expect(r.heads[0].contentLength == 5)
        #expect(r.heads[0].etag == "\"abc\"")
        #expect(r.heads[0].contentEncoding == "br")
        #expect(r.bodies == ["hello"])
    }
}

@Test func twoPipelinedResponsesInOneBufferAreBothDelivered() throws {
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nxyz"
    let r = try parse(text)
    #expect(r.heads.map(\.status) == [200, 404])
    #expect(r.bodies == ["ab", "xyz"])
}

@Test func earlyHintsBeforeTheFinalResponseAreReportedAsInterim() throws {
    let text =
        "HTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload; as=script\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"
    for split in [1, 5, 1000] {
        let r = try parse(text, split: split)
        #expect(r.interim == [103])
        #expect(r.heads.map(\.status) == [200])
        #expect(r.bodies == ["body"])
    }
}

@Test func a304WithContentLengthHasNoBody() throws {
    let text = "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"x\"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"
    let r = try parse(text)
    #expect(r.heads.map(\.status) == [304, 200])
    #expect(r.bodies == ["", "z"])
}

@Test func theResponseToHeadHasNoBodyDespiteContentLength() throws {
    let r = try parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head: true)
    #expect(r.ends == 1)
    #expect(r.bodies == [""])
}

@Test func chunkedBodiesAreDecoded() throws {
    let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    for split in [1, 4, 1000] {
        let r = try parse(text, split: split)
        #expect(r.bodies == ["hello world"])
        #expect(r.heads[0].chunked)
    }
}

@Test func bareLineFeedsAreAccepted() throws {
    let r = try parse("HTTP/1.1 204 No Content\nServer: x\n\n")
    #expect(r.heads.map(\.status) == [204])
    #expect(r.ends == 1)
}

@Test func aBodyWithoutLengthRunsUntilClose() throws {
    var parser = ResponseParser()
    var body: [UInt8] = []
    var ended = false
    let bytes = Array("HTTP/1.0 200 OK\r\n\r\nall of it".utf8)
    try bytes.withUnsafeBytes { raw in
        _ = try parser.feed(raw) { if case .body(let b) = $0 { body.append(contentsOf: b) } }
    }
    #expect(parser.isReadingUntilClose)
    #expect(try parser.finish { if case .end = $0 { ended = true } })
    #expect(ended)
    #expect(String(decoding: body, as: UTF8.self) == "all of it")
}

@Test func aConnectionClosedMidBodyIsTruncation() throws {
    var parser = ResponseParser()
    try Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8).withUnsafeBytes { raw in
        _ = try parser.feed(raw) { _ in }
    }
    #expect(throws: ResponseParseError.truncated) { try parser.finish { _ in } }
    #expect(try parser.finish { _ in } == false)  // reset: idle afterwards
}

@Test func connectionCloseAndHTTP10AreNoticed() throws {
    #expect(try parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n").heads[0].connectionClose)
    #expect(try parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").heads[0].connectionClose)
    #expect(try !parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").heads[0].connectionClose)
}

@Test(arguments: [
    ("HTTP/2 200 OK\r\n\r\n", ResponseParseError.malformedStatusLine),
    ("HTTP/1.1 20 OK\r\n\r\n", .malformedStatusLine),
    ("HTTP/1.1 abc OK\r\n\r\n", .malformedStatusLine),
    ("garbage\r\n\r\n", .malformedStatusLine),
    ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", .malformedHeader),
    ("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", .malformedHeader),
    ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", .badContentLength),
    ("HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", .badContentLength),
    ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", .badContentLength),
    ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .badContentLength),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .badChunk),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", .badChunk),
])
func malformedResponsesAreRejectedWithTheRightError(text: String, error: ResponseParseError) {
    #expect(throws: error) { try parse(text) }
}

@Test func anEndlessHeadIsCutOffAtTheLimit() {
    let text = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Pad: " + String(repeating: "a", count: 1000) + "\r\n", count: 80)
    #expect(throws: ResponseParseError.headTooLarge) { try parse(text, split: 4096) }
}

@Test func anEndlessChunkSizeLineIsRejected() {
    let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + String(repeating: "0", count: 5000)
    #expect(throws: ResponseParseError.badChunk) { try parse(text) }
}

import Testing

@testable import HTTPCore

@Suite struct ParserLimitsTests {
    private func requestLine(ofLength total: Int) -> String {
        // "GET " + target + " HTTP/1.1\r\n" is `total` bytes.
        "GET /" + String(repeating: "a", count: total - 16) + " HTTP/1.1\r\n"
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let limits = ParserLimits.default
        #expect(limits.maxRequestLineBytes == 8192)
        #expect(limits.maxHeaderBytes == 65536)
        #expect(limits.maxFieldCount == 100)
    }

    @Test func aRequestLineOfExactlyTheLimitIsAccepted() {
        let line = requestLine(ofLength: 8192)
        #expect(line.utf8.count == 8192)
        #expect(Feed.whole(line + "Host: a\r\n\r\n").completeCount == 1)
    }

    @Test func aRequestLineOneByteOverTheLimitIs414() {
        let outcome = Feed.whole(requestLine(ofLength: 8193) + "Host: a\r\n\r\n")
        #expect(outcome.error == .requestLineTooLong)
        #expect(outcome.error?.status == 414)
    }

    @Test func anEndlessRequestLineIsRejectedWithoutWaitingForItsEnd() {
        let outcome = Feed.whole("GET /" + String(repeating: "a", count: 8200))
        #expect(outcome.error == .requestLineTooLong)
        let slow = Feed.pieces(Array(("GET /" + String(repeating: "a", count: 8200)).utf8), cuts: Array(stride(from: 0, to: 8205, by: 100)))
        #expect(slow.error == .requestLineTooLong)
    }

    @Test func aHeaderSectionOverTheLimitIs431() {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        for i in 0..<90 { text += "X-Filler-\(i): " + String(repeating: "v", count: 800) + "\r\n" }
        let outcome = Feed.whole(text + "\r\n")
        #expect(outcome.error == .headerSectionTooLarge)
        #expect(outcome.error?.status == 431)
        #expect(Feed.whole(text).error == .headerSectionTooLarge)
    }

    @Test func aHeaderSectionOfExactlyTheLimitIsAccepted() {
        let limits = ParserLimits(maxHeaderBytes: 100)
        let prefix = "GET / HTTP/1.1\r\nHost: a\r\nX: "
        let text = prefix + String(repeating: "v", count: 100 - prefix.utf8.count - 4) + "\r\n\r\n"
        #expect(text.utf8.count == 100)
        #expect(Feed.whole(text, limits: limits).completeCount == 1)
        #expect(Feed.whole(text.replacingFirstV(), limits: limits).error == .headerSectionTooLarge)
    }

    @Test func aHundredFieldsAreAcceptedAndTheHundredAndFirstIs431() {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        for i in 1..<100 { text += "X-\(i): 1\r\n" }
        #expect(Feed.whole(text + "\r\n").completeCount == 1)
        let outcome = Feed.whole(text + "X-100: 1\r\n\r\n")
        #expect(outcome.error == .tooManyFields)
        #expect(outcome.error?.status == 431)
    }

    @Test func aHeadWithMoreFieldsThanTheStartingTableGrowsItEvenWhenFedOneByteAtATime() {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        for i in 1..<70 { text += "X-\(i): v\(i)\r\n" }
        text += "If-None-Match: \"tag\"\r\n\r\n"
        let bytes = Array(text.utf8)
        let whole = Feed.whole(bytes)
        let bytewise = Feed.pieces(bytes, cuts: Array(1..<bytes.count))
        #expect(whole.completeCount == 1)
        #expect(bytewise == whole)
        let fields = whole.messages.first?.fields ?? []
        #expect(fields.count == 71)
        #expect(fields.last == "If-None-Match: \"tag\"")
        #expect(fields[40] == "X-40: v40")
    }

    @Test func theSecondHeadOnAConnectionReusesTheGrownTableAndStaysCorrect() {
        var first = "GET /a HTTP/1.1\r\nHost: a\r\n"
        for i in 1..<50 { first += "X-\(i): 1\r\n" }
        let second = "GET /b HTTP/1.1\r\nHost: b\r\nAccept-Encoding: br\r\n\r\n"
        let outcome = Feed.whole(first + "\r\n" + second)
        #expect(outcome.completeCount == 2)
        #expect(outcome.messages.last?.fields == ["Host: b", "Accept-Encoding: br"])
    }

    @Test func aContentLengthOverTheBodyLimitIs413BeforeAnyBodyArrives() {
        let limits = ParserLimits(maxBodyBytes: 1000)
        let outcome = Feed.whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", limits: limits)
        #expect(outcome.error == .bodyTooLarge)
        #expect(outcome.error?.status == 413)
        #expect(Feed.whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", limits: limits).messages.count == 1)
    }

    @Test func chunksAddingUpOverTheBodyLimitAre413() {
        let limits = ParserLimits(maxBodyBytes: 8)
        let base = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let outcome = Feed.whole(base + "5\r\nhello\r\n4\r\nbody\r\n0\r\n\r\n", limits: limits)
        #expect(outcome.error == .bodyTooLarge)
        #expect(outcome.messages.first?.body == Array("hello".utf8))
        #expect(Feed.whole(base + "5\r\nhello\r\n3\r\nbod\r\n0\r\n\r\n", limits: limits).completeCount == 1)
        #expect(Feed.whole(base + "7FFFFFFFFFFFFFFF\r\n").error == .bodyTooLarge)
    }

    @Test func aLongChunkLineIsRejected() {
        let base = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let outcome = Feed.whole(base + "5;" + String(repeating: "x", count: 2000) + "\r\nhello\r\n0\r\n\r\n")
        #expect(outcome.error == .chunkLineTooLong)
        #expect(outcome.error?.status == 400)
    }

    @Test func aLargeTrailerSectionIs431() {
        let limits = ParserLimits(maxTrailerBytes: 64)
        let base = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        let outcome = Feed.whole(base + "X-T: " + String(repeating: "t", count: 70) + "\r\n\r\n", limits: limits)
        #expect(outcome.error == .trailerSectionTooLarge)
        #expect(outcome.error?.status == 431)
        #expect(Feed.whole(base + "X-T: t\r\n\r\n", limits: limits).completeCount == 1)
    }

    @Test func smallerCustomLimitsApply() {
        let limits = ParserLimits(maxRequestLineBytes: 32, maxHeaderBytes: 256, maxFieldCount: 2)
        #expect(Feed.whole("GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).error == .requestLineTooLong)
        #expect(Feed.whole("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits).error == .tooManyFields)
        #expect(Feed.whole("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\n\r\n", limits: limits).completeCount == 1)
    }

    @Test func everyParseErrorHasAStatusAndAReason() {
        let all: [ParseError] = [
            .requestLineTooLong, .invalidMethod, .invalidRequestTarget, .invalidVersion, .invalidRequestLine,
            .unsupportedVersion, .unsupportedMinorVersion, .duplicateContentLength, .http2Preface, .bareCarriageReturn, .bareLineFeed,
            .headerSectionTooLarge,
            .tooManyFields, .invalidFieldName, .whitespaceBeforeColon, .missingColon, .obsoleteLineFolding,
            .whitespaceBeforeFirstField, .invalidFieldValue, .missingHost, .duplicateHost, .invalidContentLength,
            .conflictingContentLength, .contentLengthWithTransferEncoding, .transferEncodingInHTTP10,
            .transferEncodingNotChunkedLast, .chunkedAppliedTwice, .invalidTransferCoding,
            .unsupportedTransferCoding, .bodyTooLarge, .invalidChunkSize, .chunkSizeOverflow,
            .invalidChunkExtension, .chunkLineTooLong, .missingChunkTerminator, .trailerSectionTooLarge,
        ]
        #expect(Set(all.map(\.description)).count == all.count)
        let expected: [ParseError: Int] = [
            .requestLineTooLong: 414, .headerSectionTooLarge: 431, .tooManyFields: 431,
            .trailerSectionTooLarge: 431, .bodyTooLarge: 413, .unsupportedTransferCoding: 501,
            .unsupportedVersion: 505, .http2Preface: 505,
        ]
        for error in all { #expect(error.status == (expected[error] ?? 400), "\(error)") }
    }
}

extension String {
    /// The same text with one more "v" in the filler (one byte over).
    fileprivate func replacingFirstV() -> String {
        guard let i = firstIndex(of: "v") else { return self }
        var copy = self
        copy.insert("v", at: i)
        return copy
    }
}

import HTTPCore
import Testing
import WharfTestSupport

@Suite("Response head writer")
struct ResponseHeadTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func aHeadHasTheStatusLineFieldsAndABlankLine() {
        var w = ResponseHeadWriter()
        w.status(.ok)
        w.header("Content-Type", "text/html; charset=utf-8")
        w.contentLength(1234)
        #expect(text(w.end()) == "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1234\r\n\r\n")
    }

    @Test func everyValueFlavourWritesTheSameBytes() {
        let name: StaticString = "ETag"
        let value: StaticString = "\"abc\""
        var w = ResponseHeadWriter()
        w.status(304)
        w.header(name, value)
        w.header(name, String("\"abc\""))
        w.header(name, Array("\"abc\"".utf8))
        w.header(name, Array("xx\"abc\"yy".utf8)[2..<7])
        w.header(String("ETag"), String("\"abc\""))
        w.header(String("ETag"), Array("\"abc\"".utf8))
        w.header(String("ETag"), Array("\"abc\"!".utf8).dropLast())
        let line = "ETag: \"abc\"\r\n"
        #expect(text(w.end()) == "HTTP/1.1 304 Not Modified\r\n" + String(repeating: line, count: 7) + "\r\n")
    }

    @Test func contentLengthWritesEveryDigit() {
        for n in [0, 7, 10, 99, 100, 65_535, 1_000_000, Int.max] {
            var w = ResponseHeadWriter()
            w.status(.ok)
            w.contentLength(n)
            #expect(text(w.end()) == "HTTP/1.1 200 OK\r\nContent-Length: \(n)\r\n\r\n")
        }
    }

    @Test func theBufferIsReusedAcrossHeads() {
        var w = ResponseHeadWriter()
        w.status(.notFound)
        w.contentLength(0)
        var first = w.end()
        let capacity = first.capacity
        first.append(contentsOf: [1, 2, 3])
        var again = ResponseHeadWriter(buffer: first)
        again.status(.noContent)
        let second = again.end()
        #expect(text(second) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(second.capacity >= capacity)
    }

    @Test func reusingTakesTheCallersStorageWithoutCopying() {
        var storage: [UInt8] = []
        storage.reserveCapacity(4096)
        let address = storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        var w = ResponseHeadWriter(reusing: &storage)
        #expect(storage.isEmpty)
        w.status(.ok)
        w.contentLength(5)
        storage = w.end()
        #expect(text(storage) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        #expect(storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == address)
    }

    @Test func theDateComesFromTheCache() {
        var cache = HTTPDateCache()
        var w = ResponseHeadWriter()
        w.status(.ok)
        w.date(&cache, now: 784_111_777)
        #expect(text(w.end()) == "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    @Test func earlyHintsCarryOneLinkFieldPerHint() {
        let head = ResponseHeadWriter.earlyHints(links: [
            "</app.js>; rel=preload; as=script",
            "</app.css>; rel=preload; as=style",
        ])
        #expect(
            text(head) == """
                HTTP/1.1 103 Early Hints\r
                Link: </app.js>; rel=preload; as=script\r
                Link: </app.css>; rel=preload; as=style\r
                \r

                """)
    }

    @Test func everyStatusAStaticServerSendsHasItsReasonPhrase() {
        let expected: [Int: String] = [
            100: "Continue", 103: "Early Hints", 200: "OK", 204: "No Content", 206: "Partial Content",
            301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            406: "Not Acceptable", 408: "Request Timeout", 411: "Length Required", 412: "Precondition Failed",
            413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
            503: "Service Unavailable", 505: "HTTP Version Not Supported",
        ]
        for (code, reason) in expected {
            var w = ResponseHeadWriter()
            w.status(code)
            #expect(text(w.end()) == "HTTP/1.1 \(code) \(reason)\r\n\r\n")
        }
    }

    @Test func anUnnamedStatusHasAnEmptyReason() {
        var w = ResponseHeadWriter()
        w.status(299)
        #expect(text(w.end()) == "HTTP/1.1 299 \r\n\r\n")
    }

    @Test func statusesWithoutContentAreKnown() {
        #expect(HTTPStatus.notModified.forbidsContent)
        #expect(HTTPStatus.noContent.forbidsContent)
        #expect(HTTPStatus.earlyHints.forbidsContent)
        #expect(!HTTPStatus.ok.forbidsContent)
        #expect(!HTTPStatus.rangeNotSatisfiable.forbidsContent)
    }

    @Test func validationHelpersRejectCRLFAndNonTokens() {
        #expect(ResponseHeadWriter.isValidValue("ok value".utf8))
        #expect(!ResponseHeadWriter.isValidValue("evil\r\nSet-Cookie: x".utf8))
        #expect(!ResponseHeadWriter.isValidValue("lf\nonly".utf8))
        #expect(!ResponseHeadWriter.isValidValue([0x61, 0x00]))
        #expect(ResponseHeadWriter.isValidName("X-Wharf-Cache".utf8))
        #expect(!ResponseHeadWriter.isValidName("Bad Name".utf8))
        #expect(!ResponseHeadWriter.isValidName("Bad:Name".utf8))
        #expect(!ResponseHeadWriter.isValidName("".utf8))
    }

    @Test func exactlyTheRFC9110TokenCharactersMakeAName() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for b in UInt8.min...UInt8.max {
            #expect(ResponseHeadWriter.isValidName([b]) == tchar.contains(b), "byte \(b)")
            #expect(ResponseHeadWriter.isValidValue([b]) == !(b == 0 || b == 10 || b == 13), "byte \(b)")
        }
    }

    @Test func aForbiddenByteIsFoundAtEveryPositionOfLongValues() {
        for length in 1...40 {
            let clean = Array(repeating: UInt8(ascii: "a"), count: length)
            #expect(ResponseHeadWriter.isValidValue(clean))
            // 0x0E and 0x8D are near misses of the word-at-a-time test, not forbidden.
            #expect(ResponseHeadWriter.isValidValue(clean.map { _ in UInt8(0x0E) }))
            #expect(ResponseHeadWriter.isValidValue(clean.map { _ in UInt8(0x8D) }))
            for position in 0..<length {
                for bad: UInt8 in [0x0D, 0x0A, 0x00] {
                    var value = clean
                    value[position] = bad
                    #expect(!ResponseHeadWriter.isValidValue(value), "length \(length) position \(position)")
                }
            }
        }
    }

    @Test func aValueWithCROrLFOrNulLeavesItsFieldOutAndTheHeadWhole() {
        for hostile in ["a\r\nInjected: yes", "a\nInjected: yes", "a\rInjected: yes", "a\u{0}b", "\r\n\r\nHTTP/1.1 200 OK"] {
            var w = ResponseHeadWriter()
            w.status(.ok)
            w.header("X-Before", "1")
            w.header("X-Test", hostile)
            w.header(String("X-Dynamic"), hostile)
            w.header("X-Bytes", Array(hostile.utf8))
            w.header("X-After", "2")
            #expect(text(w.end()) == "HTTP/1.1 200 OK\r\nX-Before: 1\r\nX-After: 2\r\n\r\n", "\(Array(hostile.utf8))")
        }
    }

    @Test func aNameThatIsNotATokenLeavesItsFieldOut() {
        for name in ["Bad Name", "Bad:Name", "", "X\r\nInjected", "X-Ok\u{0}"] {
            var w = ResponseHeadWriter()
            w.status(.ok)
            w.header(name, "value")
            w.header("X-After", "2")
            #expect(text(w.end()) == "HTTP/1.1 200 OK\r\nX-After: 2\r\n\r\n", "\(Array(name.utf8))")
        }
    }

    @Test func theFieldLineRuleAppendsOnlyWhatItAllows() {
        var out: [UInt8] = []
        #expect(ResponseFieldLine.append(name: "X-Ok", value: "fine value", to: &out))
        #expect(!ResponseFieldLine.append(name: "X-Split", value: "a\r\nSet-Cookie: s=1", to: &out))
        #expect(!ResponseFieldLine.append(name: "Bad Name", value: "v", to: &out))
        #expect(!ResponseFieldLine.append(name: "X-Bytes", value: [0x61, 0x0A], to: &out))
        #expect(text(out) == "X-Ok: fine value\r\n")
    }

    /// Random names and values: whatever the rule lets through is exactly one field line, and a
    /// head built from them parses back into the same number of lines as fields accepted.
    @Test func randomFieldsNeverAddALineBreak() {
        var rng = SeededRandom(seed: 14)
        let alphabet: [UInt8] = [0x00, 0x0A, 0x0D, 0x20, 0x3A, 0x41, 0x61, 0x2D, 0x7F, 0xC3, 0xA9]
        for _ in 0..<2_000 {
            let name = (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let value = (0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            var out: [UInt8] = []
            let written = name.withUnsafeBufferPointer { n in
                value.withUnsafeBufferPointer { v in ResponseFieldLine.append(name: n, value: v, to: &out) }
            }
            #expect(written == (ResponseHeadWriter.isValidName(name) && ResponseHeadWriter.isValidValue(value)))
            let breaks = out.filter { $0 == 0x0A || $0 == 0x0D || $0 == 0x00 }
            #expect(breaks == (written ? [0x0D, 0x0A] : []))
        }
    }

    // MARK: - The listeners' heads (status, Date, Server; connection field at the end)

    @Test func aListenerHeadStartsWithStatusDateAndServerAndEndsWithTheConnectionDecision() {
        let date = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
        let start = "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: wharf\r\nContent-Length: 7\r\n"
        for (close, http10, ending) in [
            (false, false, ""), (true, false, "Connection: close\r\n"),
            (false, true, "Connection: keep-alive\r\n"), (true, true, "Connection: close\r\n"),
        ] {
            var w = ResponseHeadWriter(status: 404, date: date, server: "wharf")
            w.contentLength(Int64(7))
            #expect(text(w.end(close: close, http10KeepAlive: http10)) == start + ending + "\r\n")
        }
    }

    @Test func aPrebuiltHeadIsTheWrittenBytesWithoutAnEnd() {
        var w = ResponseHeadWriter(status: 200, server: "wharf")
        w.contentLength(Int64(1 << 40))
        w.fieldLines(Array("ETag: \"x\"\r\n".utf8))
        #expect(text(w.bytes) == "HTTP/1.1 200 OK\r\nServer: wharf\r\nContent-Length: 1099511627776\r\nETag: \"x\"\r\n")
    }

    /// A Date value that is not a date (a corrupted cache, a clock gone wrong) cannot split the head either.
    @Test func aHostileDateIsLeftOutLikeAnyValue() {
        var w = ResponseHeadWriter(status: 200, date: Array("x\r\nSet-Cookie: evil=1".utf8), server: "wharf")
        #expect(text(w.end(close: false, http10KeepAlive: false)) == "HTTP/1.1 200 OK\r\nServer: wharf\r\n\r\n")
    }

    /// obs-fold (RFC 9112 §5.2): a line break followed by a space or tab continues a value for an
    /// old parser. Written out, it would let a value carry a second line; it is left out whole, in a
    /// value or in a name, whichever kind of line break starts it.
    @Test func obsFoldAttemptsInValuesAndNamesAreLeftOut() {
        let folds = ["a\r\n b", "a\r\n\tb", "a\n b", "a\r b", "a\r\n Set-Cookie: evil=1", "\r\n ", "a\u{0}\r\n b"]
        for fold in folds {
            var w = ResponseHeadWriter(status: 200, date: Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8), server: "wharf")
            w.header("X-Before", "1")
            w.header("X-Fold", fold)
            w.header(String("X-Fold-Dynamic"), fold)
            w.header("X-Fold-Bytes", Array(fold.utf8))
            w.header("X-Fold-Slice", Array(fold.utf8)[...])
            w.header("X-" + fold, "v")
            w.header("X-After", "2")
            let head = text(w.end(close: true, http10KeepAlive: false))
            #expect(
                head == "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: wharf\r\nX-Before: 1\r\n"
                    + "X-After: 2\r\nConnection: close\r\n\r\n", "\(Array(fold.utf8))")
        }
    }

    /// Values over any sane size are still written or left out by the same rule, never trimmed.
    @Test func anOversizedValueIsWrittenWholeOrLeftOutWhole() {
        let big = String(repeating: "a", count: 1 << 20)
        var w = ResponseHeadWriter(status: 200)
        w.header("X-Big", big)
        w.header("X-Big-Split", big + "\r\n" + big)
        let head = w.end(close: false, http10KeepAlive: false)
        #expect(head.count == "HTTP/1.1 200 OK\r\nX-Big: \r\n\r\n".utf8.count + big.utf8.count)
        #expect(head.filter { $0 == 0x0A }.count == 3)
    }
}

import Testing
import WharfTestSupport

@testable import HTTPCore

// MARK: - Helpers shared by the parser test files

/// What one request looked like to the parser, copied out of the receive buffer.
struct ParsedMessage: Equatable, CustomStringConvertible {
    var method: HTTPMethod
    var target: String
    var version: HTTPVersion
    var keepAlive: Bool
    var framing: BodyFraming
    var fields: [String]
    var body: [UInt8] = []
    var complete = false

    init(_ head: RequestHead) {
        method = head.method
        target = String(decoding: head.target, as: UTF8.self)
        version = head.version
        keepAlive = head.keepAlive
        framing = head.body
        fields = head.fields.map { String(decoding: $0.name, as: UTF8.self) + ": " + String(decoding: $0.value, as: UTF8.self) }
    }

    var description: String { "\(method) \(target) \(version) body=\(body.count) complete=\(complete)" }
}

/// Everything a byte stream produced: messages, the rejection if any, bytes left unconsumed.
struct ParseOutcome: Equatable {
    var messages: [ParsedMessage] = []
    var error: ParseError?
    var unconsumed = 0

    var completeCount: Int { messages.filter(\.complete).count }
}

enum Feed {
    /// Feeds `bytes` as a connection would: append each piece to a buffer, parse, drop what was
    /// consumed (`compact`) or keep the buffer and carry the index over.
    static func pieces(_ bytes: [UInt8], cuts: [Int], limits: ParserLimits = .default, compact: Bool = true) -> ParseOutcome {
        var parser = RequestParser(limits: limits)
        var outcome = ParseOutcome()
        var buffer: [UInt8] = []
        var index = 0
        var previous = 0
        for cut in cuts.sorted() + [bytes.count] where cut >= previous {
            buffer += bytes[previous..<cut]
            previous = cut
            do {
                while let event = try parser.next(in: buffer, at: &index) { record(event, into: &outcome) }
            } catch {
                outcome.error = error
                break
            }
            if compact {
                buffer.removeFirst(index)
                index = 0
            }
        }
        // After a rejection the connection closes: how much was buffered is irrelevant.
        outcome.unconsumed = outcome.error == nil ? buffer.count - index : 0
        return outcome
    }

    static func whole(_ bytes: [UInt8], limits: ParserLimits = .default) -> ParseOutcome {
        pieces(bytes, cuts: [], limits: limits)
    }

    static func whole(_ text: String, limits: ParserLimits = .default) -> ParseOutcome {
        whole(Array(text.utf8), limits: limits)
    }

    static func record(_ event: RequestEvent, into outcome: inout ParseOutcome) {
        switch event {
        case .head(let head): outcome.messages.append(ParsedMessage(head))
        case .body(let bytes): outcome.messages[outcome.messages.count - 1].body += bytes
        case .end: outcome.messages[outcome.messages.count - 1].complete = true
        }
    }
}

/// Parses a request that must yield exactly one head and returns it.
func singleHead(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RequestHead {
    var parser = RequestParser()
    let batch = parser.parse(Array(text.utf8))
    #expect(batch.error == nil, sourceLocation: sourceLocation)
    return try #require(batch.heads.first, sourceLocation: sourceLocation)
}

func string(_ bytes: ArraySlice<UInt8>?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

// MARK: - Tests

@Suite struct RequestParserTests {
    @Test func aMinimalGetYieldsMethodTargetVersionHostAndKeepAlive() throws {
        let head = try singleHead("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
        #expect(head.method == .get)
        #expect(string(head.target) == "/")
        #expect(head.version == .http1_1)
        #expect(head.keepAlive)
        #expect(head.body == .none)
        #expect(string(head.value(of: .host)) == "example.test")
        #expect(head.fieldCount == 1)
        #expect(head.byteCount == 38)
    }

    @Test func aBrowserGetExposesEveryFieldByKnownNameAndInOrder() throws {
        let head = try singleHead(browserGET)
        #expect(head.fieldCount == 12)
        #expect(string(head.value(of: .acceptEncoding)) == "gzip, deflate, br, zstd")
        #expect(string(head.value(of: .ifNoneMatch)) == "\"br-5d41402abc4b2a76\"")
        #expect(string(head.value(of: .secFetchDest)) == "script")
        #expect(head.value(of: .range) == nil)
        #expect(head.fields.map { String(decoding: $0.name, as: UTF8.self) }.first == "Host")
        #expect(head.fields[3].known == .acceptLanguage)
        #expect(head.fields.last.map { string($0.value) } == "u=1")
    }

    @Test func lookupsIgnoreCaseForKnownAndUnknownNames() throws {
        let head = try singleHead("GET / HTTP/1.1\r\nhOsT: a\r\nX-Foo: bar\r\nACCEPT-ENCODING: br\r\n\r\n")
        #expect(string(head.value(of: .host)) == "a")
        #expect(string(head.value(ofName: "x-foo")) == "bar")
        #expect(string(head.value(ofName: "X-FOO")) == "bar")
        #expect(string(head.value(ofName: "Accept-Encoding")) == "br")
        #expect(head.value(ofName: "x-fo") == nil)
        #expect(head.value(ofName: "x-fooo") == nil)
        #expect(FieldName("If-Modified-Since") == .ifModifiedSince)
        #expect(FieldName("x-unknown") == nil)
    }

    @Test func everyKnownFieldNameIsRecognisedInAnyCase() throws {
        for name in FieldName.all {
            let upper = name.name.uppercased()
            let host = name == .host ? "" : "Host: h\r\n"
            // Framing fields need meaningful values; any other gets a recognisable one.
            let value = name == .contentLength ? "0" : name == .transferEncoding ? "chunked" : "v-\(name.name)"
            let head = try singleHead("POST / HTTP/1.1\r\n\(host)\(upper): \(value)\r\n\r\n\(name == .transferEncoding ? "0\r\n\r\n" : "")")
            #expect(string(head.value(of: name)) == value, "\(name)")
            #expect(FieldName(upper) == name)
        }
    }

    @Test func knownNamesMatchOnlyTokenBytes() {
        // Case folding must not let CR stand in for "-" (0x0D | 0x20 == 0x2D).
        #expect(FieldName("content\rlength") == nil)
        #expect(FieldName("CONTENT-LENGTH") == .contentLength)
        #expect(FieldName("content_length") == nil)
        #expect(FieldName("content-lengt") == nil)
    }

    @Test func valuesAreTrimmedOfOptionalWhitespaceButKeepInnerSpaces() throws {
        let head = try singleHead("GET / HTTP/1.1\r\nHost: \t a b \t\r\nX-Empty:\r\nX-Blank:   \r\n\r\n")
        #expect(string(head.value(of: .host)) == "a b")
        #expect(string(head.value(ofName: "x-empty")) == "")
        #expect(string(head.value(ofName: "x-blank")) == "")
    }

    @Test func repeatedFieldsAreAllKeptAndTheFirstIsReturned() throws {
        let head = try singleHead("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n")
        #expect(string(head.value(of: .acceptEncoding)) == "br")
        #expect(head.values(of: .acceptEncoding).map { string($0) } == ["br", "gzip"])
        #expect(head.contains(.acceptEncoding))
        #expect(!head.contains(.cookie))
    }

    @Test func knownMethodsAreCasesAndOthersKeepTheirBytes() throws {
        let table: [(String, HTTPMethod)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("OPTIONS", .options), ("TRACE", .trace), ("CONNECT", .connect), ("PATCH", .patch),
            ("PURGE", .other(Array("PURGE".utf8))), ("get", .other(Array("get".utf8))),
            ("GETS", .other(Array("GETS".utf8))),
        ]
        for (token, method) in table {
            let target = method == .connect ? "a:443" : "/"
            let head = try singleHead("\(token) \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(head.method == method)
            #expect(head.method.name == token)
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n", false),
    ])
    func keepAliveFollowsVersionAndConnection(request: String, keepAlive: Bool) throws {
        #expect(try singleHead(request).keepAlive == keepAlive)
    }

    @Test func contentLengthBodiesArriveAsSlicesThenEnd() {
        var parser = RequestParser()
        let bytes = Array("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET".utf8)
        let batch = parser.parse(bytes)
        #expect(batch.error == nil)
        #expect(batch.events.count == 3)
        guard batch.events.count == 3, case .head(let head) = batch.events[0], case .body(let body) = batch.events[1],
            case .end = batch.events[2]
        else {
            Issue.record("unexpected events")
            return
        }
        #expect(head.body == .contentLength(5))
        #expect(String(decoding: body, as: UTF8.self) == "hello")
        #expect(batch.consumed == bytes.count - 3)
    }

    @Test func aBodySplitAcrossReadsComesOutInPieces() {
        var parser = RequestParser()
        var index = 0
        var buffer = Array("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab".utf8)
        #expect(throws: Never.self) {
            guard case .head = try parser.next(in: buffer, at: &index) else {
                Issue.record("no head")
                return
            }
            guard case .body(let first) = try parser.next(in: buffer, at: &index) else {
                Issue.record("no body")
                return
            }
            #expect(Array(first) == Array("ab".utf8))
            #expect(try parser.next(in: buffer, at: &index) == nil)
            buffer.removeFirst(index)
            index = 0
            buffer += Array("cdef".utf8)
            guard case .body(let second) = try parser.next(in: buffer, at: &index) else {
                Issue.record("no body")
                return
            }
            #expect(Array(second) == Array("cdef".utf8))
            guard case .end = try parser.next(in: buffer, at: &index) else {
                Issue.record("no end")
                return
            }
        }
    }

    @Test func chunkedBodiesAreDecodedAndTrailersDropped() {
        let outcome = Feed.whole(
            "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        #expect(outcome.error == nil)
        #expect(outcome.messages.count == 2)
        #expect(outcome.messages.first?.framing == .chunked)
        #expect(outcome.messages.first.map { String(decoding: $0.body, as: UTF8.self) } == "Wikipedia in\r\n\r\nchunks.")
        #expect(outcome.completeCount == 2)
        #expect(outcome.messages.last?.target == "/")
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let outcome = Feed.whole("GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.0\r\n\r\n")
        #expect(outcome.messages.map(\.target) == ["/a", "/b", "/c"])
        #expect(outcome.messages.map(\.method) == [.get, .head, .get])
        #expect(outcome.messages.map(\.keepAlive) == [true, true, false])
        #expect(outcome.unconsumed == 0)
    }

    @Test func headsKeptTogetherDoNotShareTheirFieldTable() {
        var parser = RequestParser()
        let batch = parser.parse(
            Array("GET /a HTTP/1.1\r\nHost: one\r\nX-A: 1\r\n\r\nGET /bb HTTP/1.1\r\nRange: bytes=0-1\r\nHost: two\r\n\r\n".utf8))
        let heads = batch.heads
        #expect(heads.count == 2)
        guard heads.count == 2 else { return }
        #expect(string(heads[0].value(of: .host)) == "one")
        #expect(string(heads[0].value(ofName: "x-a")) == "1")
        #expect(heads[0].value(of: .range) == nil)
        #expect(heads[0].fieldCount == 2)
        #expect(string(heads[1].value(of: .host)) == "two")
        #expect(string(heads[1].value(of: .range)) == "bytes=0-1")
        #expect(heads[1].value(ofName: "x-a") == nil)
    }

    @Test func aThousandRequestsInOneBufferAreAllParsed() {
        var text = ""
        for i in 0..<1000 { text += "GET /file/\(i).js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n" }
        let bytes = Array(text.utf8)
        var parser = RequestParser()
        let batch = parser.parse(bytes)
        #expect(batch.error == nil)
        #expect(batch.consumed == bytes.count)
        let heads = batch.heads
        #expect(heads.count == 1000)
        #expect(heads.enumerated().allSatisfy { i, head in string(head.target) == "/file/\(i).js" })
        #expect(heads.allSatisfy { string($0.value(of: .acceptEncoding)) == "br" })
    }

    @Test func anIncompleteHeadConsumesNothingAndWaits() {
        var parser = RequestParser()
        let batch = parser.parse(Array("GET /x HTTP/1.1\r\nHost: a\r\n".utf8))
        #expect(batch.events.isEmpty)
        #expect(batch.error == nil)
        #expect(batch.consumed == 0)
        #expect(!parser.isIdle)
        #expect(RequestParser().isIdle)
    }

    @Test func theParserStaysFailedAfterARejection() {
        var parser = RequestParser()
        var index = 0
        let bad = Array("GET / HTTP/1.1\r\nHost : a\r\n\r\n".utf8)
        #expect(throws: ParseError.whitespaceBeforeColon) { try parser.next(in: bad, at: &index) }
        let good = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        index = 0
        #expect(throws: ParseError.whitespaceBeforeColon) { try parser.next(in: good, at: &index) }
    }

    @Test func expectContinueAndUpgradeAreReported() throws {
        let head = try singleHead("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx")
        #expect(head.expectsContinue)
        #expect(!head.wantsUpgrade)
        let ws = try singleHead("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        #expect(ws.wantsUpgrade)
        #expect(!ws.expectsContinue)
    }

    @Test func aHeadStaysValidWhenTheConnectionReusesItsBuffer() throws {
        var buffer = Array("GET /keep HTTP/1.1\r\nHost: a\r\nX-Id: 42\r\n\r\n".utf8)
        var parser = RequestParser()
        var index = 0
        guard case .head(let head) = try parser.next(in: buffer, at: &index) else {
            Issue.record("no head")
            return
        }
        buffer.removeFirst(index)
        buffer += Array(repeating: 0x41, count: 100)
        #expect(string(head.target) == "/keep")
        #expect(string(head.value(ofName: "x-id")) == "42")
    }

    @Test func absoluteFormTargetsAreKeptVerbatim() throws {
        let head = try singleHead("GET http://Shop.Example.test/a?b HTTP/1.1\r\nHost: shop.example.test\r\n\r\n")
        #expect(string(head.target) == "http://Shop.Example.test/a?b")
    }

    @Test func http10RequestsNeedNoHost() throws {
        let head = try singleHead("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n")
        #expect(head.version == .http1_0)
        #expect(head.value(of: .host) == nil)
    }

    @Test func leadingEmptyLinesAreSkippedAndCounted() {
        let outcome = Feed.whole("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(outcome.completeCount == 1)
        let many = Feed.whole(String(repeating: "\r\n", count: 5) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(many.error == .invalidRequestLine)
    }

    @Test func tokenMasksMatchTheRFCDefinition() {
        #expect(ByteClass.tcharTableAgrees)
        let tchars = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for b in 0...255 { #expect(ByteClass.isTchar(UInt8(b)) == tchars.contains(UInt8(b)), "byte \(b)") }
    }

    @Test func wordScansFindTheSameBytesAsAPlainLoop() {
        var generator = SeededRandom(seed: 7)
        for _ in 0..<300 {
            let count = Int(generator.next() % 40)
            let bytes = (0..<count).map { _ in [0x0A, 0x09, 0x7F, 0x00, 0x20, 0x41, 0x80, 0x0D][Int(generator.next() % 8)] as UInt8 }
            bytes.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                let from = count == 0 ? 0 : Int(generator.next() % UInt64(count))
                #expect(ByteClass.firstLineFeed(base, from: from, to: count) == bytes[from...].firstIndex(of: 0x0A))
                #expect(
                    ByteClass.firstInvalidValueByte(base, from: from, to: count)
                        == bytes[from...].firstIndex { !ByteClass.isValueByte($0) })
            }
        }
    }
}

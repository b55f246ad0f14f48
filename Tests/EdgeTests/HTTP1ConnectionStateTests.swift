import HTTPCore
import Testing

@testable import Edge

/// `HTTP1ConnectionState` driven without a socket, a loop or a clock: bytes, write completions,
/// timeouts and closes go in as plain calls, and what it decides (requests to plan, responses to
/// write, pause/resume, close, 408) is checked directly.
@Suite struct HTTP1ConnectionStateTests {
    /// A response as the state machine sees it; `name` says what it answers.
    final class Answer: HTTP1PendingResponse {
        let name: String
        var isReady: Bool
        var closesConnection: Bool
        init(_ name: String, ready: Bool = true, closes: Bool = false) {
            self.name = name
            isReady = ready
            closesConnection = closes
        }
    }

    /// Carries the decisions out the way `HTTPConnection` does, into lists a test reads.
    final class Driver {
        var state: HTTP1ConnectionState<Answer>
        var now: UInt64 = 1_000
        /// Requests in the order they were handed out for planning (`METHOD target`).
        var planned: [String] = []
        /// Responses in the order they were handed out for writing.
        var written: [String] = []
        var paused = 0
        /// Planned responses that wait for a body load (ready: false) by request target.
        var waiting: [String: Answer] = [:]
        /// Targets whose answers load asynchronously.
        var slowTargets: Set<String> = []

        init(highWater: Int = 1 << 20, limits: ParserLimits = .default) {
            state = HTTP1ConnectionState(limits: limits, writeHighWaterBytes: highWater, now: 1_000)
        }

        /// Receives bytes and runs the input side to `.done`, then writes what is ready.
        /// False when the state machine dropped the bytes (closed or closing).
        @discardableResult
        func receive(_ text: some Collection<UInt8>) -> Bool {
            let bytes = Array(text)
            let taken = bytes.withUnsafeBytes { state.received($0, now: now) }
            guard taken else { return false }
            parse()
            return true
        }

        func parse() {
            while true {
                switch state.nextInput(now: now) {
                case .request(let head):
                    let target = String(decoding: head.target, as: UTF8.self)
                    planned.append("\(head.method) \(target)")
                    let answer = Answer("\(head.method) \(target)", ready: !slowTargets.contains(target), closes: !head.keepAlive)
                    if !answer.isReady { waiting[target] = answer }
                    state.enqueue(answer)
                case .reject(let error):
                    state.enqueue(Answer("\(error.status)", closes: true))
                case .pauseReading:
                    paused += 1
                case .done:
                    flush()
                    return
                }
            }
        }

        func flush() {
            while let answer = state.nextToWrite() { written.append(answer.name) }
        }

        // The state machine's mutating calls, reachable from inside `#expect`.
        func close() -> Bool { state.close() }
        func requestTimedOut() -> HTTP1ConnectionState<Answer>.TimeoutDecision { state.requestTimedOut() }
        func readEnded() -> Bool { state.readEnded() }
        func drain() -> Bool { state.drain() }
        func writeFailed() -> Bool { state.writeCompleted(failed: true, now: now) }
        func afterOutput(queuedBytes: Int) -> HTTP1ConnectionState<Answer>.OutputDecision { state.afterOutput(queuedBytes: queuedBytes) }

        /// Completes every write in flight (as the transport would, in order).
        func completeWrites(queuedBytes: Int = 0) -> HTTP1ConnectionState<Answer>.OutputDecision {
            while state.writesInFlight > 0 { _ = state.writeCompleted(failed: false, now: now) }
            return state.afterOutput(queuedBytes: queuedBytes)
        }
    }

    static let pipelined = Array(
        ("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "HEAD /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").utf8)
    static let expected = ["GET /a", "HEAD /b", "GET /c", "GET /d"]

    @Test func pipelinedRequestsSplitAtEveryByteBoundaryAreAnsweredInOrderThenClosed() {
        for cut in 0...Self.pipelined.count {
            let driver = Driver()
            driver.receive(Self.pipelined[..<cut])
            driver.receive(Self.pipelined[cut...])
            #expect(driver.planned == Self.expected, "cut at \(cut)")
            #expect(driver.written == Self.expected, "cut at \(cut)")
            #expect(driver.completeWrites() == .close, "cut at \(cut)")
        }
    }

    @Test func pipelinedRequestsFedOneByteAtATimeAreAnsweredInOrder() {
        let driver = Driver()
        for byte in Self.pipelined { driver.receive([byte]) }
        #expect(driver.written == Self.expected)
        // Connection: close was asked: what comes after it is dropped, not parsed.
        #expect(!driver.receive(Array("GET /e HTTP/1.1\r\nHost: x\r\n\r\n".utf8)))
        #expect(driver.planned == Self.expected)
    }

    @Test func keepAliveStaysOpenAndIdleWhileCloseClosesAfterTheAnswer() {
        let keep = Driver()
        keep.receive(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(keep.completeWrites() == .none)
        #expect(keep.state.isIdle(queuedBytes: 0) && keep.state.requestStartedMs == nil && !keep.state.isClosed)
        // HTTP/1.0 without keep-alive closes, as does Connection: close.
        for request in ["GET /a HTTP/1.0\r\n\r\n", "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"] {
            let driver = Driver()
            driver.receive(Array(request.utf8))
            #expect(driver.written == ["GET /a"])
            #expect(driver.completeWrites() == .close, "\(request)")
            #expect(driver.close() && !driver.close(), "the transport is closed once")
        }
    }

    @Test func aPartialHeadThenTheHeaderTimeoutAnswers408AndClosesWithALinger() {
        let driver = Driver()
        driver.receive(Array("GET /slow HTTP/1.1\r\nHost: x\r\n".utf8))
        #expect(driver.planned.isEmpty && driver.state.requestStartedMs == 1_000 && !driver.state.isIdle(queuedBytes: 0))
        #expect(driver.requestTimedOut() == .answerTimeout)
        driver.state.enqueue(Answer("408", closes: true))
        driver.flush()
        #expect(driver.written == ["408"])
        // The client may still be sending the rest of its head: the close lingers.
        #expect(driver.completeWrites() == .lingeringClose)
        #expect(driver.state.isClosed)
        #expect(!driver.receive(Array("\r\n".utf8)))
        #expect(driver.close(), "the linger's end closes the transport")
        #expect(!driver.close())
    }

    @Test func theHeaderTimeoutWhileAnAnswerIsInFlightClosesWithout408() {
        let driver = Driver()
        driver.slowTargets = ["/big"]
        driver.receive(Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n".utf8))
        #expect(driver.requestTimedOut() == .close)
        #expect(driver.close())
    }

    @Test func aBodyLoadFinishingAfterTheClientClosedWritesNothing() {
        let driver = Driver()
        driver.slowTargets = ["/big"]
        driver.receive(Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(driver.written.isEmpty && driver.state.pendingCount == 1)
        #expect(driver.close())
        driver.waiting["/big"]?.isReady = true
        driver.flush()
        #expect(driver.written.isEmpty)
        #expect(driver.afterOutput(queuedBytes: 0) == .none)
    }

    @Test func aSlowAnswerHoldsBackTheFastOnesBehindIt() {
        let driver = Driver()
        driver.slowTargets = ["/big"]
        driver.receive(Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(driver.written.isEmpty)
        driver.waiting["/big"]?.isReady = true
        driver.flush()
        #expect(driver.written == ["GET /big", "GET /small"])
    }

    /// A body that failed to load turns its answer into a closing one: what was asked after it is
    /// dropped and the connection closes once that answer is out.
    @Test func aFailedLoadClosesAfterItsAnswerAndDropsTheRest() {
        let driver = Driver()
        driver.slowTargets = ["/big"]
        driver.receive(Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        driver.waiting["/big"]?.closesConnection = true
        driver.waiting["/big"]?.isReady = true
        driver.state.closeAfterPending()
        driver.flush()
        #expect(driver.written == ["GET /big"])
        #expect(driver.state.pendingCount == 0)
        #expect(driver.completeWrites() == .close)
    }

    @Test func tooManyPipelinedRequestsPauseReadingAndItResumesWhenAnswersGoOut() {
        let driver = Driver()
        driver.slowTargets = ["/0"]
        let count = HTTP1ConnectionState<Answer>.maxQueuedResponses + 10
        let many = (0..<count).map { "GET /\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
        driver.receive(Array(many.utf8))
        #expect(driver.paused == 1)
        #expect(driver.planned.count == HTTP1ConnectionState<Answer>.maxQueuedResponses)
        #expect(driver.state.readingPaused && driver.state.hasBufferedInput)
        // Still blocked behind /0: output does not resume reading.
        #expect(driver.afterOutput(queuedBytes: 0) == .none)
        driver.waiting["/0"]?.isReady = true
        driver.flush()
        #expect(driver.completeWrites() == .resumeReading)
        driver.parse()
        #expect(driver.planned.count == count)
        #expect(driver.written == (0..<count).map { "GET /\($0)" })
        #expect(!driver.state.hasBufferedInput)
    }

    @Test func queuedOutputOverTheHighWaterMarkPausesReadingUntilItDrainsBelowHalf() {
        let driver = Driver(highWater: 1_000)
        driver.receive(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(driver.afterOutput(queuedBytes: 1_001) == .pauseReading)
        #expect(driver.afterOutput(queuedBytes: 2_000) == .none, "paused once")
        #expect(driver.afterOutput(queuedBytes: 501) == .none, "above half: still paused")
        #expect(driver.completeWrites(queuedBytes: 500) == .resumeReading)
        #expect(!driver.state.readingPaused)
    }

    @Test func aMalformedHeadIsAnsweredOnceAfterTheEarlierAnswersAndTheCloseLingers() {
        let driver = Driver()
        driver.receive(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nBad Header\r\n\r\nGET /c HTTP/1.1\r\n\r\n".utf8))
        #expect(driver.planned == ["GET /a"])
        #expect(driver.written == ["GET /a", "400"])
        #expect(driver.completeWrites() == .lingeringClose)
    }

    /// A body that breaks framing after its head was answered: no second answer (a client would
    /// take it for the next request's), a close after the first.
    @Test func aMalformedBodyClosesWithoutASecondAnswer() {
        let driver = Driver()
        driver.receive(Array("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8))
        #expect(driver.written == ["POST /a"])
        #expect(driver.completeWrites() == .lingeringClose)
    }

    @Test func theClientsEndClosesAtOnceWhenNothingIsAskedOtherwiseAfterTheAnswers() {
        let idle = Driver()
        #expect(idle.readEnded())
        let busy = Driver()
        busy.slowTargets = ["/big"]
        busy.receive(Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(!busy.readEnded())
        busy.waiting["/big"]?.isReady = true
        busy.flush()
        // The client has stopped sending: nothing to linger for.
        #expect(busy.completeWrites() == .close)
    }

    @Test func aDrainClosesAnIdleConnectionNowAndABusyOneAfterItsAnswer() {
        let idle = Driver()
        #expect(idle.drain())
        let busy = Driver()
        busy.receive(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(!busy.drain())
        #expect(!busy.receive(Array("GET /b HTTP/1.1\r\nHost: x\r\n\r\n".utf8)), "no new requests while draining")
        #expect(busy.completeWrites() == .close)
    }

    @Test func aFailedWriteAsksForTheClose() {
        let driver = Driver()
        driver.receive(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        driver.now = 5_000
        #expect(driver.writeFailed())
        #expect(driver.state.lastWriteProgressMs == 5_000)
    }

    /// Oversized and hostile input: the right status once, nothing planned from it, no crash.
    @Test func hostileInputGetsOneErrorAndNothingPlanned() {
        let limits = ParserLimits.default
        let hostile: [(String, [UInt8])] = [
            (
                "a request line over the limit",
                Array(("GET /" + String(repeating: "a", count: limits.maxRequestLineBytes + 10) + " HTTP/1.1\r\n\r\n").utf8)
            ),
            ("a head over the limit", Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: limits.maxHeaderBytes + 10) + "\r\n\r\n").utf8)),
            ("an obs-fold", Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n".utf8)),
            ("a NUL in a value", Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n".utf8)),
            (
                "Content-Length beside Transfer-Encoding (smuggling)",
                Array("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            ),
            ("binary noise", (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }),
        ]
        for (what, bytes) in hostile {
            let driver = Driver()
            driver.receive(bytes)
            #expect(driver.planned.isEmpty, "\(what)")
            #expect(driver.written.count == 1 && driver.written[0].hasPrefix("4"), "\(what): \(driver.written)")
            #expect(driver.completeWrites() == .lingeringClose, "\(what)")
        }
    }
}

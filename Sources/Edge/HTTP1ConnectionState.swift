import HTTPCore

/// A response the HTTP/1.1 state machine keeps in order. The machine sees only whether it is
/// ready to go and whether the connection closes after it; what it holds (buffers, a file range,
/// metrics) belongs to the adapter that writes it.
protocol HTTP1PendingResponse: AnyObject {
    /// Complete and writable (a cache hit at once; a loaded body when its load finished).
    var isReady: Bool { get }
    /// The connection closes once this response has been written.
    var closesConnection: Bool { get }
}

/// The protocol logic of one HTTP/1.1 connection, with no socket, no loop and no clock of its
/// own: events come in (bytes received, the client's end of input, a write completed, the
/// header timeout, a drain, a close), decisions come out (the next request to plan or the parse
/// error to answer, the next response to write, pause or resume reading, close or close with a
/// linger, answer 408). `HTTPConnection` is the adapter that carries the decisions out on its
/// transport (plain TCP or TLS below it; an HTTP/2 connection beside it takes over a socket whose
/// first bytes say h2, before any of this runs).
///
/// The rules it owns: pipelined requests are parsed as they arrive and answered strictly in
/// order; reading pauses while `maxQueuedResponses` answers wait or more than the high-water mark
/// of output is queued, and resumes below half of each; a response that closes the connection
/// drops what was asked after it; a malformed head is answered and the connection closes with a
/// linger (the client may still be sending); a malformed body of a request already answered
/// closes without a second answer; the header timeout answers 408 only when nothing else is
/// being answered. The shape is SwiftNIO's and Hummingbird's connection state machines: a value,
/// driven by plain calls, so tests drive it byte by byte on a virtual clock.
///
/// Hot path: a struct inside the adapter; every step is a call returning a small enum, no
/// allocation, closure or existential per request (`Response` is a class the adapter reuses).
struct HTTP1ConnectionState<Response: HTTP1PendingResponse> {
    /// What the input side asks of the adapter, one step at a time (`nextInput`).
    enum InputStep {
        /// Plan this request and `enqueue` its response, then ask again.
        case request(RequestHead)
        /// Answer this error (its response closes the connection), then ask again.
        case reject(ParseError)
        /// Too many answers wait: stop reading from the transport, then ask again.
        case pauseReading
        /// Nothing more to parse now.
        case done
    }

    /// What the output side asks of the adapter after output moved (`afterOutput`).
    enum OutputDecision: Equatable {
        case none
        case pauseReading
        /// Start reading again, and parse what is buffered (`hasBufferedInput`).
        case resumeReading
        case close
        /// Closed for this connection; the transport drains the client's input before it closes.
        case lingeringClose
    }

    /// What the header timeout asks of the adapter.
    enum TimeoutDecision: Equatable {
        case none
        /// Enqueue a 408 that closes the connection, then write it.
        case answerTimeout
        /// Something is being answered already: close without a 408.
        case close
    }

    /// Responses waiting in order before reading pauses (pipelining depth).
    static var maxQueuedResponses: Int { 64 }

    /// Queued output above which reading pauses.
    let writeHighWaterBytes: Int
    private var parser: RequestParser
    private var buffer: [UInt8] = []
    /// How far `buffer` has been parsed; the buffer is compacted when a parse round ends.
    private var parseIndex = 0
    private var pending: [Response] = []
    private var pendingHead = 0
    private(set) var closingAfterQueue = false
    private(set) var readingPaused = false
    private(set) var readingEnded = false
    private(set) var isClosed = false
    /// Set when the connection closes over a request refused mid-way (a malformed head or body, a
    /// header timeout): the client may still be sending, so the close lingers.
    private var lingerOnClose = false
    /// Closed for this connection, the transport still reading and dropping.
    private var lingering = false
    /// When the first byte of the request being received arrived (header timeout); nil between requests.
    private(set) var requestStartedMs: UInt64?
    /// When the client last gave the connection something to do (idle timeout).
    private(set) var lastActivityMs: UInt64
    /// When output last made progress while some was pending (send timeout).
    private(set) var lastWriteProgressMs: UInt64
    /// Responses handed to the transport whose write has not completed.
    private(set) var writesInFlight = 0

    init(limits: ParserLimits, writeHighWaterBytes: Int, now: UInt64) {
        parser = RequestParser(limits: limits)
        self.writeHighWaterBytes = writeHighWaterBytes
        lastActivityMs = now
        lastWriteProgressMs = now
    }

    /// Responses asked for and not yet handed to the transport.
    var pendingCount: Int { pending.count - pendingHead }

    /// Bytes received and not yet parsed (after a pause).
    var hasBufferedInput: Bool { parseIndex < buffer.count }

    /// Nothing being answered, nothing partly received, nothing left to send.
    func isIdle(queuedBytes: Int) -> Bool {
        pendingCount == 0 && parser.isIdle && queuedBytes == 0 && writesInFlight == 0
    }

    // MARK: input

    /// Bytes from the client. False when they are dropped: the connection is closed or closing.
    mutating func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        guard !isClosed, !closingAfterQueue else { return false }
        lastActivityMs = now
        if requestStartedMs == nil { requestStartedMs = now }
        buffer.append(contentsOf: bytes)
        return true
    }

    /// The next thing to do with the buffered input; call until `.done`.
    mutating func nextInput(now: UInt64) -> InputStep {
        while !closingAfterQueue {
            if pendingCount >= Self.maxQueuedResponses {
                if readingPaused { break }
                readingPaused = true
                return .pauseReading
            }
            let event: RequestEvent?
            do {
                event = try parser.next(in: buffer, at: &parseIndex)
            } catch {
                lingerOnClose = true
                closingAfterQueue = true
                // A bad body of a request already answered: an error response now would be read
                // as the answer to the next request, so the close alone ends it.
                if parser.failedInBody { break }
                return .reject(error)
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                return .request(head)
            case .body:
                continue  // request bodies are read and dropped (no edge route takes one)
            case .end:
                requestStartedMs = parser.isIdle && parseIndex == buffer.count ? nil : now
            }
        }
        compactBuffer()
        return .done
    }

    private mutating func compactBuffer() {
        if parseIndex >= buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
        } else if parseIndex > 0 {
            buffer.removeFirst(parseIndex)
        }
        parseIndex = 0
        if buffer.isEmpty && parser.isIdle { requestStartedMs = nil }
    }

    /// The client finished sending. True when the connection should close now (nothing to answer);
    /// otherwise it closes after the answers already asked for.
    mutating func readEnded() -> Bool {
        readingEnded = true
        closingAfterQueue = true
        return pendingCount == 0
    }

    // MARK: output

    /// Queues the answer to the request just planned (or to an error, a timeout), in order.
    mutating func enqueue(_ response: Response) {
        if response.closesConnection { closingAfterQueue = true }
        pending.append(response)
    }

    /// A response already queued turned into one that closes (a body that failed to load).
    mutating func closeAfterPending() {
        closingAfterQueue = true
    }

    /// The next response to write, if the first in line is ready; the adapter writes it and later
    /// reports `writeCompleted`. After one that closes the connection, the rest is dropped.
    mutating func nextToWrite() -> Response? {
        guard !isClosed, pendingHead < pending.count, pending[pendingHead].isReady else {
            if pendingHead == pending.count && pendingHead > 0 {
                pending.removeAll(keepingCapacity: true)
                pendingHead = 0
            }
            return nil
        }
        let response = pending[pendingHead]
        pendingHead += 1
        writesInFlight += 1
        if response.closesConnection {
            closingAfterQueue = true
            pending.removeSubrange(pendingHead...)
        }
        return response
    }

    /// A write finished. True when it failed: close now.
    mutating func writeCompleted(failed: Bool, now: UInt64) -> Bool {
        writesInFlight -= 1
        lastWriteProgressMs = now
        return failed
    }

    /// Backpressure and closing after output moved; `queuedBytes` is what the transport holds.
    mutating func afterOutput(queuedBytes: Int) -> OutputDecision {
        guard !isClosed else { return .none }
        var decision = OutputDecision.none
        if queuedBytes > writeHighWaterBytes {
            if !readingPaused {
                readingPaused = true
                decision = .pauseReading
            }
        } else if readingPaused, queuedBytes <= writeHighWaterBytes / 2,
            pendingCount < Self.maxQueuedResponses / 2, !closingAfterQueue
        {
            readingPaused = false
            decision = .resumeReading
        }
        if closingAfterQueue, pendingCount == 0, writesInFlight == 0 {
            if lingerOnClose && !readingEnded {
                isClosed = true
                lingering = true
                return .lingeringClose
            }
            return .close
        }
        return decision
    }

    // MARK: lifecycle

    /// The header timeout fired.
    mutating func requestTimedOut() -> TimeoutDecision {
        guard !isClosed else { return .none }
        guard pendingCount == 0 && writesInFlight == 0 else { return .close }
        closingAfterQueue = false
        lingerOnClose = true
        return .answerTimeout
    }

    /// Graceful shutdown. True when the connection should close now (nothing asked, nothing in flight).
    mutating func drain() -> Bool {
        closingAfterQueue = true
        return pendingCount == 0 && writesInFlight == 0
    }

    /// Another connection object took the transport over (HTTP/2): this one is done.
    mutating func handOver() {
        isClosed = true
    }

    /// True when the transport should be closed now (the first close, or the end of a linger).
    mutating func close() -> Bool {
        if lingering {
            lingering = false
            return true
        }
        guard !isClosed else { return false }
        isClosed = true
        return true
    }
}

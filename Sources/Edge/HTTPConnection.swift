import ArtifactStore
import HTTPCore
import UVLoop

/// One HTTP/1.1 client connection on one loop: the adapter between its transport and
/// `HTTP1ConnectionState`, which holds the protocol rules (parsing, pipelining order,
/// backpressure, keep-alive and closing, the header timeout). This class carries the state
/// machine's decisions out: it asks the worker to plan each request (cache hit, plan, body load
/// off the loop), turns plans into slots of write buffers or file ranges, writes them through the
/// transport (writev or sendfile), and pauses, resumes or closes the transport when told.
/// Loop thread only.
final class HTTPConnection {
    /// A response waiting its turn.
    private final class Slot: HTTP1PendingResponse {
        var buffers: [WriteBuffer] = []
        var file: OpenFile?
        var fileRange: (offset: Int64, length: Int64) = (0, 0)
        var ready = false
        var close = false
        var status = 200
        var bytes = 0
        var app: String?
        var servedFile: ServedFile?
        var coding: UInt8 = 0
        /// When the request was planned (monotonic ns), for the latency histogram.
        var startedNs: UInt64 = 0
        /// Multipart bodies over a large file: which buffer positions are file ranges instead.
        var multipartFileParts: [(index: Int, file: OpenFile, offset: Int64, length: Int64)] = []
        /// The request's part of its access-log line (only with an access log).
        var log: AccessLogRequest?

        var isReady: Bool { ready }
        var closesConnection: Bool { close }

        /// Back to a blank slot for reuse (keeps the buffers array's capacity).
        func reset() {
            buffers.removeAll(keepingCapacity: true)
            file = nil
            fileRange = (0, 0)
            ready = false
            close = false
            status = 200
            bytes = 0
            app = nil
            servedFile = nil
            coding = 0
            startedNs = 0
            if !multipartFileParts.isEmpty { multipartFileParts = [] }
            log = nil
        }
    }

    /// Slots already written, kept for the next requests (a keep-alive connection reuses the
    /// same one or two instead of allocating one per response).
    private var spareSlots: [Slot] = []

    private func makeSlot() -> Slot {
        spareSlots.popLast() ?? Slot()
    }

    let id: Int
    /// Plain TCP or TLS; this class reads and writes bytes through it and never knows which.
    let transport: any ConnectionTransport
    /// The request arrived over TLS (for HSTS and the redirect to HTTPS).
    let isSecure: Bool
    unowned let worker: EdgeWorker
    /// The peer's address and its place in the per-address connection count.
    var client: ClientTicket?
    /// The protocol rules; this class performs what they decide.
    private var state: HTTP1ConnectionState<Slot>
    /// The first bytes decide the protocol (HTTP/2 by ALPN or preface); false until they came.
    private var receivedAny = false

    var isClosed: Bool { state.isClosed }
    /// When the first byte of the request being received arrived (header timeout); nil between requests.
    var requestStartedMs: UInt64? { state.requestStartedMs }
    var lastActivityMs: UInt64 { state.lastActivityMs }
    /// When output last made progress while some was pending (send timeout).
    var lastWriteProgressMs: UInt64 { state.lastWriteProgressMs }

    init(id: Int, transport: any ConnectionTransport, isSecure: Bool = false, worker: EdgeWorker) {
        self.id = id
        self.transport = transport
        self.isSecure = isSecure
        self.worker = worker
        state = HTTP1ConnectionState(
            limits: worker.parserLimits, writeHighWaterBytes: worker.configuration.writeHighWaterBytes,
            now: transport.loop.nowMilliseconds)
    }

    func start() {
        try? transport.setNoDelay(true)
        transport.onClose = { [weak self] in
            guard let self else { return }
            self.worker.connectionClosed(self)
        }
        startReading()
    }

    private func startReading() {
        transport.startReading(
            onData: { [unowned self] bytes in self.received(bytes) },
            onEnd: { [unowned self] _ in self.readEnded() })
    }

    var isIdle: Bool { state.isIdle(queuedBytes: transport.writeQueueSize) }

    // MARK: input

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard !state.isClosed, !state.closingAfterQueue else { return }
        if !receivedAny {
            receivedAny = true
            if worker.speaksHTTP2(transport, firstBytes: bytes) {
                state.handOver()  // this object is done; the transport now belongs to its successor
                worker.switchToHTTP2(from: self, firstBytes: bytes)
                return
            }
        }
        guard state.received(bytes, now: transport.loop.nowMilliseconds) else { return }
        parseBuffered()
    }

    private func readEnded() {
        // The client finished sending: answer what was asked, then close.
        if state.readEnded() { close() }
    }

    private func parseBuffered() {
        let now = transport.loop.nowMilliseconds
        parsing: while true {
            switch state.nextInput(now: now) {
            case .request(let head):
                let slot: Slot
                if let refusal = worker.rateLimited(head, peer: client) {
                    slot = enqueue(refusal)
                } else if !isSecure, let redirect = worker.httpsRedirect(head) {
                    slot = enqueue(redirect)
                } else if let found = worker.cacheHit(head) {
                    slot = enqueue(found.0, found.1)
                } else {
                    slot = enqueue(isSecure ? worker.withHSTSApp(worker.plan(head), for: head) : worker.plan(head))
                }
                if worker.accessLog != nil { slot.log = worker.accessLogRequest(head, client: client) }
            case .reject(let error):
                let slot = enqueue(ArtifactResponder.error(error.status, "\(error)", date: worker.date(), close: true))
                slot.log = worker.accessLogRequest(nil, client: client)
            case .pauseReading:
                transport.stopReading()
            case .done:
                break parsing
            }
        }
        flush()
    }

    // MARK: planning → slots

    /// A whole cached representation: its prebuilt head, this second's Date tail and the body.
    @discardableResult
    private func enqueue(_ hit: ArtifactResponder.CacheHitCandidate, _ entry: ResponseCache.Entry) -> Slot {
        let slot = makeSlot()
        slot.startedNs = EdgeClock.monotonicNanoseconds()
        slot.app = hit.app
        slot.servedFile = hit.file
        slot.coding = hit.rep.coding.rawValue
        slot.buffers.append(WriteBuffer(hit.rep.okHead))
        if isSecure, let hsts = worker.hstsField(app: hit.app) { slot.buffers.append(WriteBuffer(hsts)) }
        slot.buffers.append(WriteBuffer(worker.responseDate().tail(close: false, http10KeepAlive: false)))
        if let file = entry.file {
            slot.file = file
            slot.fileRange = (file.offset, file.length)
            slot.bytes = Int(file.length)
        } else {
            slot.buffers.append(WriteBuffer(entry.body))
            slot.bytes = entry.body.count
        }
        slot.ready = true
        state.enqueue(slot)
        return slot
    }

    /// The response slot of `plan` (after a 103 slot when it has early hints).
    @discardableResult
    private func enqueue(_ plan: ArtifactResponder.Plan) -> Slot {
        if let hints = plan.earlyHints {
            let interim = makeSlot()
            interim.buffers.append(WriteBuffer(hints))
            interim.ready = true
            interim.status = 103
            state.enqueue(interim)
        }
        let slot = makeSlot()
        slot.startedNs = EdgeClock.monotonicNanoseconds()
        slot.close = plan.close
        slot.status = plan.status
        slot.app = plan.app
        slot.servedFile = plan.file
        state.enqueue(slot)
        switch plan.body {
        case .none:
            appendHead(plan, to: slot)
            slot.ready = true
        case .bytes(let body):
            appendHead(plan, to: slot)
            slot.buffers.append(WriteBuffer(body))
            slot.bytes = body.count
            slot.ready = true
        case .representation(let file, let rep, let slices):
            slot.coding = rep.coding.rawValue
            if let entry = worker.cache.get(rep.cacheKey) {
                fill(slot, plan: plan, entry: entry, slices: slices)
            } else {
                worker.loadBody(file, rep) { [weak self, slot] result in
                    guard let self, !self.isClosed else { return }
                    switch result {
                    case .success(let entry):
                        self.fill(slot, plan: plan, entry: entry, slices: slices)
                    case .failure(let error):
                        worker.log("body load failed for \(file.entry.path): \(error)")
                        // A tier edge's blob the origin could not give: 502/504, never a part of a body.
                        let unavailable = error as? BlobUnavailable
                        let status = unavailable?.status ?? 500
                        let failed = ArtifactResponder.error(
                            status, unavailable == nil ? "internal error" : "origin unavailable",
                            date: self.worker.date(), close: true)
                        slot.buffers = [WriteBuffer(failed.head)]
                        if case .bytes(let b) = failed.body { slot.buffers.append(WriteBuffer(b)) }
                        slot.status = status
                        slot.close = true
                        slot.ready = true
                        self.state.closeAfterPending()
                    }
                    self.flush()
                }
            }
        }
        return slot
    }

    /// The head as write buffers: the (often prebuilt, shared) head and its Date tail, uncopied.
    private func appendHead(_ plan: ArtifactResponder.Plan, to slot: Slot) {
        if isSecure, let hsts = worker.hstsField(app: plan.app) {
            appendHead(plan.head, tail: plan.headTail, adding: hsts, to: &slot.buffers)
            return
        }
        slot.buffers.append(WriteBuffer(plan.head))
        if !plan.headTail.isEmpty { slot.buffers.append(WriteBuffer(plan.headTail)) }
    }

    /// A head with one more field line: before the Date tail of a prebuilt head, or right after
    /// the status line of a complete one (slices, not copies).
    private func appendHead(_ head: [UInt8], tail: [UInt8], adding field: [UInt8], to buffers: inout [WriteBuffer]) {
        if !tail.isEmpty {
            buffers.append(WriteBuffer(head))
            buffers.append(WriteBuffer(field))
            buffers.append(WriteBuffer(tail))
            return
        }
        var statusEnd = 0
        while statusEnd + 1 < head.count, !(head[statusEnd] == 13 && head[statusEnd + 1] == 10) { statusEnd += 1 }
        statusEnd = min(statusEnd + 2, head.count)
        buffers.append(WriteBuffer(head[0..<statusEnd]))
        buffers.append(WriteBuffer(field))
        buffers.append(WriteBuffer(head[statusEnd...]))
    }

    /// Puts the head and the selected bytes of a loaded representation into a slot.
    private func fill(_ slot: Slot, plan: ArtifactResponder.Plan, entry: ResponseCache.Entry, slices: ArtifactResponder.Slices) {
        slot.buffers.removeAll(keepingCapacity: true)
        appendHead(plan, to: slot)
        let headBuffers = slot.buffers.count
        if let file = entry.file {
            slot.file = file
            switch slices {
            case .whole:
                slot.fileRange = (file.offset, file.length)
            case .single(let offset, let length):
                slot.fileRange = (file.offset + offset, length)
            case .multipart(let multipart):
                // Several ranges of a large file: part heads are small; read each range through
                // the cache-less path by sending them in order as file ranges.
                slot.file = nil
                slot.buffers = multipartBuffers(multipart, head: plan.fullHead, body: nil, file: file, slot: slot, app: plan.app)
            }
        } else {
            switch slices {
            case .whole:
                slot.buffers.append(WriteBuffer(entry.body))
            case .single(let offset, let length):
                slot.buffers.append(WriteBuffer(entry.body[Int(offset)..<Int(offset + length)]))
            case .multipart(let multipart):
                slot.buffers = multipartBuffers(multipart, head: plan.fullHead, body: entry.body, file: nil, slot: slot, app: plan.app)
            }
        }
        if case .multipart(let m) = slices {
            slot.bytes = Int(m.contentLength)
        } else {
            slot.bytes = slot.buffers.dropFirst(headBuffers).reduce(0) { $0 + $1.count } + Int(slot.fileRange.length)
        }
        slot.ready = true
    }

    /// A multipart/byteranges body as buffers (in-memory bodies) or as part heads + file ranges.
    private func multipartBuffers(
        _ m: MultipartByteRanges, head: [UInt8], body: [UInt8]?, file: OpenFile?, slot: Slot,
        app: String?
    ) -> [WriteBuffer] {
        var out: [WriteBuffer] = []
        if isSecure, let hsts = worker.hstsField(app: app) {
            appendHead(head, tail: [], adding: hsts, to: &out)
        } else {
            out.append(WriteBuffer(head))
        }
        for (i, span) in m.spans.enumerated() {
            out.append(WriteBuffer(m.partHead(i)))
            if let body {
                out.append(WriteBuffer(body[Int(span.first)...Int(span.last)]))
            } else if let file {
                slot.multipartFileParts.append((out.count, file, file.offset + span.first, span.count))
                out.append(WriteBuffer([]))
            }
        }
        out.append(WriteBuffer(m.closing))
        return out
    }

    // MARK: output

    private func flush() {
        while let slot = state.nextToWrite() {
            write(slot)
            worker.record(slot.status, bytes: slot.bytes, app: slot.app, file: slot.servedFile, coding: slot.coding)
            if let request = slot.log {
                worker.logResponse(request, status: slot.status, bytes: slot.bytes, app: slot.app, startedNs: slot.startedNs)
            }
            if slot.startedNs != 0 {
                worker.metrics.recordRequestDuration(nanoseconds: EdgeClock.monotonicNanoseconds() &- slot.startedNs)
            }
            recycle(slot)
        }
        afterWrite()
    }

    /// Keeps a written slot for reuse. Safe: `write` handed the buffers (and file) to the
    /// connection, which retains what it still needs; nothing else refers to a written slot.
    private func recycle(_ slot: Slot) {
        guard spareSlots.count < 4 else { return }
        slot.reset()
        spareSlots.append(slot)
    }

    /// The completion of every response write, made once per connection (a closure per write
    /// would cost an allocation and a weak reference each time).
    private lazy var writeCompleted: (UVError?) -> Void = { [weak self] error in
        guard let self else { return }
        if self.state.writeCompleted(failed: error != nil, now: self.transport.loop.nowMilliseconds) {
            self.close()
            return
        }
        self.afterWrite()
    }

    private func write(_ slot: Slot) {
        let done = writeCompleted
        if slot.multipartFileParts.isEmpty {
            if let file = slot.file {
                transport.sendFile(
                    after: slot.buffers, descriptor: file.descriptor, offset: slot.fileRange.offset,
                    count: slot.fileRange.length
                ) { error in
                    withExtendedLifetime(file) { done(error) }
                }
            } else {
                transport.write(slot.buffers, completion: done)
            }
            return
        }
        // Multipart over a large file: buffers and file ranges interleaved, in order.
        var start = 0
        for part in slot.multipartFileParts {
            transport.write(Array(slot.buffers[start..<part.index]), completion: nil)
            let file = part.file
            transport.sendFile(descriptor: file.descriptor, offset: part.offset, count: part.length) { _ in
                withExtendedLifetime(file) {}
            }
            start = part.index + 1
        }
        transport.write(Array(slot.buffers[start...]), completion: done)
    }

    /// Carries out the state machine's backpressure and closing decision after output moved.
    private func afterWrite() {
        switch state.afterOutput(queuedBytes: transport.writeQueueSize) {
        case .none:
            break
        case .pauseReading:
            transport.stopReading()
        case .resumeReading:
            if !state.readingEnded { startReading() }
            if state.hasBufferedInput { parseBuffered() }
        case .close:
            close()
        case .lingeringClose:
            transport.lingeringClose(after: HTTPConnection.lingerMs)
        }
    }

    /// How long a lingering close waits for the client to stop sending.
    static let lingerMs = 2_000

    // MARK: lifecycle

    /// Answers 408 (if nothing is pending) and closes: the header timeout.
    func timeOutRequest() {
        switch state.requestTimedOut() {
        case .none:
            break
        case .answerTimeout:
            enqueue(ArtifactResponder.error(408, "request timeout", date: worker.date(), close: true))
            flush()
        case .close:
            close()
        }
    }

    /// Graceful shutdown: close now if idle, otherwise after the responses already asked for.
    func drain() {
        if state.drain() { close() }
    }

    func close() {
        if state.close() { transport.close() }
    }
}

/// Carries a loop-confined closure through a Sendable hop; it is only called back on its loop.
final class LoopBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

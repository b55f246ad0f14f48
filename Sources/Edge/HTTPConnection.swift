import ArtifactStore
import HTTPCore
import UVLoop

/// One client connection on one loop: bytes in → parser → responder plans → ordered writes.
///
/// Pipelined requests are planned as they are parsed and answered strictly in order: each
/// plan becomes a queue slot that is ready at once (cache hit, error, 304) or when its body
/// has been loaded off the loop. Reading pauses while too much output is queued or too many
/// responses wait (backpressure). Loop thread only.
final class HTTPConnection {
    /// A response waiting its turn.
    private final class Slot {
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
    private var parser: RequestParser
    private var buffer: [UInt8] = []
    private var slots: [Slot] = []
    private var slotHead = 0
    private var closingAfterQueue = false
    private var readingPaused = false
    private var readingEnded = false
    private(set) var isClosed = false
    /// When the first byte of the request being received arrived (header timeout); nil between requests.
    private(set) var requestStartedMs: UInt64?
    private(set) var lastActivityMs: UInt64
    /// When output last made progress while some was pending (send timeout).
    private(set) var lastWriteProgressMs: UInt64
    private var writesInFlight = 0
    /// The first bytes decide the protocol (HTTP/2 by ALPN or preface); false until they came.
    private var receivedAny = false

    static let maxQueuedResponses = 64

    init(id: Int, transport: any ConnectionTransport, isSecure: Bool = false, worker: EdgeWorker) {
        self.id = id
        self.transport = transport
        self.isSecure = isSecure
        self.worker = worker
        self.parser = RequestParser(limits: worker.parserLimits)
        let now = transport.loop.nowMilliseconds
        lastActivityMs = now
        lastWriteProgressMs = now
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
        transport.startReading(onData: { [unowned self] bytes in self.received(bytes) },
                         onEnd: { [unowned self] _ in self.readEnded() })
    }

    var isIdle: Bool { pendingCount == 0 && parser.isIdle && transport.writeQueueSize == 0 && writesInFlight == 0 }
    private var pendingCount: Int { slots.count - slotHead }

    // MARK: input

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closingAfterQueue else { return }
        if !receivedAny {
            receivedAny = true
            if worker.speaksHTTP2(transport, firstBytes: bytes) {
                isClosed = true  // this object is done; the transport now belongs to its successor
                worker.switchToHTTP2(from: self, firstBytes: bytes)
                return
            }
        }
        let now = transport.loop.nowMilliseconds
        lastActivityMs = now
        if requestStartedMs == nil { requestStartedMs = now }
        buffer.append(contentsOf: bytes)
        parseBuffered()
    }

    private func readEnded() {
        readingEnded = true
        // The client finished sending: answer what was asked, then close.
        closingAfterQueue = true
        if pendingCount == 0 { close() }
    }

    private func parseBuffered() {
        var index = 0
        while !closingAfterQueue {
            if pendingCount >= HTTPConnection.maxQueuedResponses {
                pauseReading()
                break
            }
            let event: RequestEvent?
            do {
                event = try parser.next(in: buffer, at: &index)
            } catch {
                // The client may still be sending: linger at the close, so the answers reach it.
                lingerOnClose = true
                if parser.failedInBody {
                    // A bad body of a request already answered: close after that answer; an error
                    // response now would be read as the answer to the next request.
                    closingAfterQueue = true
                } else {
                    enqueue(ArtifactResponder.error(error.status, "\(error)", date: worker.date(), close: true))
                    slots.last?.log = worker.accessLogRequest(nil, client: client)
                }
                break
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                if let refusal = worker.rateLimited(head, peer: client) {
                    enqueue(refusal)
                } else if !isSecure, let redirect = worker.httpsRedirect(head) {
                    enqueue(redirect)
                } else if let found = worker.cacheHit(head) {
                    enqueue(found.0, found.1)
                } else {
                    enqueue(isSecure ? worker.withHSTSApp(worker.plan(head), for: head) : worker.plan(head))
                }
                if worker.accessLog != nil { slots.last?.log = worker.accessLogRequest(head, client: client) }
            case .body:
                continue  // request bodies are read and dropped (no route takes one)
            case .end:
                requestStartedMs = parser.isIdle && index == buffer.count ? nil : transport.loop.nowMilliseconds
            }
        }
        if index >= buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
        } else if index > 0 {
            buffer.removeFirst(index)
        }
        if buffer.isEmpty && parser.isIdle { requestStartedMs = nil }
        flush()
    }

    // MARK: planning → slots

    /// A whole cached representation: its prebuilt head, this second's Date tail and the body.
    private func enqueue(_ hit: ArtifactResponder.CacheHitCandidate, _ entry: ResponseCache.Entry) {
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
        slots.append(slot)
    }

    private func enqueue(_ plan: ArtifactResponder.Plan) {
        if plan.close { closingAfterQueue = true }
        if let hints = plan.earlyHints {
            let interim = makeSlot()
            interim.buffers.append(WriteBuffer(hints))
            interim.ready = true
            interim.status = 103
            slots.append(interim)
        }
        let slot = makeSlot()
        slot.startedNs = EdgeClock.monotonicNanoseconds()
        slot.close = plan.close
        slot.status = plan.status
        slot.app = plan.app
        slot.servedFile = plan.file
        slots.append(slot)
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
                        let failed = ArtifactResponder.error(status, unavailable == nil ? "internal error" : "origin unavailable",
                                                             date: self.worker.date(), close: true)
                        slot.buffers = [WriteBuffer(failed.head)]
                        if case .bytes(let b) = failed.body { slot.buffers.append(WriteBuffer(b)) }
                        slot.status = status
                        slot.close = true
                        slot.ready = true
                        self.closingAfterQueue = true
                    }
                    self.flush()
                }
            }
        }
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
    private func multipartBuffers(_ m: MultipartByteRanges, head: [UInt8], body: [UInt8]?, file: OpenFile?, slot: Slot,
                                  app: String?) -> [WriteBuffer] {
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
        while slotHead < slots.count, slots[slotHead].ready, !isClosed {
            let slot = slots[slotHead]
            slotHead += 1
            write(slot)
            worker.record(slot.status, bytes: slot.bytes, app: slot.app, file: slot.servedFile, coding: slot.coding)
            if let request = slot.log { worker.logResponse(request, status: slot.status, bytes: slot.bytes, app: slot.app, startedNs: slot.startedNs) }
            if slot.startedNs != 0 {
                worker.metrics.recordRequestDuration(nanoseconds: EdgeClock.monotonicNanoseconds() &- slot.startedNs)
            }
            let closes = slot.close
            recycle(slot)
            if closes {
                closingAfterQueue = true
                break
            }
        }
        if slotHead == slots.count {
            slots.removeAll(keepingCapacity: true)
            slotHead = 0
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
        self.writesInFlight -= 1
        self.lastWriteProgressMs = self.transport.loop.nowMilliseconds
        if error != nil { self.close(); return }
        self.afterWrite()
    }

    private func write(_ slot: Slot) {
        writesInFlight += 1
        let done = writeCompleted
        if slot.multipartFileParts.isEmpty {
            if let file = slot.file {
                transport.sendFile(after: slot.buffers, descriptor: file.descriptor, offset: slot.fileRange.offset,
                             count: slot.fileRange.length) { error in
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

    /// Backpressure and closing decisions after output moved.
    private func afterWrite() {
        guard !isClosed else { return }
        let queued = transport.writeQueueSize
        if queued > worker.configuration.writeHighWaterBytes {
            pauseReading()
        } else if readingPaused, queued <= worker.configuration.writeHighWaterBytes / 2,
                  pendingCount < HTTPConnection.maxQueuedResponses / 2, !closingAfterQueue {
            readingPaused = false
            if !readingEnded { startReading() }
            if !buffer.isEmpty { parseBuffered() }
        }
        if closingAfterQueue, pendingCount == 0, writesInFlight == 0 {
            if lingerOnClose && !readingEnded {
                lingeringClose()
            } else {
                close()
            }
        }
    }

    /// Set when the connection closes over a request refused mid-way (a malformed head or body, a
    /// header timeout): the client may still be sending, so the close lingers.
    private var lingerOnClose = false
    /// Closed for this object, the transport still reading and dropping (see `lingeringClose`).
    private var lingering = false
    /// How long a lingering close waits for the client to stop sending.
    static let lingerMs = 2_000

    private func lingeringClose() {
        guard !isClosed else { return }
        isClosed = true
        lingering = true
        transport.lingeringClose(after: HTTPConnection.lingerMs)
    }

    private func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        transport.stopReading()
    }

    // MARK: lifecycle

    /// Answers 408 (if nothing is pending) and closes: the header timeout.
    func timeOutRequest() {
        guard !isClosed else { return }
        if pendingCount == 0 && writesInFlight == 0 {
            closingAfterQueue = false
            lingerOnClose = true
            enqueue(ArtifactResponder.error(408, "request timeout", date: worker.date(), close: true))
            flush()
        } else {
            close()
        }
    }

    /// Graceful shutdown: close now if idle, otherwise after the responses already asked for.
    func drain() {
        closingAfterQueue = true
        if pendingCount == 0 && writesInFlight == 0 { close() }
    }

    func close() {
        if lingering {
            lingering = false
            transport.close()
            return
        }
        guard !isClosed else { return }
        isClosed = true
        transport.close()
    }
}

/// Carries a loop-confined closure through a Sendable hop; it is only called back on its loop.
final class LoopBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

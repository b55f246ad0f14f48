import ArtifactStore
import HTTP2
import HTTPCore
import Synchronization
import UVLoop

/// One HTTP/2 client connection on one loop: bytes in → nghttp2 (`HTTP2ServerSession`) → each
/// request, as soon as its header block is complete, becomes the same `RequestHead` an HTTP/1.1
/// request would (the session writes the pseudo-headers as a request line and `Host` while
/// decoding; the same parser reads it) and is planned by the same `ArtifactResponder`; the plan's head is framed as HTTP/2
/// and its body pulled by flow control from the cache entry or the file. 103 Early Hints go out
/// on the request's stream before the final response. Output is produced only while the
/// transport's queue is under the high-water mark, so a slow reader holds no more than that.
/// Loop thread only.
final class HTTP2Connection: EdgeConnection, HTTP2SessionDelegate {
    /// A cleartext connection that starts with these bytes is taken for the HTTP/2 preface (the
    /// session checks the rest).
    static let prefacePrefix: [UInt8] = Array("PRI ".utf8)
    /// Frames gathered into one write.
    static let writeBatchBytes = 64 * 1024

    /// One request being answered.
    private final class Stream {
        let id: Int32
        let startedNs: UInt64
        /// The client sent its own RFC 9218 `priority`.
        let clientPriority: Bool
        var app: String?
        var file: ServedFile?
        var coding: UInt8 = 0
        var status = 0
        /// The request's part of its access-log line (only with an access log).
        var log: AccessLogRequest?

        init(id: Int32, clientPriority: Bool) {
            self.id = id
            self.clientPriority = clientPriority
            self.startedNs = EdgeClock.monotonicNanoseconds()
        }
    }

    let id: Int
    let transport: any ConnectionTransport
    /// Not reference-counted (it is read many times per request): the worker owns its loop's
    /// connections and outlives them, and a connection runs only on that loop.
    unowned(unsafe) let worker: EdgeWorker
    /// The peer's address and its place in the per-address connection count (from the HTTP/1.1
    /// connection this one replaced).
    var client: ClientTicket?
    private let session: HTTP2ServerSession
    private let isSecure: Bool
    private var streams: [Int32: Stream] = [:]
    private(set) var isClosed = false
    /// HTTP/2 has no partly received request the header timeout could apply to: a header block
    /// is either complete or held by nghttp2 (bounded by SETTINGS_MAX_HEADER_LIST_SIZE and the
    /// CONTINUATION limit), so the idle and send timeouts are the ones that apply.
    var requestStartedMs: UInt64? { nil }
    /// The last request, or the last stream ended: control frames (PING, SETTINGS) do not keep a
    /// connection alive.
    private(set) var lastActivityMs: UInt64
    private(set) var lastWriteProgressMs: UInt64
    private var writesInFlight = 0
    /// The session ended (GOAWAY queued): close once it is written.
    private var closingAfterOutput = false
    private var draining = false
    private var flushing = false
    private var flushRequested = false
    /// The session failed (protocol error or abuse): its GOAWAY goes out, then the connection
    /// lingers, reading and dropping what the client still sends, so closing with unread input
    /// does not reset the connection and destroy the GOAWAY before the client reads it.
    private var failedSession = false
    private var lingering = false
    /// Reads each request's synthesized HTTP/1.1 head (one parser for the connection's lifetime).
    private var parser: RequestParser
    /// How long a failed connection lingers at most.
    static let lingerMs = 1_000

    init(id: Int, transport: any ConnectionTransport, worker: EdgeWorker) {
        self.id = id
        self.transport = transport
        self.worker = worker
        self.isSecure = transport is TLSTransport
        self.parser = RequestParser(limits: worker.parserLimits)
        let loop = transport.loop
        self.session = HTTP2ServerSession(settings: worker.configuration.http2.settings, clock: { loop.nowMilliseconds })
        let now = loop.nowMilliseconds
        lastActivityMs = now
        lastWriteProgressMs = now
    }

    var isIdle: Bool { streams.isEmpty && writesInFlight == 0 && transport.writeQueueSize == 0 }

    /// Takes over the transport (reading, close notification) and processes the bytes the
    /// HTTP/1.1 connection had already read.
    func start(firstBytes: UnsafeRawBufferPointer) {
        session.delegate = self
        transport.onClose = { [weak self] in
            guard let self else { return }
            self.isClosed = true
            self.worker.connectionClosed(self)
        }
        transport.startReading(
            onData: { [unowned self] bytes in self.received(bytes) },
            onEnd: { [unowned self] _ in self.readEnded() })
        received(firstBytes)
    }

    // MARK: input

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closingAfterOutput else { return }
        if !session.receive(bytes) { failed() }
        flush()
    }

    private func failed() {
        closingAfterOutput = true
        failedSession = true
        switch session.failure {
        case .abuse(let reason)?:
            worker.metrics.http2AbuseClosures.add(1, ordering: .relaxed)
            worker.log("HTTP/2 connection closed with ENHANCE_YOUR_CALM: \(reason)")
        default:
            worker.metrics.http2ProtocolErrors.add(1, ordering: .relaxed)
        }
    }

    private func readEnded() {
        // The client will send nothing more: finish writing what is queued, then close.
        closingAfterOutput = true
        flush()
    }

    // MARK: requests

    func http2Session(received request: HTTP2Request) { handle(request) }

    func http2Session(closedStream stream: Int32, errorCode: UInt32) { streamClosed(stream) }

    private func handle(_ request: HTTP2Request) {
        lastActivityMs = transport.loop.nowMilliseconds
        let stream = Stream(id: request.streamID, clientPriority: request.hasPriority)
        streams[stream.id] = stream
        let head: RequestHead
        do {
            head = try requestHead(request)
        } catch {
            stream.log = http2LogLine(nil)
            respond(stream, ArtifactResponder.error(error.status, "\(error)", date: worker.date(), close: false))
            return
        }
        if worker.accessLog != nil { stream.log = http2LogLine(head) }
        if let refusal = worker.rateLimited(head, peer: client) {
            respond(stream, refusal)
            return
        }
        if let (hit, entry) = worker.cacheHit(head) {
            stream.app = hit.app
            stream.file = hit.file
            stream.coding = hit.rep.coding.rawValue
            guard let framed = okHead(hit) else {
                session.reset(stream: stream.id, .internalError)
                return
            }
            let date = HTTP2ServerSession.Field(name: HTTP2Connection.dateName[...], value: worker.responseDate().imfFixdate[...])
            send(stream, head: framed, extra: date, body: segments(entry, .whole, multipartHead: nil))
            return
        }
        let planned = worker.plan(head)
        respond(stream, isSecure ? worker.withHSTSApp(planned, for: head) : planned)
    }

    static let dateName: [UInt8] = Array("date".utf8)

    /// The request's access-log part, its version written as HTTP/2.0 (as nginx does).
    private func http2LogLine(_ head: RequestHead?) -> AccessLogRequest? {
        guard var line = worker.accessLogRequest(head, client: client) else { return nil }
        if head != nil { line.version = "HTTP/2.0" }
        return line
    }

    /// A representation's prebuilt 200 head (with HSTS when it applies) as HTTP/2 fields, without
    /// `date`: read once per worker and representation.
    private func okHead(_ hit: ArtifactResponder.CacheHitCandidate) -> HTTP2ResponseHead? {
        let key = hit.rep.cacheKey
        let hsts = isSecure ? worker.hstsField(app: hit.app) : nil
        if hsts == nil, let known = worker.http2OKHeads[key] { return known }
        var pieces: [ArraySlice<UInt8>] = [hit.rep.okHead[...]]
        if let hsts { pieces.append(hsts[...]) }
        guard let head = HTTP2ResponseHead(pieces) else { return nil }
        if hsts == nil {
            if worker.http2OKHeads.count >= EdgeWorker.http2OKHeadsLimit { worker.http2OKHeads.removeAll(keepingCapacity: true) }
            worker.http2OKHeads[key] = head
        }
        return head
    }

    /// The request as the HTTP/1.1 parser reads it from the head the session wrote (`METHOD
    /// :path HTTP/1.1`, `host: :authority`, then the other fields): the same limits and checks.
    private func requestHead(_ request: HTTP2Request) throws(ParseError) -> RequestHead {
        guard request.hasValidRequestLine else { throw ParseError.invalidRequestLine }
        let bytes = request.head
        var index = 0
        let event: RequestEvent?
        do {
            event = try parser.next(in: bytes, at: &index)
        } catch {
            parser = RequestParser(limits: worker.parserLimits)
            throw error
        }
        guard case .head(let head)? = event else {
            parser = RequestParser(limits: worker.parserLimits)
            throw ParseError.invalidRequestLine
        }
        // The head has no body: one more step ends the request and leaves the parser idle.
        if (try? parser.next(in: bytes, at: &index)) == nil || !parser.isIdle {
            parser = RequestParser(limits: worker.parserLimits)
        }
        return head
    }

    private func respond(_ stream: Stream, _ plan: ArtifactResponder.Plan) {
        stream.app = plan.app
        stream.file = plan.file
        if let hints = plan.earlyHints, let interim = HTTP2ResponseHead([hints[...]]) {
            session.sendInformational(stream: stream.id, status: interim.status, fields: interim.fields)
        }
        var head: [ArraySlice<UInt8>] = [plan.head[...]]
        if isSecure, let hsts = worker.hstsField(app: plan.app) { head.append(hsts[...]) }
        if !plan.headTail.isEmpty { head.append(plan.headTail[...]) }
        switch plan.body {
        case .none:
            send(stream, head: head, body: [])
        case .bytes(let bytes):
            send(stream, head: head, body: [.bytes(bytes[...])])
        case .representation(let file, let rep, let slices):
            stream.coding = rep.coding.rawValue
            var multipartHead: [ArraySlice<UInt8>]?
            if case .multipart = slices {
                multipartHead = [plan.fullHead[...]]
                if isSecure, let hsts = worker.hstsField(app: plan.app) { multipartHead?.append(hsts[...]) }
            }
            if let entry = worker.cache.get(rep.cacheKey) {
                send(stream, head: multipartHead ?? head, body: segments(entry, slices, multipartHead: multipartHead))
                return
            }
            worker.loadBody(file, rep) { [weak self, stream] result in
                guard let self, !self.isClosed, self.streams[stream.id] === stream else { return }
                switch result {
                case .success(let entry):
                    self.send(stream, head: multipartHead ?? head, body: self.segments(entry, slices, multipartHead: multipartHead))
                case .failure(let error):
                    self.worker.log("body load failed for \(file.entry.path): \(error)")
                    if let unavailable = error as? BlobUnavailable {
                        // A tier edge's blob the origin could not give: nothing was sent yet, so a whole 502/504.
                        let failed = ArtifactResponder.error(unavailable.status, "origin unavailable", date: self.worker.date(), close: false)
                        if case .bytes(let b) = failed.body { self.send(stream, head: [failed.head[...]], body: [.bytes(b[...])]) }
                    } else {
                        stream.status = 500
                        self.session.reset(stream: stream.id, .internalError)
                    }
                }
                self.flush()
            }
        }
    }

    /// The selected bytes of a loaded representation as body segments (slices and file ranges, not copies).
    private func segments(
        _ entry: ResponseCache.Entry, _ slices: ArtifactResponder.Slices,
        multipartHead: [ArraySlice<UInt8>]?
    ) -> [HTTP2ResponseBody.Segment] {
        func range(_ offset: Int64, _ length: Int64) -> HTTP2ResponseBody.Segment {
            if let file = entry.file { return .file(file, offset: file.offset + offset, length: length) }
            return .bytes(entry.body[Int(offset)..<Int(offset + length)])
        }
        switch slices {
        case .whole:
            return [range(0, entry.file?.length ?? Int64(entry.body.count))]
        case .single(let offset, let length):
            return [range(offset, length)]
        case .multipart(let multipart):
            var out: [HTTP2ResponseBody.Segment] = []
            for (i, span) in multipart.spans.enumerated() {
                out.append(.bytes(multipart.partHead(i)[...]))
                out.append(range(span.first, span.count))
            }
            out.append(.bytes(multipart.closing[...]))
            return out
        }
    }

    /// Frames the head and starts the body of one response.
    private func send(_ stream: Stream, head pieces: [ArraySlice<UInt8>], body segments: [HTTP2ResponseBody.Segment]) {
        guard let head = HTTP2ResponseHead(pieces) else {
            session.reset(stream: stream.id, .internalError)
            return
        }
        send(stream, head: head, extra: nil, body: segments)
    }

    private func send(_ stream: Stream, head: HTTP2ResponseHead, extra: HTTP2ServerSession.Field?, body segments: [HTTP2ResponseBody.Segment]) {
        stream.status = head.status
        if !stream.clientPriority {
            let priority = head.defaultPriority
            session.setPriority(stream: stream.id, urgency: priority.urgency, incremental: priority.incremental)
        }
        var body: HTTP2ResponseBody?
        if !segments.isEmpty {
            let candidate = HTTP2ResponseBody(segments, stream: stream.id, connection: self)
            if !candidate.isEmpty { body = candidate }
        }
        let bytes = segments.reduce(0) { total, segment in
            switch segment {
            case .bytes(let b): return total + b.count
            case .file(_, _, let length): return total + Int(length)
            }
        }
        session.respond(stream: stream.id, status: head.status, fields: head.fields, extra: extra, body: body)
        worker.record(head.status, bytes: bytes, app: stream.app, file: stream.file, coding: stream.coding)
        if let line = stream.log { worker.logResponse(line, status: head.status, bytes: bytes, app: stream.app, startedNs: stream.startedNs) }
    }

    /// A body's thread-pool read finished: its stream has bytes again.
    func bodyReadable(_ stream: Int32) {
        guard !isClosed else { return }
        session.resume(stream: stream)
        flush()
    }

    private func streamClosed(_ id: Int32) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        worker.metrics.http2Streams.add(1, ordering: .relaxed)
        if stream.status != 0 {
            worker.metrics.recordRequestDuration(nanoseconds: EdgeClock.monotonicNanoseconds() &- stream.startedNs)
        }
        // The idle timeout counts from the last answer, not from the request of a long download.
        let now = transport.loop.nowMilliseconds
        lastWriteProgressMs = now
        lastActivityMs = now
    }

    // MARK: output

    /// Writes what the session has to send, in batches, while the transport's queue is under the
    /// high-water mark, and at most `batchesPerTurn` batches per loop turn: a large body on a fast
    /// socket would otherwise be framed whole in one go, holding up the loop's other connections and
    /// this connection's own more urgent streams whose bodies are still loading. The rest continues
    /// on a later turn. Re-entrant calls (a completion that runs inside `write`) only ask for
    /// another pass.
    private func flush() {
        if flushing {
            flushRequested = true
            return
        }
        flushing = true
        var batches = 0
        repeat {
            flushRequested = false
            while !isClosed && transport.writeQueueSize < worker.configuration.writeHighWaterBytes {
                if batches == HTTP2Connection.batchesPerTurn {
                    scheduleContinuation()
                    break
                }
                var output: [UInt8] = []
                session.takeOutput(into: &output, limit: HTTP2Connection.writeBatchBytes)
                if output.isEmpty { break }
                batches += 1
                writesInFlight += 1
                transport.write([WriteBuffer(output)], completion: writeCompleted)
            }
        } while flushRequested && !isClosed && batches < HTTP2Connection.batchesPerTurn
        flushing = false
        afterOutput()
    }

    /// Batches framed per loop turn (4 x 64 KB).
    static let batchesPerTurn = 4
    private var continuationScheduled = false

    private func scheduleContinuation() {
        guard !continuationScheduled else { return }
        continuationScheduled = true
        let bound = LoopBound(self)
        _ = transport.loop.execute {
            let connection = bound.value
            connection.continuationScheduled = false
            if !connection.isClosed { connection.flush() }
        }
    }

    private lazy var writeCompleted: (UVError?) -> Void = { [weak self] error in
        guard let self else { return }
        self.writesInFlight -= 1
        self.lastWriteProgressMs = self.transport.loop.nowMilliseconds
        if error != nil {
            self.close()
            return
        }
        self.flush()
    }

    private func afterOutput() {
        guard !isClosed, !flushing, writesInFlight == 0 else { return }
        let finished = !session.isActive || (draining && streams.isEmpty)
        guard (closingAfterOutput && !session.wantsWrite) || finished else { return }
        // nghttp2 also ends a session itself (a protocol error it handles with its own GOAWAY):
        // then, as after a failure, the client may still be sending.
        if failedSession || (!session.isActive && !draining) {
            // The client may still be sending (a flood): linger, so it reads the GOAWAY.
            isClosed = true
            lingering = true
            transport.lingeringClose(after: HTTP2Connection.lingerMs)
            return
        }
        close()
    }

    // MARK: lifecycle

    /// The header timeout does not apply to HTTP/2 (see `requestStartedMs`); close if asked.
    func timeOutRequest() { close() }

    /// Graceful shutdown: GOAWAY with the last stream taken; those streams finish, then close.
    func drain() {
        guard !isClosed, !draining else { return }
        draining = true
        session.goAway()
        flush()
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

import HTTPCore
import UVLoop

/// One client connection of the admin listener: bytes → HTTPCore's `RequestParser` → one
/// complete request (head + body) at a time → `AdminDispatcher` → one response. Requests are
/// handled strictly one after another (reading pauses while a handler runs), so pipelined
/// requests are answered in order. Loop thread only.
final class AdminConnection {
    /// A request whose head has been parsed and whose body is arriving.
    struct Pending {
        var method: String
        var target: ArraySlice<UInt8>
        var headers: [AdminRequest.Header]
        var authorization: [UInt8]?
        var keepAlive: Bool
        var http10: Bool
        var body: [UInt8] = []
        /// Upload routes: the body arrives in this file instead of `body`.
        var sink: AdminUploadSink?
        var upload: AdminUploadedBody?
    }

    let id: Int
    /// Plain TCP, or TLS when the admin listener uses it (`edge.admin_tls`).
    let tcp: any ConnectionTransport
    unowned let owner: AdminLoopState
    /// The peer's address (for the admin API's own rate limit).
    var client: ClientAddress?
    private var parser: RequestParser
    private var buffer: [UInt8] = []
    private var pending: Pending?
    /// A handler is running for this connection; reading is paused until it answers.
    private(set) var busy = false
    private var closeAfterResponse = false
    /// Inside `process()`: a handler answering synchronously must not re-enter it.
    private var processing = false
    private(set) var isClosed = false
    private(set) var lastActivityMs: UInt64
    /// When the first byte of the request being received arrived; nil between requests.
    private(set) var requestStartedMs: UInt64?

    init(id: Int, tcp: any ConnectionTransport, owner: AdminLoopState) {
        self.id = id
        self.tcp = tcp
        self.owner = owner
        var limits = ParserLimits.default
        // Upload routes stream up to their own limit; the in-memory limit is checked here.
        limits.maxBodyBytes = max(owner.limits.maxBodyBytes, owner.limits.maxUploadBytes)
        limits.maxHeaderBytes = 32 * 1024
        self.parser = RequestParser(limits: limits)
        lastActivityMs = tcp.loop.nowMilliseconds
    }

    func start() {
        try? tcp.setNoDelay(true)
        tcp.onClose = { [weak self] in
            guard let self else { return }
            self.owner.connectionClosed(self)
        }
        startReading()
    }

    private func startReading() {
        tcp.startReading(
            onData: { [unowned self] bytes in self.received(bytes) },
            onEnd: { [unowned self] _ in self.readEnded() })
    }

    var isIdle: Bool { !busy && pending == nil && buffer.isEmpty && parser.isIdle }

    /// The clocks the admin's `ConnectionCore` sweeps (nil once closed): the request timeout runs
    /// while a request is partly received and no handler works on one, the idle timeout while idle,
    /// and the send timeout while a chunk of a streamed response waits for the kernel.
    var timing: ConnectionTiming? {
        guard !isClosed else { return nil }
        return ConnectionTiming(
            handshakeStartedMs: tcp.handshakeStartedMs, requestStartedMs: busy ? nil : requestStartedMs,
            idleSinceMs: isIdle ? lastActivityMs : nil, stalledSinceMs: streamWriteStartedMs)
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed else { return }
        let now = tcp.loop.nowMilliseconds
        lastActivityMs = now
        if requestStartedMs == nil { requestStartedMs = now }
        buffer.append(contentsOf: bytes)
        process()
    }

    private func readEnded() {
        if busy {
            closeAfterResponse = true
        } else {
            close()
        }
    }

    /// Parses buffered bytes until a request is complete (then hands it over) or more are needed.
    private func process() {
        var index = 0
        processing = true
        defer {
            processing = false
            if index >= buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            } else if index > 0 {
                buffer.removeFirst(index)
            }
            // A partly received request is on the clock; an idle connection is not.
            if buffer.isEmpty && parser.isIdle {
                requestStartedMs = nil
            } else if requestStartedMs == nil && !busy {
                requestStartedMs = tcp.loop.nowMilliseconds
            }
        }
        while !busy && !isClosed && !closeAfterResponse {
            let event: RequestEvent?
            do {
                event = try parser.next(in: buffer, at: &index)
            } catch {
                respond(.error(error.status, "bad request: \(error)"), headOnly: false, close: true)
                return
            }
            guard let event else { return }
            switch event {
            case .head(let head):
                var request = AdminConnection.pending(from: head)
                if let refusal = prepareBody(&request, framing: head.body) {
                    respond(refusal, headOnly: false, close: true)
                    return
                }
                pending = request
                if head.expectsContinue, head.body != .none, head.version != .http1_0 {
                    tcp.write([WriteBuffer(AdminConnection.continueHead)], completion: nil)
                }
            case .body(let slice):
                if let sink = pending?.sink {
                    // A streamed upload is timed by its progress, not as a whole.
                    requestStartedMs = tcp.loop.nowMilliseconds
                    do throws(AdminUploadSink.Failure) {
                        try sink.write(slice)
                    } catch {
                        pending = nil
                        respond(AdminConnection.refusal(error), headOnly: false, close: true)
                        return
                    }
                } else {
                    guard (pending?.body.count ?? 0) + slice.count <= owner.limits.maxBodyBytes else {
                        pending = nil
                        respond(.error(413, "request body larger than \(owner.limits.maxBodyBytes) bytes"), headOnly: false, close: true)
                        return
                    }
                    pending?.body.append(contentsOf: slice)
                }
            case .end:
                guard var request = pending else { continue }
                if let sink = request.sink {
                    request.upload = sink.finish()
                    request.sink = nil
                }
                pending = nil
                requestStartedMs = nil
                busy = true
                tcp.stopReading()
                owner.dispatcher.dispatch(request, on: self)
            }
        }
    }

    static let continueHead = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Decides where the body goes: a file for upload routes (which need a bearer credential
    /// before a byte is stored), memory otherwise. Returns the refusal for a body that cannot be
    /// taken (too large by its Content-Length, no credential, no temporary file).
    private func prepareBody(_ request: inout Pending, framing: BodyFraming) -> AdminResponse? {
        let declared: Int? = if case .contentLength(let n) = framing { n } else { nil }
        guard framing != .none,
            let target = owner.dispatcher.uploadTarget(method: request.method, target: request.target)
        else {
            if let declared, declared > owner.limits.maxBodyBytes {
                return .error(413, "request body larger than \(owner.limits.maxBodyBytes) bytes")
            }
            return nil
        }
        if let declared, declared > target.maxBytes {
            return .error(413, "request body larger than \(target.maxBytes) bytes")
        }
        guard request.authorization != nil else {
            var response = AdminResponse.error(401, "a valid bearer token is required")
            response.headers = [.init(name: "WWW-Authenticate", value: #"Bearer realm="wharf-admin""#)]
            return response
        }
        do throws(AdminUploadSink.Failure) {
            request.sink = try AdminUploadSink(target: target)
        } catch {
            return AdminConnection.refusal(error)
        }
        return nil
    }

    private static func refusal(_ failure: AdminUploadSink.Failure) -> AdminResponse {
        switch failure {
        case .tooLarge: .error(413, "upload larger than allowed")
        case .io(let reason): .error(507, "cannot store the upload: \(reason)")
        }
    }

    private static func pending(from head: RequestHead) -> Pending {
        var headers: [AdminRequest.Header] = []
        headers.reserveCapacity(head.fieldCount)
        for field in head.fields {
            headers.append(
                .init(
                    name: String(decoding: field.name, as: UTF8.self),
                    value: String(decoding: field.value, as: UTF8.self)))
        }
        return Pending(
            method: head.method.name, target: ArraySlice(Array(head.target)), headers: headers,
            authorization: head.value(of: .authorization).map(Array.init),
            keepAlive: head.keepAlive, http10: head.version == .http1_0)
    }

    /// Called by the dispatcher (on the loop) with the answer to the request it was given.
    func finish(_ response: AdminResponse, for request: Pending) {
        guard !isClosed else { return }
        if let stream = response.stream, request.method != "HEAD" {
            return startStream(response, stream, http10: request.http10)
        }
        busy = false
        let close = !request.keepAlive || closeAfterResponse || owner.isDraining
        respond(response, headOnly: request.method == "HEAD", close: close, http10KeepAlive: request.http10 && !close)
        guard !isClosed, !close else { return }
        lastActivityMs = tcp.loop.nowMilliseconds
        startReading()
        if !processing && !buffer.isEmpty { process() }
    }

    /// Writes one response; with `close`, closes once it has been handed to the kernel.
    func respond(_ response: AdminResponse, headOnly: Bool, close: Bool, http10KeepAlive: Bool = false) {
        guard !isClosed else { return }
        var b = AdminConnection.head(response, date: owner.date(), framing: .contentLength(Int64(response.body.count)))
        let head = b.end(close: close, http10KeepAlive: http10KeepAlive)
        var buffers = [WriteBuffer(head)]
        if !headOnly && !response.body.isEmpty { buffers.append(WriteBuffer(response.body)) }
        if close {
            closeAfterResponse = true
            tcp.stopReading()
        }
        tcp.write(buffers) { [weak self] error in
            guard let self else { return }
            if close || error != nil { self.close() }
        }
    }

    /// How a head says where its body ends.
    private enum Framing {
        case contentLength(Int64)
        case chunked
        /// HTTP/1.0: the close ends the body.
        case untilClose
    }

    /// The head of every admin answer: the framing, the fields the admin API always sends, then
    /// the handler's own fields (written under HTTPCore's `ResponseFieldLine` rule, as the edge's are).
    private static func head(_ response: AdminResponse, date: [UInt8], framing: Framing) -> ResponseHeadWriter {
        var b = ResponseHeadWriter(status: response.status, date: date, server: "wharf")
        if case .contentLength(let length) = framing { b.contentLength(length) }
        b.header("Content-Type", response.contentType)
        b.header("Cache-Control", "no-store" as StaticString)
        b.header("X-Content-Type-Options", "nosniff" as StaticString)
        if case .chunked = framing { b.header("Transfer-Encoding", "chunked" as StaticString) }
        for header in response.headers { b.header(header.name, header.value) }
        return b
    }

    // MARK: Streamed responses

    /// When the write of the current stream chunk started; nil when none is outstanding.
    private(set) var streamWriteStartedMs: UInt64?

    /// Sends the head, then the stream's chunks one at a time (`Transfer-Encoding: chunked`; for
    /// HTTP/1.0 the close ends the body), then closes. The connection stays busy throughout, so
    /// the request and idle timeouts leave it alone; `AdminLoopState` closes it when a write stalls.
    private func startStream(_ response: AdminResponse, _ stream: any AdminBodyStream, http10: Bool) {
        var b = AdminConnection.head(response, date: owner.date(), framing: http10 ? .untilClose : .chunked)
        closeAfterResponse = true
        tcp.stopReading()
        writeStream(b.end(close: true, http10KeepAlive: false)) { [weak self] in self?.pull(stream, chunked: !http10) }
    }

    private func pull(_ stream: any AdminBodyStream, chunked: Bool) {
        guard !isClosed else { return }
        if owner.isDraining { return close() }
        tcp.loop.runBlocking(
            { try stream.next() },
            completion: { [weak self] result in
                guard let self, !self.isClosed else { return }
                switch result {
                case .success(.bytes(let bytes)) where !bytes.isEmpty:
                    var framed: [UInt8] = []
                    if chunked {
                        framed.reserveCapacity(bytes.count + 12)
                        framed.append(contentsOf: Array(String(bytes.count, radix: 16).utf8) + [13, 10])
                        framed.append(contentsOf: bytes)
                        framed.append(contentsOf: [13, 10])
                    } else {
                        framed = bytes
                    }
                    self.writeStream(framed) { [weak self] in self?.pull(stream, chunked: chunked) }
                case .success(.wait), .success(.bytes):
                    _ = LoopTimer.once(on: self.tcp.loop, after: .milliseconds(250)) { [weak self] in self?.pull(stream, chunked: chunked) }
                case .success(.end), .failure:
                    self.writeStream(chunked ? Array("0\r\n\r\n".utf8) : []) { [weak self] in self?.close() }
                }
            })
    }

    /// Writes one piece; `then` runs once the kernel took it (not on error: the connection closes).
    private func writeStream(_ bytes: [UInt8], then: @escaping () -> Void) {
        guard !isClosed else { return }
        guard !bytes.isEmpty else { return then() }
        streamWriteStartedMs = tcp.loop.nowMilliseconds
        tcp.write([WriteBuffer(bytes)]) { [weak self] error in
            guard let self else { return }
            self.streamWriteStartedMs = nil
            if error != nil { return self.close() }
            then()
        }
    }

    /// Header timeout: a request that has not fully arrived in time gets 408 and a close.
    func timeOut() {
        guard !isClosed, !busy else { return }
        respond(.error(408, "request timeout"), headOnly: false, close: true)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        // An upload cut off midway leaves nothing behind.
        pending?.sink?.discard()
        pending = nil
        tcp.close()
    }
}

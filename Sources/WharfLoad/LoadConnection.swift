import UVLoop

/// A request waiting for, or on, a connection.
struct PendingRequest {
    var template: Int
    /// Intended send time (open loop) or enqueue time (closed loop / discovery), monotonic ns.
    var intended: UInt64
    /// Capture and verify the body.
    var verify: Bool
}

/// A finished response as the run sees it.
struct CompletedResponse {
    var request: PendingRequest
    var head: ResponseHead
    var sentAt: UInt64
    var finishedAt: UInt64
    var bodyBytes: Int
    /// The body, when the request asked for verification.
    var body: [UInt8]?
}

/// One keep-alive client connection: a queue of requests sent one at a time (no pipelining),
/// the response parser, and reconnection after the server closes. Loop thread only.
final class LoadConnection {
    let index: Int
    let loop: EventLoop
    let host: String
    let port: Int
    /// Request bytes of a template.
    let requestBytes: (Int) -> SharedBytes
    /// A template is a HEAD request.
    let isHead: (Int) -> Bool

    var onComplete: (LoadConnection, CompletedResponse) -> Void = { _, _ in }
    /// A request failed (`kind` names why); the connection is being replaced.
    var onFailure: (LoadConnection, PendingRequest?, String) -> Void = { _, _, _ in }
    /// The connection is open and has nothing in flight.
    var onReady: (LoadConnection) -> Void = { _ in }
    var onBytes: (Int) -> Void = { _ in }

    private(set) var tcp: TCPConnection?
    private var connecting = false
    private var queue: [PendingRequest] = []
    private var queueHead = 0
    private(set) var inFlight: PendingRequest?
    private(set) var sentAt: UInt64 = 0
    private var parser = ResponseParser()
    private var head: ResponseHead?
    private var body: [UInt8]?
    private var bodyBytes = 0
    private(set) var interimCount = 0
    private(set) var connectFailures = 0
    var stopped = false
    /// Reconnect whenever the server closes the connection, even with nothing queued (measured connections).
    var keepConnected = false

    init(
        index: Int, loop: EventLoop, host: String, port: Int,
        requestBytes: @escaping (Int) -> SharedBytes, isHead: @escaping (Int) -> Bool
    ) {
        self.index = index
        self.loop = loop
        self.host = host
        self.port = port
        self.requestBytes = requestBytes
        self.isHead = isHead
    }

    var isOpen: Bool { tcp != nil }
    var isIdle: Bool { tcp != nil && inFlight == nil }
    var queuedCount: Int { queue.count - queueHead }

    func connect() {
        guard !stopped, tcp == nil, !connecting else { return }
        connecting = true
        TCPConnection.connect(on: loop, host: host, port: port) { [weak self] result in
            guard let self else {
                if case .success(let c) = result { c.close() }
                return
            }
            self.connecting = false
            switch result {
            case .failure(let error):
                self.connectFailures += 1
                self.onFailure(self, nil, "connect-\(error)")
                // Retry later while requests wait; every run is bounded, so this is too.
                if !self.stopped && self.queuedCount > 0 {
                    LoopTimer.once(on: self.loop, after: .milliseconds(50)) { [weak self] in self?.connect() }
                }
            case .success(let connection):
                if self.stopped {
                    connection.close()
                    return
                }
                self.tcp = connection
                try? connection.setNoDelay(true)
                self.parser.reset()
                connection.startReading(
                    onData: { [weak self] bytes in self?.received(bytes) },
                    onEnd: { [weak self] error in self?.ended(error) })
                self.sendNext()
                if self.inFlight == nil { self.onReady(self) }
            }
        }
    }

    func enqueue(_ request: PendingRequest) {
        queue.append(request)
        if tcp == nil { connect() } else { sendNext() }
    }

    /// Removes and returns every request not yet sent (and the one in flight) — for the run's end.
    func drainUnfinished() -> [PendingRequest] {
        var all = Array(queue[queueHead...])
        if let inFlight { all.insert(inFlight, at: 0) }
        queue.removeAll()
        queueHead = 0
        inFlight = nil
        return all
    }

    private func sendNext() {
        guard let tcp, inFlight == nil, queueHead < queue.count else { return }
        let request = queue[queueHead]
        queueHead += 1
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        inFlight = request
        sentAt = MonotonicClock.now()
        head = nil
        bodyBytes = 0
        body = request.verify ? [] : nil
        parser.requestIsHead = isHead(request.template)
        tcp.write(WriteBuffer(requestBytes(request.template)))
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        onBytes(bytes.count)
        var offset = 0
        // Generation check: a callback below may replace the connection; leftover bytes of the old one are dropped.
        let connection = tcp
        while offset < bytes.count, tcp != nil, tcp === connection {
            responseEnded = false
            do {
                offset += try parser.feed(UnsafeRawBufferPointer(rebasing: bytes[offset...])) { event in handle(event) }
            } catch {
                fail(error.kind)
                return
            }
            if responseEnded { finishResponse() }
        }
    }

    private var responseEnded = false

    /// Parser events; must not touch `parser` (it is being mutated).
    private func handle(_ event: ResponseEvent) {
        switch event {
        case .interim:
            interimCount += 1
        case .head(let h):
            head = h
        case .body(let chunk):
            bodyBytes += chunk.count
            if body != nil { body!.append(contentsOf: chunk) }
        case .end:
            responseEnded = true
        }
    }

    private func finishResponse() {
        guard let request = inFlight, let head else {
            // A response nobody asked for.
            fail("unsolicited-response")
            return
        }
        let done = CompletedResponse(
            request: request, head: head, sentAt: sentAt, finishedAt: MonotonicClock.now(),
            bodyBytes: bodyBytes, body: body)
        inFlight = nil
        self.head = nil
        body = nil
        if head.connectionClose {
            replaceConnection()
        }
        onComplete(self, done)
        if tcp == nil && !stopped && (keepConnected || queuedCount > 0) { connect() }
        if tcp != nil {
            sendNext()
            if inFlight == nil { onReady(self) }
        }
    }

    private func ended(_ error: UVError) {
        if inFlight != nil {
            do {
                responseEnded = false
                if try parser.finish({ event in handle(event) }) {
                    head?.connectionClose = true
                    finishResponse()
                    return
                }
                fail(error == .eof ? "closed-before-response" : "read-\(error)")
            } catch {
                fail(error.kind)
            }
        } else {
            // Closed while idle (keep-alive timeout, or after Connection: close): reconnect quietly.
            replaceConnection()
            if !stopped && (keepConnected || queuedCount > 0) { connect() }
        }
    }

    /// Fails the request in flight (if any) with `kind` and replaces the connection.
    func fail(_ kind: String) {
        let request = inFlight
        inFlight = nil
        head = nil
        body = nil
        replaceConnection()
        onFailure(self, request, kind)
        if !stopped && queuedCount > 0 { connect() }
    }

    private func replaceConnection() {
        tcp?.close()
        tcp = nil
        parser.reset()
    }

    func close() {
        stopped = true
        tcp?.close()
        tcp = nil
    }
}

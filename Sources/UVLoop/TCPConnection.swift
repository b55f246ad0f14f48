internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP connection on one loop: reads, ordered writes, file ranges, shutdown, close.
///
/// All methods must be called on the loop thread. The connection is owned by its loop from
/// creation until its close callback: dropping every reference does not leak or close it; call
/// `close()` (or stop the loop).
public final class TCPConnection: LoopHandleOwner, @unchecked Sendable {
    public let loop: EventLoop
    let tcp: UnsafeMutablePointer<uv_tcp_t>
    var stream: UnsafeMutablePointer<uv_stream_t> { UV.stream(tcp) }

    private var onData: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((UVError) -> Void)?
    /// Called once, from the close callback, after the handle memory is freed.
    public var onClose: (() -> Void)?

    /// True once `close()` was called.
    public private(set) var isClosed = false
    /// `close()` was called while a sendfile request was on the thread pool; the socket closes
    /// when it returns (closing earlier could let that request write to a reused descriptor).
    var closeDeferredForSendfile = false

    // Write state (see TCPConnection+Write.swift and TCPConnection+SendFile.swift).
    var writeRequestsInFlight = 0
    var deferredOperations: [DeferredOperation] = []
    var deferredBytes = 0
    var sendFileInFlight: SendFileJob?
    /// Bytes handed to the kernel by `uv_try_write` without queueing.
    public internal(set) var bytesWrittenImmediately = 0
    /// Chunks a file range sent by read-and-write because the socket was full (sendfile EAGAIN).
    var sendFileChunksCopied = 0
    /// Turns of sendfile(2) on the loop thread (a range's first turn, and each after a wait).
    var sendFileInlineCalls = 0
    /// Steps a file range sent from the thread pool because its pages were not in the page cache.
    var sendFileStepsOnThreadPool = 0
    /// Times a file range waited for the socket to drain (or gave the loop's other connections a turn).
    var sendFileWritableWaits = 0
    /// Bytes that had to be queued with `uv_write` (the socket buffer was full or writes were queued).
    public internal(set) var bytesQueued = 0

    init(loop: EventLoop) {
        self.loop = loop
        tcp = HandleMemory.allocate(uv_tcp_t.self, zeroed: uv_tcp_t(), on: loop)
        uv_tcp_init(loop.uvLoop, tcp)
        tcp.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(UnsafeMutableRawPointer(tcp), owner: self)
    }

    /// Connects to `host:port` (numeric, or `localhost`) and delivers the open connection, or the
    /// error (`.econnrefused`, …) on the loop thread.
    public static func connect(
        on loop: EventLoop, host: String, port: Int,
        completion: @escaping (Result<TCPConnection, UVError>) -> Void
    ) {
        loop.assertInLoopThread()
        let address: sockaddr_storage
        do { address = try SocketAddress.socketAddressStorage(host: host, port: port) } catch {
            completion(.failure(error))
            return
        }
        let connection = TCPConnection(loop: loop)
        let request = ConnectRequest(connection: connection, completion: completion)
        let req = HandleMemory.allocate(uv_connect_t.self, zeroed: uv_connect_t(), on: loop)
        req.pointee.data = Unmanaged.passRetained(request).toOpaque()
        var storage = address
        let status = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                uv_tcp_connect(req, connection.tcp, $0, connectCallback)
            }
        }
        if status < 0 {
            Unmanaged<ConnectRequest>.fromOpaque(req.pointee.data).release()
            HandleMemory.free(req, on: loop)
            connection.close()
            completion(.failure(UVError(rawValue: status)))
        }
    }

    // MARK: Reading

    /// Starts delivering received bytes.
    ///
    /// `onData` gets a view of the loop's shared read buffer, valid only during the call: parse
    /// it or copy what must outlive the call. `onEnd` gets `.eof` when the peer finished sending,
    /// or the read error (`.econnreset`, …); reading has stopped then, the connection is still open.
    /// Called while already reading, it only replaces the callbacks (a protocol switch hands the
    /// socket to a new reader without a gap).
    public func startReading(onData: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (UVError) -> Void) {
        loop.assertInLoopThread()
        guard !isClosed else { return }
        self.onData = onData
        self.onEnd = onEnd
        if isReading { return }
        isReading = true
        let status = uv_read_start(stream, connectionAllocCallback, connectionReadCallback)
        if status < 0 { readEnded(UVError(rawValue: status)) }
    }

    private var isReading = false

    /// Stops delivering bytes (backpressure); `startReading` resumes.
    public func stopReading() {
        loop.assertInLoopThread()
        guard !isClosed else { return }
        isReading = false
        uv_read_stop(stream)
    }

    fileprivate func deliver(_ bytes: UnsafeRawBufferPointer) {
        onData?(bytes)
    }

    fileprivate func readEnded(_ error: UVError) {
        isReading = false
        uv_read_stop(stream)
        let onEnd = self.onEnd
        self.onData = nil
        self.onEnd = nil
        onEnd?(error)
    }

    // MARK: Options and addresses

    /// Disables (or re-enables) Nagle's algorithm.
    public func setNoDelay(_ enabled: Bool = true) throws(UVError) {
        try UV.check(uv_tcp_nodelay(tcp, enabled ? 1 : 0))
    }

    /// TCP keep-alive probes after `idleSeconds` of silence (nil disables).
    public func setKeepAlive(idleSeconds: UInt32?) throws(UVError) {
        try UV.check(uv_tcp_keepalive(tcp, idleSeconds == nil ? 0 : 1, idleSeconds ?? 0))
    }

    public var remoteAddress: SocketAddress? { SocketAddress.read(tcp, uv_tcp_getpeername) }
    public var localAddress: SocketAddress? { SocketAddress.read(tcp, uv_tcp_getsockname) }

    // MARK: Closing

    /// Closes the connection; idempotent. Queued writes complete with `.ecanceled`; `onClose`
    /// runs from the close callback.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        onData = nil
        onEnd = nil
        if sendFileInFlight?.requestOnThreadPool == true {
            uv_read_stop(stream)
            closeDeferredForSendfile = true
            return
        }
        closeNow()
    }

    func closeNow() {
        closeDeferredForSendfile = false
        if let job = sendFileInFlight, job.writableWatch?.isArmed == true {
            // Waiting for the socket to drain: nothing else will resume it.
            finishSendFile(job, .ecanceled)
        }
        cancelDeferredOperations()
        uv_close(UV.handle(tcp), handleClosedCallback)
    }

    func handleDidClose(_ handle: UnsafeMutableRawPointer) {
        HandleMemory.free(tcp, on: loop)
        let onClose = self.onClose
        self.onClose = nil
        onClose?()
    }
}

private final class ConnectRequest {
    let connection: TCPConnection
    let completion: (Result<TCPConnection, UVError>) -> Void
    init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        self.connection = connection
        self.completion = completion
    }
}

private func connectCallback(_ req: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    guard let req else { return }
    let request = Unmanaged<ConnectRequest>.fromOpaque(req.pointee.data).takeRetainedValue()
    let connection = request.connection
    HandleMemory.free(req, on: connection.loop)
    if status < 0 {
        connection.close()
        request.completion(.failure(UVError(rawValue: status)))
    } else if connection.isClosed {
        request.completion(.failure(.ecanceled))
    } else {
        request.completion(.success(connection))
    }
    connection.loop.closeLateHandles()
}

private func connectionAllocCallback(
    _ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggestedSize: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?
) {
    guard let handle, let buffer else { return }
    // Every connection of the loop shares one buffer: libuv calls alloc and read back to back.
    let readBuffer = EventLoop.unretained(handle.pointee.loop).readBuffer
    buffer.pointee = UV.buffer(readBuffer.baseAddress!, readBuffer.count)
}

private func connectionReadCallback(
    _ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?
) {
    guard let stream, let data = stream.pointee.data else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(data).takeUnretainedValue()
    if count > 0, let base = buffer?.pointee.base {
        connection.deliver(UnsafeRawBufferPointer(start: base, count: count))
    } else if count < 0 {
        connection.readEnded(UVError(rawValue: Int32(count)))
    }
}

internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// A listening TCP socket on one loop, delivering each accepted connection to `onAccept`.
///
/// libuv 1.44 has no `UV_TCP_REUSEPORT`, so the socket is made here (`socket`, `SO_REUSEADDR`,
/// `SO_REUSEPORT`, `bind`) and handed to libuv with `uv_tcp_open`; with `reusePort` several loops
/// can each listen on the same port and the kernel spreads connections over them. Loop thread only.
public final class TCPListener: LoopHandleOwner, @unchecked Sendable {
    public let loop: EventLoop
    /// The bound address; its port is the real one when port 0 was asked for.
    public private(set) var localAddress: SocketAddress
    private let tcp: UnsafeMutablePointer<uv_tcp_t>
    private let onAccept: (TCPConnection) -> Void
    private let onError: ((UVError) -> Void)?
    public private(set) var isClosed = false

    /// Binds `host:port` (numeric IPv4/IPv6 or `localhost`) and starts accepting.
    ///
    /// - Parameters:
    ///   - port: 0 for an ephemeral port (read it back from `localAddress`).
    ///   - backlog: the `listen(2)` backlog.
    ///   - reusePort: set `SO_REUSEPORT` so other sockets (other loops) can bind the same port.
    ///   - onAccept: receives each new connection, open and not yet reading; the connection stays
    ///     alive (owned by the loop) until it is closed.
    ///   - onError: accept errors (e.g. `.emfile`); the listener keeps listening.
    /// - Throws: `.eaddrinuse`, `.eaddrnotavail`, `.einval` (bad host or port), …
    public static func listen(
        on loop: EventLoop, host: String, port: Int, backlog: Int32 = 1024, reusePort: Bool = true,
        onError: ((UVError) -> Void)? = nil,
        onAccept: @escaping (TCPConnection) -> Void
    ) throws(UVError) -> TCPListener {
        loop.assertInLoopThread()
        var address = try SocketAddress.socketAddressStorage(host: host, port: port)
        let fd = try makeBoundSocket(&address, reusePort: reusePort)
        let listener = TCPListener(loop: loop, requested: SocketAddress(host: host, port: port), onError: onError, onAccept: onAccept)
        let openStatus = uv_tcp_open(listener.tcp, fd)
        if openStatus < 0 {
            Glibc.close(fd)
            listener.close()
            throw UVError(rawValue: openStatus)
        }
        let listenStatus = uv_listen(UV.stream(listener.tcp), backlog, listenerConnectionCallback)
        if listenStatus < 0 {
            listener.close()
            throw UVError(rawValue: listenStatus)
        }
        if let bound = SocketAddress.read(listener.tcp, uv_tcp_getsockname) { listener.localAddress = bound }
        return listener
    }

    private init(loop: EventLoop, requested: SocketAddress, onError: ((UVError) -> Void)?, onAccept: @escaping (TCPConnection) -> Void) {
        self.loop = loop
        self.localAddress = requested
        self.onAccept = onAccept
        self.onError = onError
        tcp = HandleMemory.allocate(uv_tcp_t.self, zeroed: uv_tcp_t(), on: loop)
        uv_tcp_init(loop.uvLoop, tcp)
        tcp.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(UnsafeMutableRawPointer(tcp), owner: self)
    }

    private static func makeBoundSocket(_ address: inout sockaddr_storage, reusePort: Bool) throws(UVError) -> Int32 {
        let family = Int32(address.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw UVError(errno: errno) }
        var one: Int32 = 1
        let optionLength = socklen_t(MemoryLayout<Int32>.size)
        var failed = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, optionLength) != 0
        if !failed && reusePort {
            failed = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, optionLength) != 0
        }
        if !failed {
            let length = socklen_t(family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
            failed = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) != 0 }
            }
        }
        if failed {
            let error = UVError(errno: errno)
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// Stops listening and closes the socket; idempotent. Accepted connections stay open.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_close(UV.handle(tcp), handleClosedCallback)
    }

    func handleDidClose(_ handle: UnsafeMutableRawPointer) {
        HandleMemory.free(tcp, on: loop)
    }

    fileprivate func acceptOne(status: Int32) {
        if status < 0 {
            onError?(UVError(rawValue: status))
            return
        }
        let connection = TCPConnection(loop: loop)
        let acceptStatus = uv_accept(UV.stream(tcp), UV.stream(connection.tcp))
        if acceptStatus < 0 {
            connection.close()
            onError?(UVError(rawValue: acceptStatus))
            return
        }
        onAccept(connection)
    }
}

private func listenerConnectionCallback(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let data = server?.pointee.data else { return }
    Unmanaged<TCPListener>.fromOpaque(data).takeUnretainedValue().acceptOne(status: status)
}

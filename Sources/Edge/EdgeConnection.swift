/// What a worker needs from a client connection, whichever protocol it speaks (HTTP/1.1 in
/// `HTTPConnection`, HTTP/2 in `HTTP2Connection`): its identity and transport, the times its
/// timeouts are measured from, and the three ways to end it. Loop thread only.
protocol EdgeConnection: AnyObject {
    var id: Int { get }
    var transport: any ConnectionTransport { get }
    var isClosed: Bool { get }
    /// The peer's address and its place in the per-address connection count.
    var client: ClientTicket? { get }
    /// When the request being received began (header timeout); nil when none is partly received.
    var requestStartedMs: UInt64? { get }
    /// When the client last gave the connection something to do (idle timeout).
    var lastActivityMs: UInt64 { get }
    /// When output last made progress while some was pending (send timeout).
    var lastWriteProgressMs: UInt64 { get }
    /// Nothing being answered and nothing left to send.
    var isIdle: Bool { get }
    /// The header timeout fired.
    func timeOutRequest()
    /// Graceful shutdown: finish what was asked, then close.
    func drain()
    func close()
}

extension EdgeConnection {
    /// The clocks the worker's `ConnectionCore` sweeps (nil once closed): the header timeout runs
    /// while a request is partly received, the idle timeout while idle, the send timeout while busy
    /// with neither output nor input moving.
    var timing: ConnectionTiming? {
        guard !isClosed else { return nil }
        let idle = isIdle
        let request = requestStartedMs
        return ConnectionTiming(
            handshakeStartedMs: transport.handshakeStartedMs, requestStartedMs: request,
            idleSinceMs: idle ? lastActivityMs : nil,
            stalledSinceMs: !idle && request == nil ? max(lastWriteProgressMs, lastActivityMs) : nil)
    }
}

extension HTTPConnection: EdgeConnection {}

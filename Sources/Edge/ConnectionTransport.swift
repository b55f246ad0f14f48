import TLS
import UVLoop

/// The byte stream under an HTTP/1.1 connection: plain TCP (`TCPConnection` itself) or TLS over
/// TCP (`TLSTransport`). `HTTPConnection` reads and writes through it and never learns which one
/// it has; the contract is `TCPConnection`'s (ordered writes, completions that may run before the
/// call returns, `onClose` once after the socket is gone). Loop thread only.
protocol ConnectionTransport: AnyObject {
    var loop: EventLoop { get }
    var onClose: (() -> Void)? { get set }
    /// Bytes accepted and not yet handed to the kernel (backpressure).
    var writeQueueSize: Int { get }
    /// When a TLS handshake began that has not finished (the handshake timeout); nil otherwise.
    var handshakeStartedMs: UInt64? { get }
    func setNoDelay(_ enabled: Bool) throws(UVError)
    func startReading(onData: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (UVError) -> Void)
    func stopReading()
    func write(_ buffers: [WriteBuffer], completion: ((UVError?) -> Void)?)
    func sendFile(after head: [WriteBuffer], descriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?)
    func sendFile(descriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?)
    func close()
    /// Closes without losing the last response (a lingering close, as nginx does): what is queued
    /// is sent, then the write side is shut (the client sees the end at once), and what the client
    /// still sends is read and dropped until it closes or `milliseconds` pass. Closing with unread
    /// input would make the kernel reset the connection, and a reset can destroy the response (a
    /// 400, a GOAWAY) before the client has read it.
    func lingeringClose(after milliseconds: Int)
}

extension TCPConnection: ConnectionTransport {
    var handshakeStartedMs: UInt64? { nil }

    func lingeringClose(after milliseconds: Int) {
        guard !isClosed else { return }
        startReading(onData: { _ in }, onEnd: { [unowned self] _ in self.close() })
        shutdown(completion: nil)
        LoopTimer.once(on: loop, after: .milliseconds(milliseconds)) { [weak self] in self?.close() }
    }
}

extension TCPConnection {
    /// The transport for a just-accepted socket, as both listeners build it: TLS with a fresh
    /// session of `context` (`onFailure` hears of a failed handshake or record), or the socket
    /// itself when `context` is nil.
    func transport(tls context: TLSServerContext?, onFailure: @escaping (TLSError) -> Void) -> any ConnectionTransport {
        guard let context else { return self }
        return TLSTransport(tcp: self, session: context.makeSession(), onFailure: onFailure)
    }
}

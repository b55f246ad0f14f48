internal import CLibUV

/// Watches one POSIX signal (SIGINT, SIGTERM, SIGHUP, …) on a loop (`uv_signal_t`): the handler
/// runs on the loop thread, not in signal context. While it is open the signal's default action
/// (e.g. termination) is replaced; `close()` restores it. Loop thread only.
public final class SignalWatcher: LoopHandleOwner, @unchecked Sendable {
    public let loop: EventLoop
    public let signal: Int32
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private var handler: ((Int32) -> Void)?
    public private(set) var isClosed = false

    /// Starts watching `signal`; fails with `.einval` for a signal that cannot be caught.
    public init(loop: EventLoop, signal: Int32, handler: @escaping (Int32) -> Void) throws(UVError) {
        loop.assertInLoopThread()
        self.loop = loop
        self.signal = signal
        self.handler = handler
        handle = HandleMemory.allocate(uv_signal_t.self, zeroed: uv_signal_t(), on: loop)
        uv_signal_init(loop.uvLoop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(UnsafeMutableRawPointer(handle), owner: self)
        let status = uv_signal_start(handle, signalWatcherCallback, signal)
        if status < 0 {
            close()
            throw UVError(rawValue: status)
        }
    }

    /// Stops watching and releases the handle; idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        handler = nil
        uv_close(UV.handle(handle), handleClosedCallback)
    }

    func handleDidClose(_ handle: UnsafeMutableRawPointer) {
        HandleMemory.free(self.handle, on: loop)
    }

    fileprivate func received(_ signal: Int32) { handler?(signal) }
}

private func signalWatcherCallback(_ handle: UnsafeMutablePointer<uv_signal_t>?, _ signal: Int32) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue().received(signal)
}

internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Tells when a connected socket can take more bytes, for a file range that sends with
/// sendfile(2) from the loop thread (`TCPConnection.sendFile`).
///
/// libuv has no "tell me when this stream is writable" for a `uv_tcp_t`, and a second poll handle
/// on the same descriptor would collide with the stream's own watcher. The watch polls a `dup` of
/// the socket instead: the same open socket under another descriptor number, which epoll keys
/// separately. It stays armed (level-triggered) while a range is going out, so a full socket costs
/// no system call per wait beyond the `epoll_wait` the loop makes anyway; `close()` removes it from
/// epoll (`uv_poll_stop`) before the duplicate descriptor is closed.
final class SocketWritableWatch: LoopHandleOwner {
    let loop: EventLoop
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private let descriptor: Int32
    /// Called on the loop thread each time the socket is writable while armed: 0, or a libuv
    /// error (the socket failed).
    private var onWritable: ((Int32) -> Void)?
    private(set) var isArmed = false
    private var isClosed = false

    /// A watch on `socket`, or nil when no descriptor is left for the duplicate (EMFILE) or libuv
    /// refuses it.
    init?(loop: EventLoop, socket: Int32, onWritable: @escaping (Int32) -> Void) {
        let duplicate = Glibc.fcntl(socket, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { return nil }
        let poll = HandleMemory.allocate(uv_poll_t.self, zeroed: uv_poll_t(), on: loop)
        guard uv_poll_init_socket(loop.uvLoop, poll, duplicate) == 0 else {
            HandleMemory.free(poll, on: loop)
            Glibc.close(duplicate)
            return nil
        }
        self.loop = loop
        self.poll = poll
        self.descriptor = duplicate
        self.onWritable = onWritable
        poll.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(UnsafeMutableRawPointer(poll), owner: self)
    }

    /// Starts (or keeps) watching; the callback runs at the loop's next poll that finds room.
    func arm() {
        guard !isClosed, !isArmed else { return }
        isArmed = uv_poll_start(poll, Int32(UV_WRITABLE.rawValue), socketWritableCallback) == 0
        if !isArmed { onWritable?(UV_EBADF.rawValue) }
    }

    /// Stops watching until the next `arm()` (while a step runs on the thread pool, a writable
    /// socket must not wake the loop again and again).
    func disarm() {
        guard !isClosed, isArmed else { return }
        isArmed = false
        uv_poll_stop(poll)
    }

    /// Stops watching and releases the duplicate descriptor; idempotent. The callback does not
    /// run after this.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        isArmed = false
        onWritable = nil
        uv_close(UV.handle(poll), handleClosedCallback)
    }

    func handleDidClose(_ handle: UnsafeMutableRawPointer) {
        // uv_close stopped the poll, which took the descriptor out of epoll: closing it is safe.
        Glibc.close(descriptor)
        HandleMemory.free(poll, on: loop)
    }

    fileprivate func fire(_ status: Int32) {
        // On an error libuv has stopped the poll itself.
        if status < 0 { isArmed = false }
        onWritable?(status)
    }
}

private func socketWritableCallback(_ poll: UnsafeMutablePointer<uv_poll_t>?, _ status: Int32, _ events: Int32) {
    guard let data = poll?.pointee.data else { return }
    let watch = Unmanaged<SocketWritableWatch>.fromOpaque(data).takeUnretainedValue()
    watch.fire(status)
    watch.loop.closeLateHandles()
}

internal import CLibUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An `EventLoop` running on its own POSIX thread, started at init and joined by
/// `stopAndJoin()`.
public final class LoopThread: Sendable {
    public let loop: EventLoop
    private let thread: Mutex<pthread_t?>
    private let outcome: LoopThreadOutcome

    /// Creates the loop and starts its thread; `name` shows up in debuggers and `top -H`
    /// (at most 15 bytes are kept).
    public init(name: String = "wharf-loop") throws(UVError) {
        loop = try EventLoop()
        outcome = LoopThreadOutcome(loop: loop, name: name)
        var handle = pthread_t()
        let context = Unmanaged.passRetained(outcome).toOpaque()
        let status = pthread_create(&handle, nil, loopThreadMain, context)
        if status != 0 {
            Unmanaged<LoopThreadOutcome>.fromOpaque(context).release()
            throw UVError(errno: status)
        }
        thread = Mutex(handle)
    }

    /// Stops the loop (closing all its handles), waits for the thread to end and reports how
    /// the loop closed; idempotent.
    ///
    /// - Throws: `.ebusy` when the loop could not close cleanly (see `EventLoop.run()`).
    public func stopAndJoin() throws(UVError) {
        loop.stop()
        let handle = thread.withLock { thread -> pthread_t? in
            defer { thread = nil }
            return thread
        }
        if let handle { pthread_join(handle, nil) }
        if let error = outcome.error.withLock({ $0 }) { throw error }
    }

    deinit {
        // Never leave a thread running a loop nobody can reach.
        try? stopAndJoin()
    }
}

/// What the thread needs and reports: the loop to run, its name, and how `run()` ended.
private final class LoopThreadOutcome: Sendable {
    let loop: EventLoop
    let name: String
    let error = Mutex<UVError?>(nil)

    init(loop: EventLoop, name: String) {
        self.loop = loop
        self.name = name
    }
}

private func loopThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    let outcome = Unmanaged<LoopThreadOutcome>.fromOpaque(context).takeRetainedValue()
    _ = wharf_set_thread_name(String(outcome.name.utf8.prefix(15)) ?? "wharf-loop")
    do {
        try outcome.loop.run()
    } catch {
        outcome.error.withLock { $0 = error }
    }
    return nil
}

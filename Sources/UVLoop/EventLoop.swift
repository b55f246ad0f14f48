internal import CLibUV
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One libuv event loop, driven by exactly one thread.
///
/// Create it anywhere, call `run()` on the thread that will own it (it blocks until `stop()`),
/// and hand work to it from any thread with `execute(_:)`. Every handle type of this module
/// (`TCPListener`, `TCPConnection`, `LoopTimer`, `ChildProcess`, `SignalWatcher`) belongs to one
/// loop and must be created and used on that loop's thread: from a callback of the loop or from
/// a closure passed to `execute`.
///
/// `stop()` closes every handle the loop still owns, lets their close callbacks run, and then
/// `run()` closes the libuv loop; `run()` throws `.ebusy` if a handle or request was left over,
/// and `liveHandleCount` shows how many handles and requests are still allocated (0 after a
/// clean stop). Creating the first loop sets SIGPIPE to ignored for the process.
public final class EventLoop: @unchecked Sendable {
    /// Size of the per-loop read buffer shared by all connections of the loop.
    public static let readBufferSize = 64 * 1024

    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let inbox = Mutex(Inbox())
    private let ownerThread = Atomic<UInt>(0)
    private let phase = Atomic<Int>(Phase.created)
    /// Handles and requests of this loop allocated and not yet freed (includes the wake-up handle).
    let liveAllocations = Atomic<Int>(0)
    /// `uv_loop_close` succeeded, so the loop memory can be freed.
    private var loopClosed = false
    /// Set once `stop()` began closing handles (loop thread only).
    private var shuttingDown = false
    /// Handles registered after shutdown began, closed by `closeLateHandles()`.
    private var lateHandles: [any LoopHandleOwner] = []
    /// Open handles and their owners (loop thread only).
    private var openHandles: [UnsafeMutableRawPointer: any LoopHandleOwner] = [:]
    /// The read buffer every connection of this loop reads into (see `TCPConnection.startReading`).
    let readBuffer: UnsafeMutableRawBufferPointer

    private enum Phase {
        static let created = 0, running = 1, finished = 2
    }

    private struct Inbox {
        var work: [@Sendable () -> Void] = []
        var stopRequested = false
        var closed = false
    }

    /// A peer that resets a connection must not kill the process with SIGPIPE during a write
    /// or sendfile: ignore it process-wide once (as nginx and Node do); writes get EPIPE instead.
    private static let sigpipeIgnored: Bool = {
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        return true
    }()

    public init() throws(UVError) {
        _ = Self.sigpipeIgnored
        let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        loop.initialize(to: uv_loop_t())
        let status = uv_loop_init(loop)
        if status < 0 {
            loop.deallocate()
            throw UVError(rawValue: status)
        }
        uvLoop = loop
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        wakeup = .allocate(capacity: 1)
        wakeup.initialize(to: uv_async_t())
        // Counted like every other handle; freed in its close callback.
        HandleMemory.liveCount.add(1, ordering: .relaxed)
        liveAllocations.add(1, ordering: .relaxed)
        uvLoop.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        _ = uv_async_init(uvLoop, wakeup, loopWakeupCallback)
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        if phase.load(ordering: .acquiring) == Phase.created {
            // Never ran: close the wake-up handle and the loop here.
            uv_close(UV.handle(wakeup), loopWakeupClosedCallback)
            uv_run(uvLoop, UV_RUN_DEFAULT)
            loopClosed = uv_loop_close(uvLoop) == 0
        }
        // A loop that failed to close still has handles pointing into it: leak it rather than
        // free memory libuv may touch.
        if loopClosed { uvLoop.deallocate() }
        readBuffer.deallocate()
    }

    static func unretained(_ loop: UnsafeMutablePointer<uv_loop_t>) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop.pointee.data).takeUnretainedValue()
    }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()` has closed every handle, then closes
    /// the libuv loop. Call it once.
    ///
    /// - Throws: `.ebusy` when a handle or request was still open after the stop
    ///   (a UVLoop bug or a handle created after shutdown began).
    public func run() throws(UVError) {
        guard phase.compareExchange(expected: Phase.created, desired: Phase.running, ordering: .acquiringAndReleasing).exchanged
        else { preconditionFailure("EventLoop.run() called twice") }
        ownerThread.store(UInt(pthread_self()), ordering: .releasing)
        defer {
            ownerThread.store(0, ordering: .releasing)
            phase.store(Phase.finished, ordering: .releasing)
        }
        uv_run(uvLoop, UV_RUN_DEFAULT)
        let status = uv_loop_close(uvLoop)
        if status < 0 { throw UVError(rawValue: status) }
        loopClosed = true
    }

    /// True on the thread currently inside `run()`.
    public var isInLoopThread: Bool {
        ownerThread.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// Handles and requests of this loop that are allocated and not yet freed. 0 after `run()`
    /// returned normally.
    public var liveHandleCount: Int { liveAllocations.load(ordering: .acquiring) }

    /// Handles and requests allocated by every loop of the process and not yet freed.
    public static var liveHandleCount: Int { HandleMemory.liveCount.load(ordering: .acquiring) }

    /// The loop's cached clock in milliseconds (libuv `uv_now`); loop thread only.
    public var nowMilliseconds: UInt64 { uv_now(uvLoop) }

    // MARK: Cross-thread work

    /// Queues `work` to run on the loop thread; callable from any thread, in order per caller.
    ///
    /// - Returns: false (and drops `work`) when the loop has already shut down.
    @discardableResult
    public func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        let wakeup = self.wakeup
        return inbox.withLock { inbox in
            if inbox.closed { return false }
            inbox.work.append(work)
            // One wake-up per batch: the loop takes the whole batch at once.
            if inbox.work.count == 1 { uv_async_send(wakeup) }
            return true
        }
    }

    /// Runs `body` on the loop thread and waits for its result. On the loop thread itself it runs
    /// `body` directly. Use it for set-up (binding listeners) and in tests, not on hot paths.
    ///
    /// - Throws: what `body` throws, or `UVError.ecanceled` when the loop has shut down.
    public func executeAndWait<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        if isInLoopThread { return try body() }
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        let accepted = execute {
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        guard accepted else { throw UVError.ecanceled }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// Asks the loop to close all its handles and return from `run()`; callable from any thread,
    /// idempotent. Closures already queued with `execute` still run first.
    public func stop() {
        let wakeup = self.wakeup
        inbox.withLock { inbox in
            if inbox.closed || inbox.stopRequested { return }
            inbox.stopRequested = true
            uv_async_send(wakeup)
        }
    }

    fileprivate func drainInbox() {
        let (work, stopRequested) = inbox.withLock { inbox in
            let work = inbox.work
            inbox.work = []
            return (work, inbox.stopRequested)
        }
        for item in work { item() }
        if stopRequested { beginShutdown() }
    }

    private func beginShutdown() {
        let leftovers = inbox.withLock { inbox in
            inbox.closed = true
            let work = inbox.work
            inbox.work = []
            return work
        }
        for item in leftovers { item() }
        shuttingDown = true
        for owner in openHandles.values { owner.close() }
        uv_close(UV.handle(wakeup), loopWakeupClosedCallback)
        closeLateHandles()
    }

    fileprivate func wakeupDidClose() {
        HandleMemory.free(wakeup, on: self)
        closeLateHandles()
    }

    /// Closes handles that callbacks opened after shutdown began (in a close callback, a
    /// cancelled write's completion, a finished thread-pool job), so `run()` still returns.
    /// Called after each callback that can run user code during shutdown.
    @inline(__always)
    func closeLateHandles() {
        guard shuttingDown else { return }
        while !lateHandles.isEmpty {
            let owners = lateHandles
            lateHandles = []
            for owner in owners { owner.close() }
        }
    }

    // MARK: Handle registry (loop thread only)

    func register(_ handle: UnsafeMutableRawPointer, owner: any LoopHandleOwner) {
        openHandles[handle] = owner
        if shuttingDown { lateHandles.append(owner) }
    }

    func unregister(_ handle: UnsafeMutableRawPointer) -> (any LoopHandleOwner)? {
        openHandles.removeValue(forKey: handle)
    }

    /// Debug check that the caller is on the loop thread (or the loop has not started yet).
    @inline(__always)
    func assertInLoopThread(_ function: StaticString = #function) {
        assert(
            isInLoopThread || phase.load(ordering: .relaxed) == Phase.created,
            "UVLoop: \(function) called off the loop thread")
    }
}

private func loopWakeupCallback(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().drainInbox()
}

private func loopWakeupClosedCallback(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().wakeupDidClose()
}

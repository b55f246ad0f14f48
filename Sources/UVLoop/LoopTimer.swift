internal import CLibUV

/// A one-shot or repeating timer on one loop (libuv `uv_timer_t`), loop thread only.
///
/// Timers due at the same loop iteration fire in the order of their due time, then in the order
/// they were started. `cancel()` stops it and keeps the handle for another `start`; `close()`
/// releases it.
public final class LoopTimer: LoopHandleOwner, @unchecked Sendable {
    public let loop: EventLoop
    private let timer: UnsafeMutablePointer<uv_timer_t>
    private var callback: (() -> Void)?
    private var closeAfterFiring = false
    public private(set) var isClosed = false

    public init(loop: EventLoop) {
        loop.assertInLoopThread()
        self.loop = loop
        timer = HandleMemory.allocate(uv_timer_t.self, zeroed: uv_timer_t(), on: loop)
        uv_timer_init(loop.uvLoop, timer)
        timer.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(UnsafeMutableRawPointer(timer), owner: self)
    }

    /// A timer that fires once after `delay`, then closes itself.
    @discardableResult
    public static func once(on loop: EventLoop, after delay: Duration, _ callback: @escaping () -> Void) -> LoopTimer {
        let timer = LoopTimer(loop: loop)
        timer.closeAfterFiring = true
        timer.start(after: delay, callback)
        return timer
    }

    /// (Re)starts the timer: first call after `delay`, then every `interval` if given.
    /// Durations are rounded up to whole milliseconds.
    public func start(after delay: Duration, repeating interval: Duration? = nil, _ callback: @escaping () -> Void) {
        loop.assertInLoopThread()
        guard !isClosed else { return }
        self.callback = callback
        uv_timer_start(timer, loopTimerCallback, Self.milliseconds(delay), interval.map(Self.milliseconds) ?? 0)
    }

    /// Stops the timer; it can be started again.
    public func cancel() {
        loop.assertInLoopThread()
        guard !isClosed else { return }
        uv_timer_stop(timer)
        callback = nil
    }

    /// True while the timer is started and has not fired its last time.
    public var isActive: Bool { !isClosed && uv_is_active(UV.handle(timer)) != 0 }

    /// Stops and releases the timer; idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        callback = nil
        uv_close(UV.handle(timer), handleClosedCallback)
    }

    func handleDidClose(_ handle: UnsafeMutableRawPointer) {
        HandleMemory.free(timer, on: loop)
    }

    fileprivate func fire() {
        let callback = self.callback
        if closeAfterFiring { close() }
        callback?()
    }

    /// Whole milliseconds, rounded up; negative is 0, and absurdly long saturates.
    static func milliseconds(_ duration: Duration) -> UInt64 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let fraction = UInt64((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1000)
        let (total, overflowAgain) = whole.addingReportingOverflow(fraction)
        return overflow || overflowAgain ? UInt64.max : total
    }
}

private func loopTimerCallback(_ timer: UnsafeMutablePointer<uv_timer_t>?) {
    guard let data = timer?.pointee.data else { return }
    Unmanaged<LoopTimer>.fromOpaque(data).takeUnretainedValue().fire()
}

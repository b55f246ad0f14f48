import Foundation
import Synchronization
import UVLoop

/// Wakes the generator's loop when open-loop requests fall due, with sub-millisecond precision
/// (libuv timers have 1 ms resolution, which would add up to 1 ms to every measured latency).
/// A thread sleeps with `clock_nanosleep` until the next intended send time, then posts one
/// wake-up to the loop; it never posts a second one before the loop has taken the first, and
/// never wakes more often than every `minimumGapNanos` (at high rates one wake-up sends a batch).
final class Pacer: Sendable {
    static let minimumGapNanos: UInt64 = 100_000

    private let schedule: OpenLoopSchedule
    private let loop: EventLoop
    private let fire: @Sendable () -> Void
    private let stopped = Atomic<Bool>(false)
    private let wakePending = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(schedule: OpenLoopSchedule, loop: EventLoop, fire: @escaping @Sendable () -> Void) {
        self.schedule = schedule
        self.loop = loop
        self.fire = fire
    }

    func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "wharf-load-pacer"
        thread.start()
    }

    /// Stops the thread and waits for it (at most one sleep gap plus a wake-up).
    func stop() {
        if stopped.exchange(true, ordering: .acquiringAndReleasing) { return }
        done.wait()
    }

    private func run() {
        var last: UInt64 = 0
        while !stopped.load(ordering: .acquiring) {
            guard let next = schedule.nextDueNanos(after: MonotonicClock.now()) else { break }
            // Sleep in slices of at most 50 ms so that stop() is prompt.
            let wake = max(next, last + Self.minimumGapNanos)
            MonotonicClock.sleep(until: min(wake, MonotonicClock.now() + 50_000_000))
            if MonotonicClock.now() < wake { continue }
            last = wake
            post()
        }
        post()
    }

    private func post() {
        if wakePending.exchange(true, ordering: .acquiringAndReleasing) { return }
        loop.execute { [self] in
            wakePending.store(false, ordering: .releasing)
            fire()
        }
    }
}

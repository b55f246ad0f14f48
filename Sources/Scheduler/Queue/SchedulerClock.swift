import Foundation
import Synchronization

/// Wall-clock time for the scheduler. Production uses `SystemClock`; the simulator drives the same code
/// with a `VirtualClock`. Everything below the service layer takes `now` as a parameter instead.
public protocol SchedulerClock: Sendable {
    func now() -> Date
}

/// The real time of day.
public struct SystemClock: SchedulerClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that moves only when told to: the simulator's time, and tests' way to skip hours instantly.
final class VirtualClock: SchedulerClock {
    private let current: Mutex<Date>

    init(start: Date = Date(timeIntervalSince1970: 0)) { current = Mutex(start) }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves time forward by `seconds` (never backwards).
    func advance(by seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(max(0, seconds)) }
    }

    /// Sets the time, if it is later than the current one.
    func advance(to date: Date) {
        current.withLock { $0 = max($0, date) }
    }
}

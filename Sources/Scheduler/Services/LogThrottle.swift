import Foundation
import Synchronization

/// Lets a recurring log line through at most once per `interval` seconds, so a condition that holds
/// on every round of a fast loop (a stalled dispatch at 10 ticks a second) is reported, not repeated.
public final class LogThrottle: Sendable {
    private let interval: Double
    private let last = Mutex<Date?>(nil)

    public init(interval: Double) { self.interval = interval }

    /// True when nothing was let through in the last `interval` seconds before `now` (and records `now`).
    public func due(now: Date) -> Bool {
        last.withLock { last in
            if let previous = last, now.timeIntervalSince(previous) < interval, now >= previous { return false }
            last = now
            return true
        }
    }
}

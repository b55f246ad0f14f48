import Foundation

/// Returns jobs whose lease expired (their scheduler process crashed or hung) to the queue: run once
/// at start-up, then every `interval`. `runOnce(now:)` is what the service loop and tests call.
struct LeaseRescuer: Sendable {
    let queue: JobQueue
    /// How often the service calls `runOnce` (default 30 s: half the default 60 s lease).
    let interval: Double

    init(queue: JobQueue, interval: Double = 30) {
        self.queue = queue
        self.interval = interval
    }

    /// Rescues every running job whose lease expired before `now`.
    @discardableResult
    public func runOnce(now: Date) throws -> RescueReport {
        try queue.rescueExpiredLeases(now: now)
    }
}

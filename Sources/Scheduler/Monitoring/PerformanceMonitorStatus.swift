import Foundation

/// The scheduler's figures for `/_wharf/api/status` (the wiring adds it as a section): the same numbers
/// as `SchedulerMetrics`, shaped for a dashboard.
public struct SchedulerStatus: Sendable, Equatable, Codable {
    public struct Queue: Sendable, Equatable, Codable {
        var queued: Int
        var queuedByKind: [String: Int]
        var running: Int
    }

    public struct Builds: Sendable, Equatable, Codable {
        /// The monitor's rolling window.
        var window: WindowSummary
        /// Finished attempts since start, by build type then outcome.
        var outcomes: [String: [String: Int]]
        var cacheHits: Int
    }

    public struct Alerts: Sendable, Equatable, Codable {
        var firing: Int
        var firingByKind: [String: Int]
        /// Notifications waiting for the webhook; nil without one.
        var webhookPending: Int?
    }

    var queue: Queue
    public var slots: SlotFigures?
    var builds: Builds
    public var alerts: Alerts

    public static func collect(
        monitor: PerformanceMonitor, slots: SlotFigures?, webhook: WebhookDelivery? = nil,
        now: Date
    ) throws -> SchedulerStatus {
        let queued = try monitor.queuedCounts()
        let figures = monitor.buildFigures()
        let firing = try monitor.alerts.firingCounts()
        return SchedulerStatus(
            queue: Queue(
                queued: queued.values.reduce(0, +),
                queuedByKind: Dictionary(uniqueKeysWithValues: queued.map { ($0.key.rawValue, $0.value) }),
                running: try monitor.runningCount()),
            slots: slots,
            builds: Builds(window: try monitor.windowSummary(now: now), outcomes: figures.outcomes, cacheHits: figures.cacheHits),
            alerts: Alerts(
                firing: firing.values.reduce(0, +),
                firingByKind: Dictionary(uniqueKeysWithValues: firing.map { ($0.key.rawValue, $0.value) }),
                webhookPending: try webhook?.pendingCount()))
    }
}

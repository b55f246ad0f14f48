import ArtifactStore
import Edge
import Foundation
import Scheduler
import Synchronization

/// The popularity flush, the nightly warm schedule and the cron tick for `wharf serve`, started
/// beside a running edge. The server calls `start` once the edge listens and `stop` when draining.
final class WarmWiring: Sendable {
    let flush: PopularityFlush
    let cron: CronService
    let interval: Duration
    /// The error-spike alerts on this edge's traffic (nil when `monitor.error_spike.enabled` is false).
    let spikes: ErrorSpikeMonitor?
    private let stats: AccessStats
    private let runner = Mutex<PeriodicRunner?>(nil)

    /// Opens the scheduler database in the store, installs the nightly schedule, and prepares the
    /// cron service whose `warm` command preloads through this edge. Pass the executor's build
    /// settings so warm builds compute the same cache keys. The batch's preloads are noted in
    /// `warmLog` (the dashboard's) when given.
    init(
        edge: EdgeServer, settings: WarmSettings, build: BuildSettings? = nil, errorSpike: ErrorSpikeConfiguration = .init(),
        defaults: JobSubmission.Defaults = .init(), scheduler: SchedulerConfiguration? = nil, warmLog: DashboardWarmLog? = nil,
        now: Date = Date()
    ) throws {
        let side = try SchedulerSide(store: edge.store, settings: settings, scheduler: scheduler)
        spikes = errorSpike.enabled ? ErrorSpikeMonitor(alerts: AlertStore(database: side.database), configuration: errorSpike) : nil
        try side.installNightly(now: now)
        let stats = edge.accessStats
        self.stats = stats
        flush = PopularityFlush(popularity: try Popularity(store: edge.store, halfLifeHours: settings.halfLifeHours)) { stats.drainCounts() }
        cron = try side.cronService(preloader: EdgeWarmPreloader(edge: edge, warmLog: warmLog), build: build, defaults: defaults)
        interval = .seconds(settings.flushIntervalSeconds)
    }

    /// Flushes popularity and ticks cron every `popularity.flush_interval_s` until `stop`; the first
    /// tick (start-up) applies the catch-up rule to runs missed while the server was down.
    func start(log: @escaping @Sendable (String) -> Void) async {
        let flush = self.flush
        let cron = self.cron
        let spikes = self.spikes
        let stats = self.stats
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        var tasks: [PeriodicTask] = []
        if let spikes {
            tasks.append(
                PeriodicTask(name: "error-spike alerts", interval: seconds) { now in
                    let counts = stats.drainStatuses().mapValues {
                        ErrorSpikeMonitor.Counts(responses: $0.responses, notFound: $0.notFound, serverErrors: $0.serverErrors)
                    }
                    let report = try await OffPool.run { try spikes.runOnce(now: now, counts: counts) }
                    for key in report.raised { log("alert firing: \(key)") }
                    for key in report.resolved { log("alert resolved: \(key)") }
                })
        }
        let periodic = PeriodicRunner(
            tasks: tasks + [
                // A failed flush keeps its counts for the next one.
                PeriodicTask(name: "popularity flush", interval: seconds) { now in _ = try await OffPool.run { try flush.runOnce(now: now) } },
                PeriodicTask(name: "cron", interval: seconds) { now in
                    for firing in try await cron.runOnce(now: now) {
                        log("cron \(firing.name): \(firing.outcome.rawValue): \(firing.result)")
                    }
                },
            ], log: log)
        runner.withLock { $0 = periodic }
        await periodic.start()
    }

    /// Stops the loop, then flushes one last time.
    func stop() async {
        if let periodic = runner.withLock({ r in
            defer { r = nil }
            return r
        }) {
            await periodic.stop()
        }
        _ = try? flush.runOnce(now: Date())
    }
}

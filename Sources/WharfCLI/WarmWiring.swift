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
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Opens the scheduler database in the store, installs the nightly schedule, and prepares the
    /// cron service whose `warm` command preloads through this edge. Pass the executor's build
    /// settings so warm builds compute the same cache keys.
    init(edge: EdgeServer, settings: WarmSettings, build: BuildSettings? = nil, now: Date = Date()) throws {
        let side = try SchedulerSide(store: edge.store, settings: settings)
        try side.installNightly(now: now)
        flush = PopularityFlush(stats: edge.accessStats, popularity: try Popularity(store: edge.store, halfLifeHours: settings.halfLifeHours))
        cron = try side.cronService(preloader: EdgeWarmPreloader(edge: edge), build: build)
        interval = .seconds(settings.flushIntervalSeconds)
    }

    /// Flushes popularity and ticks cron every `popularity.flush_interval_s` until `stop`; the first
    /// tick (start-up) applies the catch-up rule to runs missed while the server was down.
    func start(log: @escaping @Sendable (String) -> Void) {
        let flush = self.flush, cron = self.cron, interval = self.interval
        let running = Task {
            while !Task.isCancelled {
                do { _ = try await OffPool.run { try flush.flush(now: Date()) } } catch {
                    log("popularity flush failed (kept for the next one): \(error)")
                }
                do {
                    for firing in try await cron.runOnce(now: Date()) {
                        log("cron \(firing.name): \(firing.outcome.rawValue): \(firing.result)")
                    }
                } catch {
                    log("cron tick failed: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
            try? flush.flush(now: Date())
        }
        task.withLock { $0 = running }
    }

    /// Stops the loop after a last flush.
    func stop() async {
        let running = task.withLock { t in defer { t = nil }; return t }
        running?.cancel()
        await running?.value
    }
}

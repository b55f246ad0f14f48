import ArtifactStore
import Foundation
import GRDB

/// The nightly cache-warming batch: takes the most popular apps (decayed scores), queues a
/// low-priority `cache_warm` build for each whose current source is not in the build cache (so the
/// next push or rollback finds it there), and asks the edge, through a `Preloader`, to load each
/// app's hottest paths into the response cache, hottest first, never evicting more than a share of
/// the cache in the whole batch.
public struct WarmBatch: Sendable {
    public struct Options: Sendable, Equatable {
        /// How many apps (default 10).
        var topApps: Int
        /// How many of each app's hottest paths to preload (default 20).
        var pathsPerApp: Int
        /// The most the batch may evict, as a share of the cache's budget (default 0.25).
        var maxEvictShare: Double

        public init(topApps: Int = 10, pathsPerApp: Int = 20, maxEvictShare: Double = 0.25) {
            self.topApps = topApps
            self.pathsPerApp = pathsPerApp
            self.maxEvictShare = maxEvictShare
        }

        public func validate() throws(SchedulerError) {
            guard (1...1000).contains(topApps) else { throw .invalidConfiguration("warm.top_n must be 1...1000, got \(topApps)") }
            guard (1...1000).contains(pathsPerApp) else { throw .invalidConfiguration("warm.paths_per_app must be 1...1000, got \(pathsPerApp)") }
            guard maxEvictShare.isFinite, (0...1).contains(maxEvictShare) else {
                throw .invalidConfiguration("warm.max_evict_share must be 0...1, got \(maxEvictShare)")
            }
        }
    }

    public let popularity: Popularity
    let queue: JobQueue
    let cache: BuildCache
    /// The build settings the executor uses: the cache key must be computed the same way.
    let settings: BuildSettings
    let preloader: (any Preloader)?
    let options: Options

    public init(
        popularity: Popularity, queue: JobQueue, cache: BuildCache, settings: BuildSettings,
        preloader: (any Preloader)?, options: Options = .init()
    ) throws(SchedulerError) {
        try options.validate()
        self.popularity = popularity
        self.queue = queue
        self.cache = cache
        self.settings = settings
        self.preloader = preloader
        self.options = options
    }

    /// Runs the batch at `now`: `planBuilds`, then `preload`.
    public func run(now: Date, clock: ContinuousClock = .init()) async throws -> WarmBatchReport {
        let started = clock.now
        var report = try planBuilds(now: now)
        await preload(&report)
        report.seconds = Self.seconds(clock.now - started)
        return report
    }

    /// The synchronous half (SQLite and source hashing; may block on disk): picks the top apps and
    /// their hottest paths, and queues the warm builds in one transaction.
    public func planBuilds(now: Date) throws -> WarmBatchReport {
        var report = WarmBatchReport()
        report.maxEvictedBytes = preloader.map { Int(Double($0.cacheBudgetBytes) * options.maxEvictShare) } ?? 0
        let top = try popularity.topApps(limit: options.topApps, now: now)
        var requests: [(index: Int, request: JobRequest)] = []
        for app in top {
            var result = WarmBatchReport.AppResult(app: app.app, score: app.score, build: "", jobID: nil, paths: [])
            do {
                let (state, request) = try buildDecision(app: app.app, now: now)
                result.build = state
                if let request { requests.append((report.apps.count, request)) }
            } catch {
                result.build = "error: \(error)"
            }
            result.paths = try popularity.hotPaths(app: app.app, limit: options.pathsPerApp, now: now).compactMap(\.path)
            report.apps.append(result)
        }
        if !requests.isEmpty {
            let ids = try queue.enqueue(batch: requests.map(\.request), now: now)
            for (item, id) in zip(requests, ids) { report.apps[item.index].jobID = id }
            report.queued = ids.count
        }
        return report
    }

    /// The asynchronous half: asks the preloader for each app's hottest paths, most popular app
    /// first, passing down what is left of the batch's eviction allowance.
    public func preload(_ report: inout WarmBatchReport) async {
        guard let preloader else { return }
        for index in report.apps.indices where !report.apps[index].paths.isEmpty {
            let remaining = max(0, report.maxEvictedBytes - report.evictedBytes)
            do {
                let result = try await preloader.preload(
                    app: report.apps[index].app, paths: report.apps[index].paths,
                    maxEvictedBytes: remaining)
                report.apps[index].preload = result
                report.preloaded += result.loaded
                report.bytes += result.bytes
                report.evictedBytes += result.evictedBytes
            } catch {
                report.apps[index].preloadError = "\(error)"
            }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Whether `app` needs a warm build: its latest job's source, hashed the way the executor hashes
    /// it, looked up (without counting a hit) in the build cache.
    func buildDecision(app: String, now: Date) throws -> (String, JobRequest?) {
        guard let latest = try queue.list(app: app, limit: 1).first else { return ("no_source", nil) }
        for state in [JobState.queued, .running] {
            if try !queue.list(state: state, app: app, limit: 1).isEmpty { return ("pending", nil) }
        }
        let command = latest.command ?? settings.defaultCommand
        guard
            let key = try? BuildCacheKey(
                sourceDirectory: latest.source,
                buildConfig: ["app": latest.app, "command": command, "build_type": latest.buildType, "output": settings.outputDirectory],
                target: latest.target, toolchainVersion: settings.toolchainVersion)
        else { return ("no_source", nil) }
        if try cache.holds(key, now: now) { return ("cached", nil) }
        let request = JobRequest(
            app: latest.app, owner: "system", buildType: latest.buildType, kind: .cache_warm,
            source: latest.source, command: latest.command, target: latest.target,
            priorityHint: .low,
            dependencyHash: SourceTreeHasher.dependencyHash(directory: latest.source, toolchainVersion: settings.toolchainVersion), cacheKey: key.hex,
            activate: false)
        return ("queued", request)
    }
}

extension BuildCache {
    /// True when `key` would be a hit at `now` (read-only: no hit is counted).
    func holds(_ key: BuildCacheKey, now: Date) throws -> Bool {
        try database.writer.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM build_cache WHERE key = ? AND created_at > ?",
                arguments: [key.hex, now.timeIntervalSince1970 - ttl]) ?? false
        }
    }
}

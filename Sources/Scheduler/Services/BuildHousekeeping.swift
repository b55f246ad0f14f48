import Foundation

/// The scheduler's hourly clean-up: finished jobs older than the retention (`scheduler.retention_days`)
/// and expired build-cache rows are deleted, then the janitor removes old failed workspaces and the
/// logs of pruned jobs. Nothing the scheduler keeps grows without bound.
public struct BuildHousekeeping: Sendable {
    let queue: JobQueue
    let cache: BuildCache
    let janitor: WorkspaceJanitor
    public let retentionDays: Double

    public init(queue: JobQueue, cache: BuildCache, janitor: WorkspaceJanitor, retentionDays: Double) {
        self.queue = queue
        self.cache = cache
        self.janitor = janitor
        self.retentionDays = retentionDays
    }

    /// What one round removed.
    public struct Report: Sendable, Equatable {
        var jobs = 0
        var cacheEntries = 0
        var workspaces: [String] = []
        var logDirectories: [String] = []

        public var isEmpty: Bool { jobs == 0 && cacheEntries == 0 && workspaces.isEmpty && logDirectories.isEmpty }

        public var description: String {
            "pruned \(jobs) finished jobs and \(cacheEntries) build-cache entries; removed \(workspaces.count) old workspaces "
                + "and the logs of \(logDirectories.count) pruned jobs"
        }
    }

    public func runOnce(now: Date) throws -> Report {
        var report = Report()
        report.jobs = try queue.pruneFinished(before: now.addingTimeInterval(-retentionDays * 86400))
        report.cacheEntries = try cache.prune(now: now)
        let swept = janitor.runOnce(now: now)
        report.workspaces = swept.workspaces
        report.logDirectories = swept.logDirectories
        return report
    }
}

import Foundation
import GRDB
import Synchronization

/// The durable build queue: jobs live in a `QueueStorage` (SQLite by default, or PostgreSQL shared by
/// several schedulers), and an in-memory index of the queued ones makes each scheduling decision
/// O(app groups) instead of a scan. Every state change is one storage transaction whose conditions
/// (`WHERE state = 'queued'`, `WHERE lease_owner = ?`) make it safe against other processes sharing
/// the queue; the index is a cache of the storage, rebuilt on open.
public final class JobQueue: Sendable {
    /// Everything a queue can be configured with; defaults are the seeds'.
    public struct Configuration: Sendable {
        public var catalog: BuildTypeCatalog
        var weights: PriorityWeights
        var retry: RetryPolicy
        /// A running job whose owner has not heartbeated for this long is rescued (default 60 s).
        var leaseDuration: Double
        /// Refuse jobs whose source path does not exist (default true).
        var checkSourceExists: Bool

        public init(
            catalog: BuildTypeCatalog = .default, weights: PriorityWeights = .default,
            retry: RetryPolicy = .default, leaseDuration: Double = 60, checkSourceExists: Bool = true
        ) {
            self.catalog = catalog
            self.weights = weights
            self.retry = retry
            self.leaseDuration = leaseDuration
            self.checkSourceExists = checkSourceExists
        }
    }

    /// The machine's own SQLite database (build cache, alerts, push deliveries; and the jobs unless
    /// `storage` is PostgreSQL).
    public let database: SchedulerDatabase
    /// Where jobs and attempts live.
    let storage: any QueueStorage
    public let configuration: Configuration
    let scorer: PriorityScorer
    let popularity: @Sendable (String) -> Double
    let index: Mutex<QueueIndex>
    /// Fair-share groups the in-memory index holds now (the benchmark reports it).
    public var indexGroupCount: Int { index.withLock { $0.groupCount } }

    /// Opens the queue over `database` and loads the queued and running jobs into the index.
    /// - Parameter popularity: an app's popularity in 0...1 (the edge's decayed access counts).
    public convenience init(
        database: SchedulerDatabase, configuration: Configuration = .init(),
        popularity: @escaping @Sendable (String) -> Double = { _ in 0 }, now: Date = Date()
    ) throws {
        try self.init(
            database: database, storage: SQLiteQueueStorage(database: database), configuration: configuration,
            popularity: popularity, now: now)
    }

    /// Opens a queue whose jobs live in the shared PostgreSQL database `postgres`; `database` keeps
    /// what stays on this machine.
    public convenience init(
        database: SchedulerDatabase, postgres: PostgresQueueStorage, configuration: Configuration = .init(),
        popularity: @escaping @Sendable (String) -> Double = { _ in 0 }, now: Date = Date()
    ) throws {
        try self.init(database: database, storage: postgres, configuration: configuration, popularity: popularity, now: now)
    }

    init(
        database: SchedulerDatabase, storage: any QueueStorage, configuration: Configuration,
        popularity: @escaping @Sendable (String) -> Double, now: Date
    ) throws {
        try configuration.weights.validate()
        guard configuration.leaseDuration > 0, configuration.retry.maxRetries >= 0, configuration.retry.maxRetries < 100 else {
            throw SchedulerError.invalidConfiguration("lease duration must be > 0 and retries 0...99")
        }
        self.database = database
        self.storage = storage
        self.configuration = configuration
        self.scorer = PriorityScorer(weights: configuration.weights, catalog: configuration.catalog)
        self.popularity = popularity
        self.index = Mutex(QueueIndex(scorer: scorer, popularity: popularity))
        try reloadIndex(now: now)
    }

    /// Rebuilds the index from the database (on open, or after other processes changed the queue).
    /// App popularity is read again from the provider: call this when popularity was recomputed.
    func reloadIndex(now: Date) throws {
        let rows = try storage.activeJobs()
        var fresh = QueueIndex(scorer: scorer, popularity: popularity)
        for row in rows { insert(row: row, into: &fresh, now: now.timeIntervalSince1970) }
        index.withLock { $0 = fresh }
    }

    /// Adds jobs other processes queued since the index was loaded (ids above the highest known one);
    /// rebuilds the index in full instead when the storage says so (on PostgreSQL: another scheduler
    /// requeued jobs, a notification may have been missed, or the periodic resync is due).
    @discardableResult
    func syncNewJobs(now: Date) throws -> Int {
        let changes = storage.takeChanges(time: now.timeIntervalSince1970)
        if changes.fullResync {
            let before = index.withLock { $0.queuedCount + $0.running.count }
            try reloadIndex(now: now)
            return max(0, index.withLock { $0.queuedCount + $0.running.count } - before)
        }
        let highest = index.withLock { $0.highestID }
        let rows = try storage.queuedJobs(after: min(highest, (changes.newFrom ?? Int64.max) - 1))
        return index.withLock { idx in
            let before = idx.queuedCount
            for row in rows { insert(row: row, into: &idx, now: now.timeIntervalSince1970) }
            return idx.queuedCount - before
        }
    }

    private func insert(row: Row, into idx: inout QueueIndex, now: Double) {
        let kind = JobKind(rawValue: row["kind"]) ?? .manual
        if row["state"] as String == JobState.running.rawValue {
            idx.markRunning(id: row["id"], app: row["app"], owner: row["owner"], kind: kind)
            return
        }
        let buildType: String = row["build_type"]
        idx.insertQueued(
            id: row["id"], app: row["app"], owner: row["owner"], kind: kind,
            hint: PriorityHint(rawValue: row["priority_hint"]) ?? .normal, buildType: buildType,
            dependencyHash: row["deps_hash"], expectedSeconds: expectedSeconds(buildType), previousAttempts: row["attempt"],
            queuedAt: row["queued_at"], availableAt: row["available_at"], now: now)
    }

    func expectedSeconds(_ buildType: String) -> Double {
        configuration.catalog.types[buildType]?.expectedSeconds ?? configuration.catalog.maxExpectedSeconds
    }

    // MARK: - Reading

    /// The job with `id`, or `SchedulerError.unknownJob`.
    public func get(_ id: Int64) throws -> Job {
        guard let job = try storage.job(id) else {
            throw SchedulerError.unknownJob(id)
        }
        return job
    }

    /// Jobs, newest first, optionally only those in `state` or of `app`.
    public func list(state: JobState? = nil, app: String? = nil, limit: Int = 100) throws -> [Job] {
        try storage.jobs(state: state, app: app, limit: max(0, min(limit, 10_000)))
    }

    /// Every claimed attempt of a job, oldest first.
    public func attempts(of id: Int64) throws -> [JobAttempt] {
        try storage.attempts(of: id)
    }

    /// Each factor of the job's current priority score (`wharf jobs explain ID`).
    public func explain(jobID: Int64, now: Date) throws -> ScoreExplanation {
        let job = try get(jobID)
        let (others, popularity) = index.withLock { idx in
            (idx.othersActive(app: job.app, owner: job.owner), idx.cachedPopularity(job.app))
        }
        let waiting = job.state == .queued ? max(0, now.timeIntervalSince(job.availableAt)) : 0
        return scorer.explain(
            ScoreInputs(
                kind: job.kind, hint: job.priorityHint, secondsWaiting: waiting, popularity: popularity,
                expectedSeconds: expectedSeconds(job.buildType), othersActive: others,
                previousAttempts: job.state == .running ? job.attempt - 1 : job.attempt))
    }

    /// Counts for the autoscaler, from the index (no database access).
    func snapshot(now: Date) -> QueueSnapshot {
        index.withLock { idx in
            idx.promoteDue(now: now.timeIntervalSince1970)
            var runningByKind: [JobKind: Int] = [:]
            for job in idx.running.values { runningByKind[job.kind, default: 0] += 1 }
            return QueueSnapshot(
                ready: idx.readyCount, delayed: idx.delayedCount, readyByKind: idx.readyByKind.filter { $0.value > 0 },
                running: idx.running.count, runningByKind: runningByKind,
                oldestReadyWait: idx.oldestReadyAvailableAt().map { max(0, now.timeIntervalSince1970 - $0) })
        }
    }
}

/// The queue as the autoscaler sees it.
struct QueueSnapshot: Sendable, Equatable {
    /// Queued jobs that may run now.
    var ready: Int
    /// Queued jobs still backing off before a retry.
    var delayed: Int
    var readyByKind: [JobKind: Int]
    var running: Int
    var runningByKind: [JobKind: Int]
    /// Seconds the longest-waiting ready job has waited, nil when none is ready.
    var oldestReadyWait: Double?

    init(
        ready: Int, delayed: Int = 0, readyByKind: [JobKind: Int] = [:], running: Int = 0,
        runningByKind: [JobKind: Int] = [:], oldestReadyWait: Double? = nil
    ) {
        self.ready = ready
        self.delayed = delayed
        self.readyByKind = readyByKind
        self.running = running
        self.runningByKind = runningByKind
        self.oldestReadyWait = oldestReadyWait
    }
}

/// One claimed attempt of a job (`job_attempt` row): who ran it, when, and how it ended.
public struct JobAttempt: Sendable, Equatable, FetchableRecord {
    public var jobID: Int64
    public var attempt: Int
    public var owner: String
    var slotID: String?
    var startedAt: Date
    var endedAt: Date?
    /// `succeeded`, `failed`, `cancelled`, `timed_out`, `lease_expired`, or nil while running.
    public var outcome: String?
    /// How the attempt was isolated and limited, and whether its dependency cache was warm.
    public var sandbox: SandboxRecord?
    public var peakMemoryBytes: Int?
    public var peakDiskBytes: Int?

    public init(row: Row) throws {
        jobID = row["job_id"]
        attempt = row["attempt"]
        owner = row["owner"]
        slotID = row["slot_id"]
        startedAt = Date(timeIntervalSince1970: row["started_at"])
        endedAt = (row["ended_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        outcome = row["outcome"]
        if let isolation: String = row["isolation"] {
            sandbox = SandboxRecord(
                isolation: isolation, user: row["build_user"], limits: row["limits"] ?? "",
                dependencyCache: row["deps_cache"])
        }
        peakMemoryBytes = row["peak_memory_bytes"]
        peakDiskBytes = row["peak_disk_bytes"]
    }
}

/// How one attempt ran: its isolation mode, the user, its limits (as a summary line), and whether its
/// slot's dependency cache held its dependencies (`warm`), did not (`cold`), or was not used (nil).
public struct SandboxRecord: Sendable, Equatable, Codable {
    public var isolation: String
    public var user: String?
    public var limits: String
    public var dependencyCache: String?

    init(isolation: String, user: String?, limits: String, dependencyCache: String?) {
        self.isolation = isolation
        self.user = user
        self.limits = limits
        self.dependencyCache = dependencyCache
    }
}

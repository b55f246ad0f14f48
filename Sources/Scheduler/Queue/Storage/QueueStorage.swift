import Foundation
import GRDB

/// Where the queue's jobs and attempts live: SQLite (`SQLiteQueueStorage`, the default, one file per
/// machine) or PostgreSQL (`PostgresQueueStorage`, shared by several schedulers). A storage runs SQL
/// and nothing else: scoring, the index, the retry policy and every lease decision stay in `JobQueue`,
/// which hands the storage its decisions as closures evaluated inside the storage's transaction (the
/// row is read and locked, the queue decides, the storage writes the decision).
///
/// Rows come back as GRDB `Row`s whatever the backend, so `Job(row:)` and `JobAttempt(row:)` read both.
protocol QueueStorage: Sendable {
    /// Queued and running jobs (the index columns), by id.
    func activeJobs() throws -> [Row]
    /// Queued jobs with an id above `id`, by id.
    func queuedJobs(after id: Int64) throws -> [Row]
    func job(_ id: Int64) throws -> Job?
    /// Newest first, optionally only in `state` / of `app`; `limit` is already clamped.
    func jobs(state: JobState?, app: String?, limit: Int) throws -> [Job]
    func attempts(of id: Int64) throws -> [JobAttempt]
    /// Queued jobs per kind (raw value), for the performance monitor's backlog check.
    func queuedCountsByKind() throws -> [String: Int]
    /// Jobs running now, on every scheduler sharing the queue.
    func runningCount() throws -> Int
    /// Running jobs started at or before `time`, by id (the timeout-warning check).
    func runningJobs(startedAtOrBefore time: Double) throws -> [Job]

    /// Inserts `requests` as queued jobs in one transaction; returns their ids in order. `sameTransaction`
    /// runs with the ids on the machine's SQLite database, committed with the jobs on SQLite and right
    /// after them on PostgreSQL (which then cancels the jobs if it throws).
    func insert(
        _ requests: [JobRequest], defaultAttempts: Int, time: Double,
        sameTransaction: ((Database, [Int64]) throws -> Void)?
    ) throws -> [Int64]
    /// Leases the job if it is still queued, due and has attempts left, and records the attempt, in one
    /// transaction; nil when it is not (another scheduler took it first, or it was cancelled).
    func lease(_ lease: LeaseGrant) throws -> Job?
    /// Extends the lease `owner` holds; returns the job's cancel flag, nil when `owner` holds no lease on it.
    func heartbeat(jobID: Int64, owner: String, time: Double, leaseEnd: Double) throws -> Bool?
    /// Records the log path of the attempt `owner` runs; false when `owner` holds no lease on it.
    func attachLog(jobID: Int64, owner: String, path: String) throws -> Bool
    func recordSandbox(jobID: Int64, attempt: Int, record: SandboxRecord) throws
    func recordUsage(jobID: Int64, attempt: Int, peakMemoryBytes: Int?, peakDiskBytes: Int?) throws

    /// Reads and locks job `jobID`, asks `decide` what to write, writes it; returns the job as stored.
    func finish(jobID: Int64, decide: (Job) throws -> FinishUpdate) throws -> Job
    /// As `finish`, for a cancel.
    func cancel(jobID: Int64, time: Double, decide: (Job) throws -> CancelAction) throws -> Job
    /// Ends every running attempt whose lease expired before `time` (`lease_expired`) and writes what
    /// `decide` says for its job; returns the jobs (as they were) with their updates.
    func rescueExpired(before time: Double, decide: (Job) -> RescueUpdate) throws -> [(job: Job, update: RescueUpdate)]
    /// Deletes jobs in a final state that finished before `time`; returns how many.
    func pruneFinished(before time: Double) throws -> Int

    /// What other schedulers changed since the last call (learned from notifications); resets it.
    func takeChanges(time: Double) -> QueueChanges
}

/// What the index must catch up with, beyond the jobs queued with ids above the highest it knows.
struct QueueChanges: Sendable, Equatable {
    /// Rebuild the index in full: another scheduler requeued jobs (a retry, a rescue), a notification
    /// may have been missed (the listener reconnected), or the periodic resync is due.
    var fullResync = false
    /// The lowest id another scheduler's enqueue notified: with concurrent inserters a lower id can
    /// commit after a higher one, so new jobs are looked for from here, not only above the highest.
    var newFrom: Int64?

    static let none = QueueChanges()
}

/// What a claim writes: the job, the lease owner, its slot and when the lease ends.
struct LeaseGrant: Sendable {
    var jobID: Int64
    var owner: String
    var slotID: String?
    var score: Double
    var time: Double
    var leaseEnd: Double
}

/// What `finish` writes: the job's next state and the attempt's outcome.
struct FinishUpdate: Sendable {
    var state: String
    var availableAt: Double
    var finishedAt: Double?
    var exitCode: Int?
    var error: String?
    var deploymentID: String?
    var cacheHit: Bool
    var stageDurations: String
    var logPath: String?
    var attempt: Int
    var endedAt: Double
    var outcome: String
}

/// What `cancel` does with the job it read.
enum CancelAction: Sendable {
    /// It was queued: it ends `cancelled` now.
    case endQueued
    /// It is running: flag it; its runner learns at the next heartbeat.
    case flagRunning
}

/// What the rescuer writes for a job whose lease expired.
struct RescueUpdate: Sendable, Equatable {
    var state: String
    var availableAt: Double
    var finishedAt: Double?
    var error: String
}

import Foundation
import GRDB

/// One finished build attempt as the monitor recorded it (`build_record` row).
struct BuildRecord: Sendable, Equatable {
    public var jobID: Int64
    public var attempt: Int
    public var app: String
    public var buildType: String
    /// `succeeded`, `failed`, `cancelled`, `timed_out` or `lease_expired`.
    public var outcome: String
    public var cacheHit: Bool
    /// Wall-clock seconds from the attempt's start to its end.
    public var seconds: Double
    /// Seconds per `::stage` marker.
    var stageDurations: [String: Double]
    var startedAt: Date
    var finishedAt: Date

    init(
        jobID: Int64, attempt: Int, app: String, buildType: String, outcome: String, cacheHit: Bool = false,
        seconds: Double, stageDurations: [String: Double] = [:], startedAt: Date, finishedAt: Date
    ) {
        self.jobID = jobID
        self.attempt = attempt
        self.app = app
        self.buildType = buildType
        self.outcome = outcome
        self.cacheHit = cacheHit
        self.seconds = seconds
        self.stageDurations = stageDurations
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// True when the attempt ran a build (not a cache hit) and was not cancelled: what windows count.
    var countsAsBuild: Bool { !cacheHit && outcome != "cancelled" }
    /// Failed, timed out, or lost its lease.
    var isFailure: Bool { ["failed", "timed_out", "lease_expired"].contains(outcome) }

    /// The record for the attempt `job` has just finished, or nil when it has not finished one (still
    /// running, or cancelled before it ever started). `attempt` is the `job_attempt` row, when known.
    static func of(job: Job, attempt: JobAttempt?, now: Date) -> BuildRecord? {
        guard job.attempt >= 1, job.state != .running else { return nil }
        let outcome: String
        if job.state.isFinal {
            outcome = job.state.rawValue
        } else {
            outcome = attempt?.outcome ?? (job.error == "timed out" ? "timed_out" : "failed")
        }
        let started = attempt?.startedAt ?? job.startedAt ?? now
        let ended = attempt?.endedAt ?? job.finishedAt ?? now
        return BuildRecord(
            jobID: job.id, attempt: job.attempt, app: job.app, buildType: job.buildType, outcome: outcome,
            cacheHit: job.cacheHit, seconds: max(0, ended.timeIntervalSince(started)),
            stageDurations: job.stageDurations, startedAt: started, finishedAt: ended)
    }
}

extension BuildRecord {
    /// The record of a finished `attempt` of `job` found in the database. Stage durations and the cache
    /// hit are the job's only when this was its latest attempt (the job row keeps the last one's).
    static func of(attempt: JobAttempt, job: Job) -> BuildRecord? {
        guard let ended = attempt.endedAt, let outcome = attempt.outcome else { return nil }
        let latest = job.attempt == attempt.attempt && job.state != .running
        return BuildRecord(
            jobID: job.id, attempt: attempt.attempt, app: job.app, buildType: job.buildType, outcome: outcome,
            cacheHit: latest && job.cacheHit, seconds: max(0, ended.timeIntervalSince(attempt.startedAt)),
            stageDurations: latest ? job.stageDurations : [:], startedAt: attempt.startedAt, finishedAt: ended)
    }
}

extension BuildRecord: FetchableRecord {
    public init(row: Row) throws {
        jobID = row["job_id"]
        attempt = row["attempt"]
        app = row["app"]
        buildType = row["build_type"]
        outcome = row["outcome"]
        cacheHit = row["cache_hit"]
        seconds = row["seconds"]
        let stages: String = row["stage_durations"]
        stageDurations = (try? JSONDecoder().decode([String: Double].self, from: Data(stages.utf8))) ?? [:]
        startedAt = Date(timeIntervalSince1970: row["started_at"])
        finishedAt = Date(timeIntervalSince1970: row["finished_at"])
    }
}

extension BuildRecord {
    /// Inserts the record; returns false when this attempt was already recorded (nothing changes).
    func insert(_ db: Database) throws -> Bool {
        let stages = String(decoding: try JSONEncoder().encode(stageDurations), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO build_record
                    (job_id, attempt, app, build_type, outcome, cache_hit, seconds, stage_durations, started_at, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                jobID, attempt, app, buildType, outcome, cacheHit, seconds, stages,
                startedAt.timeIntervalSince1970, finishedAt.timeIntervalSince1970,
            ])
        return db.changesCount > 0
    }
}

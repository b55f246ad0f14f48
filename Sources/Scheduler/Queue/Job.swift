import Foundation
import GRDB

/// One build job as stored in the `job` table. Times are seconds since 1970 (UTC).
public struct Job: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var app: String
    public var owner: String
    public var buildType: String
    public var kind: JobKind
    public internal(set) var source: String
    public var command: String?
    var target: String
    public var priorityHint: PriorityHint
    var dependencyHash: String?
    var cacheKey: String?
    var activate: Bool
    /// Build even when the build cache has this source (the result is still recorded in the cache).
    public var force: Bool
    public var state: JobState
    /// Attempts started so far (claims), including the running one.
    public var attempt: Int
    public var maxAttempts: Int
    /// When the job was first queued.
    public var queuedAt: Date
    /// When the job may next be claimed (later than `queuedAt` while a retry backs off).
    var availableAt: Date
    public internal(set) var startedAt: Date?
    public internal(set) var finishedAt: Date?
    var leaseOwner: String?
    var heartbeatAt: Date?
    var leaseExpiresAt: Date?
    var slotID: String?
    var cancelRequested: Bool
    var exitCode: Int?
    public var error: String?
    var logPath: String?
    /// Seconds spent in each `::stage NAME` of the last attempt.
    public internal(set) var stageDurations: [String: Double]
    public var deploymentID: String?
    public var cacheHit: Bool
    /// The priority score the job had when it was last claimed.
    var claimScore: Double?
}

extension Job: FetchableRecord {
    public init(row: Row) throws {
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        id = row["id"]
        app = row["app"]
        owner = row["owner"]
        buildType = row["build_type"]
        kind = JobKind(rawValue: row["kind"]) ?? .manual
        source = row["source"]
        command = row["command"]
        target = row["target"]
        priorityHint = PriorityHint(rawValue: row["priority_hint"]) ?? .normal
        dependencyHash = row["deps_hash"]
        cacheKey = row["cache_key"]
        activate = row["activate"]
        force = row["force"]
        state = JobState(rawValue: row["state"]) ?? .failed
        attempt = row["attempt"]
        maxAttempts = row["max_attempts"]
        queuedAt = Date(timeIntervalSince1970: row["queued_at"])
        availableAt = Date(timeIntervalSince1970: row["available_at"])
        startedAt = date("started_at")
        finishedAt = date("finished_at")
        leaseOwner = row["lease_owner"]
        heartbeatAt = date("heartbeat_at")
        leaseExpiresAt = date("lease_expires_at")
        slotID = row["slot_id"]
        cancelRequested = row["cancel_requested"]
        exitCode = row["exit_code"]
        error = row["error"]
        logPath = row["log_path"]
        let stages: String? = row["stage_durations"]
        stageDurations = stages.flatMap { try? JSONDecoder().decode([String: Double].self, from: Data($0.utf8)) } ?? [:]
        deploymentID = row["deployment_id"]
        cacheHit = row["cache_hit"]
        claimScore = row["claim_score"]
    }
}

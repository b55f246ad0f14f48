import Foundation
import GRDB

/// The queue's jobs in the machine's SQLite database (`SchedulerDatabase`): each operation is one
/// write transaction, which SQLite serialises across every process sharing the file.
struct SQLiteQueueStorage: QueueStorage {
    let database: SchedulerDatabase

    static let indexColumns = "id, app, owner, kind, priority_hint, build_type, deps_hash, attempt, queued_at, available_at, state"

    func activeJobs() throws -> [Row] {
        try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.indexColumns) FROM job WHERE state IN ('queued', 'running') ORDER BY id")
        }
    }

    func queuedJobs(after id: Int64) throws -> [Row] {
        try database.writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.indexColumns) FROM job WHERE state = 'queued' AND id > ? ORDER BY id",
                arguments: [id])
        }
    }

    func job(_ id: Int64) throws -> Job? {
        try database.writer.read { db in try Job.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]) }
    }

    func jobs(state: JobState?, app: String?, limit: Int) throws -> [Job] {
        try database.writer.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let state {
                conditions.append("state = ?")
                arguments += [state.rawValue]
            }
            if let app {
                conditions.append("app = ?")
                arguments += [app]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit]
            return try Job.fetchAll(db, sql: "SELECT * FROM job \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments)
        }
    }

    func attempts(of id: Int64) throws -> [JobAttempt] {
        try database.writer.read { db in
            try JobAttempt.fetchAll(db, sql: "SELECT * FROM job_attempt WHERE job_id = ? ORDER BY attempt", arguments: [id])
        }
    }

    func queuedCountsByKind() throws -> [String: Int] {
        let rows = try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n FROM job WHERE state = 'queued' GROUP BY kind")
        }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["kind"] as String, $0["n"] as Int) })
    }

    func runningCount() throws -> Int {
        try database.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE state = 'running'") ?? 0 }
    }

    func runningJobs(startedAtOrBefore time: Double) throws -> [Job] {
        try database.writer.read { db in
            try Job.fetchAll(db, sql: "SELECT * FROM job WHERE state = 'running' AND started_at <= ? ORDER BY id", arguments: [time])
        }
    }

    func insert(
        _ requests: [JobRequest], defaultAttempts: Int, time: Double,
        sameTransaction: ((Database, [Int64]) throws -> Void)?
    ) throws -> [Int64] {
        try database.writer.write { db -> [Int64] in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO job (app, owner, build_type, kind, source, command, target, priority_hint,
                                     deps_hash, cache_key, activate, max_attempts, queued_at, available_at, force)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            var ids: [Int64] = []
            ids.reserveCapacity(requests.count)
            for r in requests {
                try insert.execute(arguments: [
                    r.app, r.owner, r.buildType, r.kind.rawValue, r.source, r.command, r.target,
                    r.priorityHint.rawValue, r.dependencyHash, r.cacheKey, r.activate,
                    r.maxAttempts ?? defaultAttempts, time, time, r.force,
                ])
                ids.append(db.lastInsertedRowID)
            }
            try sameTransaction?(db, ids)
            return ids
        }
    }

    func lease(_ grant: LeaseGrant) throws -> Job? {
        try database.writer.write { db -> Job? in
            guard
                let job = try Job.fetchOne(
                    db,
                    sql: """
                        UPDATE job SET state = 'running', attempt = attempt + 1, lease_owner = ?, heartbeat_at = ?,
                               lease_expires_at = ?, started_at = ?, slot_id = ?, claim_score = ?, cancel_requested = 0
                        WHERE id = ? AND state = 'queued' AND available_at <= ? AND attempt < max_attempts
                        RETURNING *
                        """, arguments: [grant.owner, grant.time, grant.leaseEnd, grant.time, grant.slotID, grant.score, grant.jobID, grant.time])
            else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO job_attempt (job_id, attempt, owner, slot_id, started_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [grant.jobID, job.attempt, grant.owner, grant.slotID, grant.time])
            return job
        }
    }

    func heartbeat(jobID: Int64, owner: String, time: Double, leaseEnd: Double) throws -> Bool? {
        try database.writer.write { db -> Bool? in
            try Bool.fetchOne(
                db,
                sql: """
                    UPDATE job SET heartbeat_at = ?, lease_expires_at = ?
                    WHERE id = ? AND state = 'running' AND lease_owner = ?
                    RETURNING cancel_requested
                    """, arguments: [time, leaseEnd, jobID, owner])
        }
    }

    func attachLog(jobID: Int64, owner: String, path: String) throws -> Bool {
        try database.writer.write { db -> Bool in
            try db.execute(
                sql: "UPDATE job SET log_path = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                arguments: [path, jobID, owner])
            return db.changesCount > 0
        }
    }

    func recordSandbox(jobID: Int64, attempt: Int, record: SandboxRecord) throws {
        try database.writer.write { db in
            try db.execute(
                sql: """
                    UPDATE job_attempt SET isolation = ?, build_user = ?, limits = ?, deps_cache = ? WHERE job_id = ? AND attempt = ?
                    """, arguments: [record.isolation, record.user, record.limits, record.dependencyCache, jobID, attempt])
        }
    }

    func recordUsage(jobID: Int64, attempt: Int, peakMemoryBytes: Int?, peakDiskBytes: Int?) throws {
        try database.writer.write { db in
            try db.execute(
                sql: "UPDATE job_attempt SET peak_memory_bytes = ?, peak_disk_bytes = ? WHERE job_id = ? AND attempt = ?",
                arguments: [peakMemoryBytes, peakDiskBytes, jobID, attempt])
        }
    }

    func finish(jobID: Int64, decide: (Job) throws -> FinishUpdate) throws -> Job {
        try database.writer.write { db -> Job in
            guard let job = try Job.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [jobID]) else {
                throw SchedulerError.unknownJob(jobID)
            }
            let u = try decide(job)
            try db.execute(
                sql: """
                    UPDATE job SET state = ?, available_at = ?, finished_at = ?, lease_owner = NULL, heartbeat_at = NULL,
                           lease_expires_at = NULL, exit_code = ?, error = ?, deployment_id = coalesce(?, deployment_id),
                           cache_hit = ?, stage_durations = ?, log_path = coalesce(?, log_path)
                    WHERE id = ?
                    """,
                arguments: [
                    u.state, u.availableAt, u.finishedAt, u.exitCode, u.error, u.deploymentID, u.cacheHit,
                    u.stageDurations, u.logPath, jobID,
                ])
            try db.execute(
                sql: "UPDATE job_attempt SET ended_at = ?, outcome = ? WHERE job_id = ? AND attempt = ?",
                arguments: [u.endedAt, u.outcome, jobID, u.attempt])
            return try Job.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [jobID])!
        }
    }

    func cancel(jobID: Int64, time: Double, decide: (Job) throws -> CancelAction) throws -> Job {
        try database.writer.write { db -> Job in
            guard let job = try Job.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [jobID]) else {
                throw SchedulerError.unknownJob(jobID)
            }
            switch try decide(job) {
            case .endQueued:
                try db.execute(
                    sql: "UPDATE job SET state = 'cancelled', finished_at = ?, error = 'cancelled' WHERE id = ?",
                    arguments: [time, jobID])
            case .flagRunning:
                try db.execute(sql: "UPDATE job SET cancel_requested = 1 WHERE id = ?", arguments: [jobID])
            }
            return try Job.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [jobID])!
        }
    }

    func rescueExpired(before time: Double, decide: (Job) -> RescueUpdate) throws -> [(job: Job, update: RescueUpdate)] {
        try database.writer.write { db in
            let expired = try Job.fetchAll(
                db, sql: "SELECT * FROM job WHERE state = 'running' AND lease_expires_at < ?",
                arguments: [time])
            return try expired.map { job in
                let u = decide(job)
                try db.execute(
                    sql: """
                        UPDATE job SET state = ?, available_at = ?, finished_at = ?, lease_owner = NULL, heartbeat_at = NULL,
                               lease_expires_at = NULL, error = ?
                        WHERE id = ? AND state = 'running'
                        """, arguments: [u.state, u.availableAt, u.finishedAt, u.error, job.id])
                try db.execute(
                    sql: "UPDATE job_attempt SET ended_at = ?, outcome = 'lease_expired' WHERE job_id = ? AND attempt = ?",
                    arguments: [time, job.id, job.attempt])
                return (job, u)
            }
        }
    }

    func pruneFinished(before time: Double) throws -> Int {
        try database.writer.write { db in
            try db.execute(
                sql: """
                    DELETE FROM job WHERE state IN ('succeeded', 'failed', 'cancelled', 'timed_out') AND finished_at < ?
                    """, arguments: [time])
            return db.changesCount
        }
    }

    /// SQLite serialises writers, so ids commit in order and new jobs are found above the highest id.
    func takeChanges(time: Double) -> QueueChanges { .none }
}

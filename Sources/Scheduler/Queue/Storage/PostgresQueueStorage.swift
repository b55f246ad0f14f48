import Foundation
import GRDB
import Postgres
import Synchronization

/// The queue's jobs and attempts in a PostgreSQL database shared by several schedulers (each with its
/// own slots, as separate hosts would have). Claims lease in one statement that skips rows another
/// scheduler is claiming (`FOR UPDATE SKIP LOCKED`) and records the attempt in the same statement;
/// finish, cancel and rescue read the row `FOR UPDATE` so their decision and write are atomic.
///
/// Every change other schedulers must see is announced with `NOTIFY wharf_jobs` (delivered at commit):
/// `new <first id>` for enqueued jobs, `requeue` for jobs back in the queue (retry, rescue). A
/// `PostgresListener` turns them into `QueueChanges` for the next `syncNewJobs`; a full resync every
/// `resyncInterval` seconds covers anything missed.
public final class PostgresQueueStorage: QueueStorage, Sendable {
    /// The channel of queue notifications.
    static let channel = "wharf_jobs"
    let connection: PostgresConnection
    /// The machine's SQLite database, for the records `insert(sameTransaction:)` keeps there.
    private let local: SchedulerDatabase
    /// What notifications announced since the last `takeChanges` (a box: the listener's thread shares it).
    private let pending = PendingChanges()
    private let lastResync = Mutex<Double?>(nil)
    private let resyncInterval: Double
    private let listener = Mutex<PostgresListener?>(nil)

    /// Connects to `url`, applies the schema migrations and (with `listen`) starts listening for other
    /// schedulers' changes; without it, the index is rebuilt in full every `resyncInterval` seconds only.
    /// - Parameter local: this machine's scheduler database (push-delivery records stay there).
    public init(url: PostgresURL, local: SchedulerDatabase, listen: Bool = true, resyncInterval: Double = 10) throws {
        connection = try PostgresConnection(url: url)
        self.local = local
        self.resyncInterval = resyncInterval
        try PostgresQueueMigrations.migrate(connection)
        guard listen else { return }
        let pending = self.pending
        let listener = try PostgresListener(url: url, channel: Self.channel) { payload in
            pending.value.withLock { changes in
                if let payload, payload.hasPrefix("new "), let first = Int64(payload.dropFirst(4)) {
                    changes.newFrom = min(changes.newFrom ?? first, first)
                } else {
                    changes.fullResync = true
                }
            }
        }
        self.listener.withLock { $0 = listener }
    }

    /// As `init(url:…)`, from the URL's text; a malformed one is `SchedulerError.invalidConfiguration`
    /// (without the text, which may hold a password).
    public convenience init(urlString: String, local: SchedulerDatabase, listen: Bool = true) throws {
        guard let url = PostgresURL(urlString) else {
            throw SchedulerError.invalidConfiguration("scheduler.database is not a URL postgres://user@host[:port]/database")
        }
        try self.init(url: url, local: local, listen: listen)
    }

    /// Connects to `url` without changing anything (`wharf check-config`); returns the server's version.
    public static func check(_ url: PostgresURL) throws -> String {
        try PostgresConnection(url: url).query("SHOW server_version").first?["server_version"].string ?? "?"
    }

    /// Stops listening (the connection closes when the storage is released).
    public func close() {
        listener.withLock { $0 }?.stop()
    }

    func takeChanges(time: Double) -> QueueChanges {
        var changes = pending.value.withLock { changes in
            defer { changes = .none }
            return changes
        }
        let due = lastResync.withLock { last -> Bool in
            guard last.map({ time - $0 >= resyncInterval || time < $0 }) ?? true else { return false }
            last = time
            return true
        }
        if due { changes.fullResync = true }
        return changes
    }

    // MARK: - Reading

    func activeJobs() throws -> [Row] {
        try connection.query(
            """
            SELECT \(SQLiteQueueStorage.indexColumns) FROM job WHERE state IN ('queued', 'running') ORDER BY id
            """
        ).map(Row.init(postgres:))
    }

    func queuedJobs(after id: Int64) throws -> [Row] {
        try connection.query(
            "SELECT \(SQLiteQueueStorage.indexColumns) FROM job WHERE state = 'queued' AND id > $1 ORDER BY id",
            [id]
        ).map(Row.init(postgres:))
    }

    func job(_ id: Int64) throws -> Job? {
        try connection.query("SELECT * FROM job WHERE id = $1", [id]).first.map { try Job(row: Row(postgres: $0)) }
    }

    func jobs(state: JobState?, app: String?, limit: Int) throws -> [Job] {
        try connection.query(
            """
            SELECT * FROM job WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR app = $2)
            ORDER BY id DESC LIMIT $3
            """, [state?.rawValue, app, limit]
        ).map { try Job(row: Row(postgres: $0)) }
    }

    func attempts(of id: Int64) throws -> [JobAttempt] {
        try connection.query("SELECT * FROM job_attempt WHERE job_id = $1 ORDER BY attempt", [id])
            .map { try JobAttempt(row: Row(postgres: $0)) }
    }

    func queuedCountsByKind() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try connection.query("SELECT kind, count(*) AS n FROM job WHERE state = 'queued' GROUP BY kind") {
            if let kind = row["kind"].string, let n = row["n"].int64 { counts[kind] = Int(n) }
        }
        return counts
    }

    func runningCount() throws -> Int {
        Int(try connection.query("SELECT count(*) AS n FROM job WHERE state = 'running'").first?["n"].int64 ?? 0)
    }

    func runningJobs(startedAtOrBefore time: Double) throws -> [Job] {
        try connection.query("SELECT * FROM job WHERE state = 'running' AND started_at <= $1 ORDER BY id", [time])
            .map { try Job(row: Row(postgres: $0)) }
    }

    // MARK: - Writing

    /// Rows per INSERT statement (15 parameters each, under PostgreSQL's 65,535).
    static let insertChunk = 1000

    func insert(
        _ requests: [JobRequest], defaultAttempts: Int, time: Double,
        sameTransaction: ((Database, [Int64]) throws -> Void)?
    ) throws -> [Int64] {
        let ids = try connection.transaction { c -> [Int64] in
            var ids: [Int64] = []
            ids.reserveCapacity(requests.count)
            for start in stride(from: 0, to: requests.count, by: Self.insertChunk) {
                let chunk = requests[start..<min(start + Self.insertChunk, requests.count)]
                var parameters: [any PostgresParameter] = []
                var tuples: [String] = []
                for r in chunk {
                    let base = parameters.count
                    tuples.append("(" + (1...15).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                    parameters +=
                        [
                            r.app, r.owner, r.buildType, r.kind.rawValue, r.source, r.command, r.target,
                            r.priorityHint.rawValue, r.dependencyHash, r.cacheKey, r.activate,
                            r.maxAttempts ?? defaultAttempts, time, time, r.force,
                        ] as [any PostgresParameter]
                }
                let rows = try c.query(
                    """
                    INSERT INTO job (app, owner, build_type, kind, source, command, target, priority_hint,
                                     deps_hash, cache_key, activate, max_attempts, queued_at, available_at, force)
                    VALUES \(tuples.joined(separator: ", ")) RETURNING id
                    """, parameters)
                // One statement takes its ids from the sequence in row order: sorted, they are the rows' ids in order.
                ids += rows.compactMap { $0["id"].int64 }.sorted()
            }
            if let first = ids.min() {
                try c.query("SELECT pg_notify($1, $2)", [Self.channel, "new \(first)"])
            }
            return ids
        }
        guard let sameTransaction else { return ids }
        do {
            try local.writer.write { db in try sameTransaction(db, ids) }
        } catch {
            // The local record refused the jobs (e.g. a replayed delivery): take them back before anyone runs them.
            try connection.query(
                """
                UPDATE job SET state = 'cancelled', finished_at = $1, error = 'cancelled' WHERE id = ANY($2::bigint[]) AND state = 'queued'
                """, [time, PostgresBigintArray(ids)])
            throw error
        }
        return ids
    }

    func lease(_ grant: LeaseGrant) throws -> Job? {
        let rows = try connection.query(
            """
            WITH claimed AS (
                UPDATE job SET state = 'running', attempt = attempt + 1, lease_owner = $1, heartbeat_at = $2,
                       lease_expires_at = $3, started_at = $2, slot_id = $4, claim_score = $5, cancel_requested = 0
                WHERE id = (SELECT id FROM job WHERE id = $6 AND state = 'queued' AND available_at <= $2
                            AND attempt < max_attempts FOR UPDATE SKIP LOCKED)
                RETURNING *
            ), attempt AS (
                INSERT INTO job_attempt (job_id, attempt, owner, slot_id, started_at)
                SELECT id, attempt, $1, $4, $2 FROM claimed
            )
            SELECT * FROM claimed
            """, [grant.owner, grant.time, grant.leaseEnd, grant.slotID, grant.score, grant.jobID])
        return try rows.first.map { try Job(row: Row(postgres: $0)) }
    }

    func heartbeat(jobID: Int64, owner: String, time: Double, leaseEnd: Double) throws -> Bool? {
        try connection.query(
            """
            UPDATE job SET heartbeat_at = $1, lease_expires_at = $2
            WHERE id = $3 AND state = 'running' AND lease_owner = $4
            RETURNING cancel_requested
            """, [time, leaseEnd, jobID, owner]
        ).first.map { $0["cancel_requested"].int64 == 1 }
    }

    func attachLog(jobID: Int64, owner: String, path: String) throws -> Bool {
        !(try connection.query(
            """
            UPDATE job SET log_path = $1 WHERE id = $2 AND state = 'running' AND lease_owner = $3 RETURNING id
            """, [path, jobID, owner]
        ).isEmpty)
    }

    func recordSandbox(jobID: Int64, attempt: Int, record: SandboxRecord) throws {
        try connection.query(
            """
            UPDATE job_attempt SET isolation = $1, build_user = $2, limits = $3, deps_cache = $4 WHERE job_id = $5 AND attempt = $6
            """, [record.isolation, record.user, record.limits, record.dependencyCache, jobID, attempt])
    }

    func recordUsage(jobID: Int64, attempt: Int, peakMemoryBytes: Int?, peakDiskBytes: Int?) throws {
        try connection.query(
            "UPDATE job_attempt SET peak_memory_bytes = $1, peak_disk_bytes = $2 WHERE job_id = $3 AND attempt = $4",
            [peakMemoryBytes, peakDiskBytes, jobID, attempt])
    }

    /// The job `FOR UPDATE` (locked until the transaction ends), or `unknownJob`.
    private func lockedJob(_ c: PostgresConnection, _ jobID: Int64) throws -> Job {
        guard let row = try c.query("SELECT * FROM job WHERE id = $1 FOR UPDATE", [jobID]).first else {
            throw SchedulerError.unknownJob(jobID)
        }
        return try Job(row: Row(postgres: row))
    }

    func finish(jobID: Int64, decide: (Job) throws -> FinishUpdate) throws -> Job {
        try connection.transaction { c -> Job in
            let u = try decide(try lockedJob(c, jobID))
            let row = try c.query(
                """
                UPDATE job SET state = $1, available_at = $2, finished_at = $3, lease_owner = NULL, heartbeat_at = NULL,
                       lease_expires_at = NULL, exit_code = $4, error = $5, deployment_id = coalesce($6, deployment_id),
                       cache_hit = $7, stage_durations = $8, log_path = coalesce($9, log_path)
                WHERE id = $10 RETURNING *
                """,
                [
                    u.state, u.availableAt, u.finishedAt, u.exitCode, u.error, u.deploymentID, u.cacheHit,
                    u.stageDurations, u.logPath, jobID,
                ])
            try c.query(
                "UPDATE job_attempt SET ended_at = $1, outcome = $2 WHERE job_id = $3 AND attempt = $4",
                [u.endedAt, u.outcome, jobID, u.attempt])
            if u.state == JobState.queued.rawValue { try c.query("SELECT pg_notify($1, 'requeue')", [Self.channel]) }
            return try Job(row: Row(postgres: row[0]))
        }
    }

    func cancel(jobID: Int64, time: Double, decide: (Job) throws -> CancelAction) throws -> Job {
        try connection.transaction { c -> Job in
            let rows: [PostgresRow]
            switch try decide(try lockedJob(c, jobID)) {
            case .endQueued:
                rows = try c.query(
                    "UPDATE job SET state = 'cancelled', finished_at = $1, error = 'cancelled' WHERE id = $2 RETURNING *",
                    [time, jobID])
            case .flagRunning:
                rows = try c.query("UPDATE job SET cancel_requested = 1 WHERE id = $1 RETURNING *", [jobID])
            }
            return try Job(row: Row(postgres: rows[0]))
        }
    }

    func rescueExpired(before time: Double, decide: (Job) -> RescueUpdate) throws -> [(job: Job, update: RescueUpdate)] {
        try connection.transaction { c in
            // SKIP LOCKED: a job another scheduler is finishing or rescuing right now is its business.
            let expired = try c.query(
                "SELECT * FROM job WHERE state = 'running' AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED",
                [time]
            ).map { try Job(row: Row(postgres: $0)) }
            let rescued = try expired.map { job in
                let u = decide(job)
                try c.query(
                    """
                    UPDATE job SET state = $1, available_at = $2, finished_at = $3, lease_owner = NULL, heartbeat_at = NULL,
                           lease_expires_at = NULL, error = $4
                    WHERE id = $5 AND state = 'running'
                    """, [u.state, u.availableAt, u.finishedAt, u.error, job.id])
                try c.query(
                    "UPDATE job_attempt SET ended_at = $1, outcome = 'lease_expired' WHERE job_id = $2 AND attempt = $3",
                    [time, job.id, job.attempt])
                return (job: job, update: u)
            }
            if rescued.contains(where: { $0.update.state == JobState.queued.rawValue }) {
                try c.query("SELECT pg_notify($1, 'requeue')", [Self.channel])
            }
            return rescued
        }
    }

    func pruneFinished(before time: Double) throws -> Int {
        try connection.query(
            """
            DELETE FROM job WHERE state IN ('succeeded', 'failed', 'cancelled', 'timed_out') AND finished_at < $1 RETURNING id
            """, [time]
        ).count
    }
}

/// The changes notifications announced, shared between the listener's thread and the queue.
final class PendingChanges: Sendable {
    let value = Mutex(QueueChanges.none)
}

extension Row {
    /// A GRDB row holding a PostgreSQL row's values, so the records' `init(row:)` read either backend.
    convenience init(postgres row: PostgresRow) {
        var values: [String: (any DatabaseValueConvertible)?] = [:]
        for (name, value) in zip(row.columns, row.values) {
            switch value {
            case .null: values[name] = .some(nil)
            case .integer(let v): values[name] = v
            case .double(let v): values[name] = v
            case .bool(let v): values[name] = v
            case .text(let v): values[name] = v
            }
        }
        self.init(values)
    }
}

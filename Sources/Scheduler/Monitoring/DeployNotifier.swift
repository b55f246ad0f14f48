import Foundation
import GRDB
import Synchronization

/// What a deploy notification says (the JSON body, with `deliveryId` added when sent): a
/// Slack-compatible `text` plus the structured fields.
public struct DeployNotification: Sendable, Codable, Equatable {
    /// `deploy.succeeded` or `deploy.failed`.
    public var event: String
    public var text: String
    public var app: String
    public var deployment: String?
    /// `live`, `published` or `failed`.
    public var state: String
    /// `push` (a build) or `upload` (the upload API).
    public var source: String
    public var job: Int64?
    public var commit: String?
    public var ref: String?
    public var urls: [String]
    public var error: String?
    public var stage: String?

    public init(
        event: String, text: String, app: String, deployment: String?, state: String, source: String, job: Int64? = nil,
        commit: String? = nil, ref: String? = nil, urls: [String] = [], error: String? = nil, stage: String? = nil
    ) {
        self.event = event
        self.text = text
        self.app = app
        self.deployment = deployment
        self.state = state
        self.source = source
        self.job = job
        self.commit = commit
        self.ref = ref
        self.urls = urls
        self.error = error
        self.stage = stage
    }
}

/// The deploy notification outbox (`deploy_notification` in `scheduler.sqlite`) and its delivery
/// thread: one row per notification and target URL, written before anything is sent, so nothing is
/// lost across restarts; a 2xx answer marks a row delivered, anything else backs that row off
/// exponentially (`initialBackoff` doubling up to `maxBackoff`) without holding up other targets.
/// Each row has a delivery id (`X-Wharf-Delivery` header and `deliveryId` field) that stays the
/// same across retries, for receivers to dedupe a repeat whose answer was lost. A row is leased
/// for one attempt, so several processes on one store (edge and scheduler) never send it at once.
public final class DeployNotifier: Sendable {
    public let database: SchedulerDatabase
    let timeout: Double
    let initialBackoff: Double
    let maxBackoff: Double
    private let log: @Sendable (String) -> Void
    private let signal = WakeSignal()
    private let exited = WakeSignal()
    private let thread = Mutex<Thread?>(nil)
    private let stopped = Mutex(false)
    private let lowWater = Mutex<Int64>(0)

    public init(
        database: SchedulerDatabase, timeout: Double = 10, initialBackoff: Double = 2, maxBackoff: Double = 600,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.database = database
        self.timeout = timeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.log = log
    }

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: deploy notifications") { db in
            try db.execute(
                sql: """
                    CREATE TABLE deploy_notification (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL,
                        url TEXT NOT NULL,
                        app TEXT NOT NULL,
                        event TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        delivered_at REAL,
                        last_error TEXT,
                        UNIQUE (key, url)
                    );
                    CREATE INDEX deploy_notification_due ON deploy_notification (delivered_at, next_attempt_at);
                    CREATE TABLE deploy_notification_job (job_id INTEGER PRIMARY KEY, noted_at REAL NOT NULL);
                    -- Builds that ended before notifications existed are not announced now.
                    INSERT INTO deploy_notification_job (job_id, noted_at) SELECT id, 0 FROM job WHERE state IN ('succeeded', 'failed', 'timed_out', 'cancelled');
                    """)
        }
    }

    /// Queues `notification` for each of `targets` under `key` (e.g. `job:42`, `upload:<deployment>`);
    /// a key already queued for a target is not queued again. Returns how many rows were added.
    @discardableResult
    public func enqueue(_ notification: DeployNotification, key: String, targets: [String], now: Date = Date()) throws -> Int {
        try database.writer.write { db in try Self.insert(db, notification, key: key, targets: targets, now: now) }
    }

    /// As `enqueue`, for a finished job: at most once per job, whichever process gets there first.
    @discardableResult
    public func enqueue(job: Int64, _ notification: DeployNotification?, targets: [String], now: Date = Date()) throws -> Int {
        try database.writer.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO deploy_notification_job (job_id, noted_at) VALUES (?, ?)",
                arguments: [job, now.timeIntervalSince1970])
            guard db.changesCount > 0, let notification else { return 0 }
            return try Self.insert(db, notification, key: "job:\(job)", targets: targets, now: now)
        }
    }

    /// Finished build jobs (not warm builds, not cancelled) not yet looked at, oldest first. Jobs at
    /// or below a low-water mark (every job up to it final and noted, as of an earlier scan) are
    /// skipped, so a scan costs what is new, not the whole retained history (a full scan of 200,000
    /// jobs took 25 ms of CPU).
    public func finishedJobsToNote(limit: Int = 100) throws -> [Int64] {
        let floor = lowWater.withLock { $0 }
        return try database.writer.read { db in
            let found = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM job WHERE state IN ('succeeded', 'failed', 'timed_out') AND kind != 'cache_warm' AND id > ?
                    AND id NOT IN (SELECT job_id FROM deploy_notification_job) ORDER BY id LIMIT ?
                    """, arguments: [floor, limit])
            if found.isEmpty {
                // Everything final above the floor is noted: the floor may rise to just below the
                // oldest job still going (or the newest job when none is).
                let open = try Int64.fetchOne(db, sql: "SELECT min(id) FROM job WHERE state IN ('queued', 'running')")
                let newest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM job") ?? 0
                let raised = open.map { $0 - 1 } ?? newest
                lowWater.withLock { $0 = max($0, raised) }
            }
            return found
        }
    }

    private static func insert(_ db: Database, _ notification: DeployNotification, key: String, targets: [String], now: Date) throws -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = String(decoding: try encoder.encode(notification), as: UTF8.self)
        var added = 0
        for url in Set(targets).sorted() {
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO deploy_notification (key, url, app, event, payload, created_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [key, url, notification.app, notification.event, payload, now.timeIntervalSince1970, now.timeIntervalSince1970])
            added += db.changesCount
        }
        return added
    }

    /// Rows not yet delivered.
    public func pendingCount() throws -> Int {
        try database.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM deploy_notification WHERE delivered_at IS NULL") ?? 0 }
    }

    public func start() {
        thread.withLock { current in
            guard current == nil else { return }
            let worker = Thread { [self] in run() }
            worker.name = "wharf-notify"
            current = worker
            worker.start()
        }
    }

    public func wake() { signal.set() }

    /// Stops after the current attempt (waits at most the timeout + 1 s); undelivered rows stay.
    public func stop() {
        stopped.withLock { $0 = true }
        signal.set()
        guard thread.withLock({ $0 }) != nil else { return }
        _ = exited.wait(seconds: timeout + 1)
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func run() {
        defer { exited.set() }
        while !isStopped {
            var wait = 5.0
            do {
                while !isStopped, try deliverOne() {}
                if let next = try database.writer.read({ db in
                    try Double.fetchOne(db, sql: "SELECT min(next_attempt_at) FROM deploy_notification WHERE delivered_at IS NULL")
                }) {
                    wait = min(wait, max(0.05, next - Date().timeIntervalSince1970))
                }
            } catch {
                log("notify: outbox unreadable: \(error)")
            }
            _ = signal.wait(seconds: wait)
        }
    }

    /// Sends the oldest due row; false when none is due.
    @discardableResult
    func deliverOne() throws -> Bool {
        let now = Date().timeIntervalSince1970
        guard
            let row = try database.writer.write({ db -> Row? in
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT id, url, event, payload, attempts FROM deploy_notification
                            WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1
                            """, arguments: [now])
                else { return nil }
                // Leased for this attempt: another process skips it until the deadline has passed.
                try db.execute(
                    sql: "UPDATE deploy_notification SET next_attempt_at = ? WHERE id = ?", arguments: [now + timeout + 1, row["id"] as Int64])
                return row
            })
        else { return false }
        let id: Int64 = row["id"]
        let url: String = row["url"]
        let event: String = row["event"]
        let attempts: Int = row["attempts"]
        let payload: String = row["payload"]
        let body = Array("{\"deliveryId\":\(id),".utf8) + payload.utf8.dropFirst()
        let result: WebhookClient.Result =
            if let address = URL(string: url), ["http", "https"].contains(address.scheme?.lowercased() ?? "") {
                WebhookClient.post(address, body: body, headers: [("X-Wharf-Delivery", "\(id)"), ("X-Wharf-Event", event)], timeout: timeout)
            } else {
                .failed("unusable URL")
            }
        let finished = Date().timeIntervalSince1970
        if case .answered(let status) = result, (200...299).contains(status) {
            try database.writer.write { db in
                try db.execute(
                    sql: "UPDATE deploy_notification SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                    arguments: [finished, id])
            }
            return true
        }
        let reason: String =
            switch result {
            case .answered(let status): "HTTP \(status)"
            case .failed(let why): why
            }
        let delay = min(maxBackoff, initialBackoff * pow(2, Double(min(attempts, 60))))
        try database.writer.write { db in
            try db.execute(
                sql: "UPDATE deploy_notification SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                arguments: [finished + delay, String(reason.prefix(500)), id])
        }
        log(
            "notify: delivery \(id) (\(event)) to \(Self.redacted(url)) failed (attempt \(attempts + 1)): \(reason); next try in \(Int(delay.rounded())) s"
        )
        return true
    }

    /// The URL without its path and query (Slack-style URLs carry their secret there).
    static func redacted(_ url: String) -> String {
        guard let parsed = URLComponents(string: url), let host = parsed.host else { return "(unparsable URL)" }
        return "\(parsed.scheme ?? "http")://\(host)\(parsed.port.map { ":\($0)" } ?? "")/…"
    }
}

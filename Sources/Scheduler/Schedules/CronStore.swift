import Foundation
import GRDB

/// Cron schedules in the scheduler's SQLite database: add, remove, list, and the compare-and-set
/// claim that lets two processes (a running server and `wharf cron run`) share the table without
/// firing a schedule twice. With a `CronFireLedger` (schedulers sharing a PostgreSQL queue), a claim
/// also needs the ledger's, so a firing happens once across every machine.
public struct CronStore: Sendable {
    public let database: SchedulerDatabase
    /// Firing records kept per schedule (older ones are pruned when a run is recorded).
    let historyLimit: Int
    /// The firings shared with other schedulers, nil when this machine's queue is its own.
    let ledger: CronFireLedger?

    public init(database: SchedulerDatabase, historyLimit: Int = 200, ledger: CronFireLedger? = nil) {
        self.database = database
        self.historyLimit = max(1, historyLimit)
        self.ledger = ledger
    }

    /// Adds a schedule; its first run is the next firing after `now`. Refuses bad names, bad
    /// expressions, unknown zones and duplicate names.
    @discardableResult
    public func add(name: String, expression: String, zone: String, command: String, builtIn: Bool = false, now: Date) throws -> CronSchedule {
        let trigger = try validate(name: name, expression: expression, zone: zone, command: command)
        let next = trigger.nextFire(after: now)?.timeIntervalSince1970
        return try database.writer.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM cron_schedule WHERE name = ?", arguments: [name]) == true {
                throw CronStoreError.duplicate(name)
            }
            let row = try Row.fetchOne(
                db,
                sql: """
                    INSERT INTO cron_schedule (name, expression, zone, command, built_in, created_at, next_run_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *
                    """, arguments: [name, trigger.expression.source, zone, command, builtIn, now.timeIntervalSince1970, next])!
            return CronSchedule(row: row)
        }
    }

    /// Installs or updates a built-in schedule (configuration may have changed its time or zone);
    /// keeps its history and, when the trigger is unchanged, its next run.
    @discardableResult
    public func installBuiltIn(name: String, expression: String, zone: String, command: String, now: Date) throws -> CronSchedule {
        let trigger = try validate(name: name, expression: expression, zone: zone, command: command)
        if let existing = try get(name) {
            if existing.expression == trigger.expression.source, existing.zone == zone, existing.command == command { return existing }
            let next = trigger.nextFire(after: now)?.timeIntervalSince1970
            return try database.writer.write { db in
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        UPDATE cron_schedule SET expression = ?, zone = ?, command = ?, built_in = 1, next_run_at = ?
                        WHERE name = ? RETURNING *
                        """, arguments: [trigger.expression.source, zone, command, next, name])!
                return CronSchedule(row: row)
            }
        }
        return try add(name: name, expression: expression, zone: zone, command: command, builtIn: true, now: now)
    }

    /// Removes a schedule and its history; false if there was none.
    @discardableResult
    public func remove(_ name: String) throws -> Bool {
        try database.writer.write { db in
            try db.execute(sql: "DELETE FROM cron_run WHERE name = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM cron_schedule WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public func get(_ name: String) throws -> CronSchedule? {
        try database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM cron_schedule WHERE name = ?", arguments: [name]).map(CronSchedule.init(row:))
        }
    }

    /// Every schedule, by name.
    public func list() throws -> [CronSchedule] {
        try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cron_schedule ORDER BY name").map(CronSchedule.init(row:))
        }
    }

    /// Schedules whose next run is at or before `now`, earliest first.
    func due(now: Date) throws -> [CronSchedule] {
        try database.writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM cron_schedule WHERE next_run_at <= ? ORDER BY next_run_at, name",
                arguments: [now.timeIntervalSince1970]
            ).map(CronSchedule.init(row:))
        }
    }

    /// Moves a schedule's next run from `expected` to `next`; false if another process got there first
    /// (on this machine, or, with a ledger, on any machine sharing the queue).
    func claim(_ name: String, expected: Date, next: Date?, now: Date = Date()) throws -> Bool {
        let local = try database.writer.write { db in
            try db.execute(
                sql: "UPDATE cron_schedule SET next_run_at = ? WHERE name = ? AND next_run_at = ?",
                arguments: [next?.timeIntervalSince1970, name, expected.timeIntervalSince1970])
            return db.changesCount == 1
        }
        guard local, let ledger else { return local }
        return try ledger.claim(name: name, scheduledFor: expected, now: now)
    }

    /// Records a firing: one `cron_run` row, the schedule's last-run columns and counters.
    func record(_ run: CronRunRecord) throws {
        try database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO cron_run (name, scheduled_for, started_at, finished_at, outcome, result) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.name, run.scheduledFor.timeIntervalSince1970, run.startedAt.timeIntervalSince1970,
                    run.finishedAt.timeIntervalSince1970, run.outcome.rawValue, String(run.result.prefix(4000)),
                ])
            let skipped = run.outcome == .skipped
            try db.execute(
                sql: """
                    UPDATE cron_schedule SET last_run_at = ?, last_scheduled_for = ?, last_outcome = ?, last_result = ?,
                        run_count = run_count + ?, skip_count = skip_count + ?
                    WHERE name = ?
                    """,
                arguments: [
                    run.startedAt.timeIntervalSince1970, run.scheduledFor.timeIntervalSince1970, run.outcome.rawValue,
                    String(run.result.prefix(4000)), skipped ? 0 : 1, skipped ? 1 : 0, run.name,
                ])
            try db.execute(
                sql: """
                    DELETE FROM cron_run WHERE name = ? AND id <= (
                        SELECT id FROM cron_run WHERE name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """, arguments: [run.name, run.name, historyLimit])
        }
    }

    /// The latest firings of a schedule, newest first.
    public func history(_ name: String, limit: Int = 20) throws -> [CronRunRecord] {
        try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cron_run WHERE name = ? ORDER BY id DESC LIMIT ?", arguments: [name, max(0, limit)]).map { row in
                CronRunRecord(
                    name: row["name"], scheduledFor: Date(timeIntervalSince1970: row["scheduled_for"]),
                    startedAt: Date(timeIntervalSince1970: row["started_at"]),
                    finishedAt: Date(timeIntervalSince1970: row["finished_at"]),
                    outcome: CronSchedule.Outcome(rawValue: row["outcome"]) ?? .failed, result: row["result"])
            }
        }
    }

    private func validate(name: String, expression: String, zone: String, command: String) throws -> CronTrigger {
        guard Self.isValidName(name) else { throw CronStoreError.invalidName(name) }
        guard !command.isEmpty, command.utf8.count <= 64 else { throw CronStoreError.invalidCommand(command) }
        return try CronTrigger(expression: expression, zone: zone)
    }

    /// 1–64 characters of a-z 0-9 . _ -
    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { b in
                (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 95 || b == 45
            }
    }
}

/// Why a schedule operation was refused.
public enum CronStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidCommand(String)
    case duplicate(String)
    case unknownSchedule(String)
    case unknownCommand(String, known: [String])

    public var description: String {
        switch self {
        case .invalidName(let n): "invalid schedule name '\(n)': 1-64 characters of a-z 0-9 . _ -"
        case .invalidCommand(let c): "invalid command '\(c)'"
        case .duplicate(let n): "a schedule named '\(n)' already exists"
        case .unknownSchedule(let n): "no schedule named '\(n)'"
        case .unknownCommand(let c, let known): "unknown command '\(c)' (known: \(known.joined(separator: ", ")))"
        }
    }
}

extension CronStore {
    /// Makes a schedule due now, so the process running its `CronService` fires it at its next tick
    /// (`wharf warm --request`); false if there is no such schedule.
    public func requestRun(_ name: String, now: Date) throws -> Bool {
        try database.writer.write { db in
            try db.execute(sql: "UPDATE cron_schedule SET next_run_at = ? WHERE name = ?", arguments: [now.timeIntervalSince1970, name])
            return db.changesCount == 1
        }
    }
}

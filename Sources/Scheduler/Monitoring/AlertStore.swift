import Foundation
import GRDB

/// The alerts table: raising a condition fires a new alert or, when one with the same key is already
/// firing, only bumps its count and last-seen time (deduplication); resolving ends it. Every firing
/// and resolution also writes a webhook outbox row in the same transaction (when deliveries are on),
/// so `WebhookDelivery` can post it later without anything being lost.
public final class AlertStore: Sendable {
    public let database: SchedulerDatabase
    /// Whether state changes are queued for the webhook (true when a webhook URL is configured).
    var recordsDeliveries: Bool { onDeliveryQueued != nil }
    private let onDeliveryQueued: (@Sendable () -> Void)?

    /// - Parameter onDeliveryQueued: given when a webhook is configured (usually `WebhookDelivery.wake`):
    ///   firings and resolutions are then written to the outbox, and this is called after each commit.
    public init(database: SchedulerDatabase, onDeliveryQueued: (@Sendable () -> Void)? = nil) {
        self.database = database
        self.onDeliveryQueued = onDeliveryQueued
    }

    /// What `raise` did.
    enum RaiseOutcome: Sendable, Equatable {
        /// A new alert started firing.
        case fired(Alert)
        /// The alert was already firing: its count and last-seen time went up.
        case repeated(Alert)

        var alert: Alert {
            switch self {
            case .fired(let a), .repeated(let a): a
            }
        }
    }

    /// Records that `condition` holds at `now`.
    @discardableResult
    func raise(_ condition: AlertCondition, now: Date) throws -> RaiseOutcome {
        let time = now.timeIntervalSince1970
        let details = try AlertJSON.string(condition.details)
        // SQLite text ends at a NUL; keep the rest of a hostile summary readable instead.
        var condition = condition
        condition.summary = condition.summary.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        let outcome = try database.writer.write { db -> RaiseOutcome in
            if let existing = try Alert.fetchOne(
                db, sql: "SELECT * FROM alert WHERE key = ? AND state = 'firing'",
                arguments: [condition.key])
            {
                try db.execute(
                    sql: """
                        UPDATE alert SET last_seen = max(last_seen, ?), count = count + 1, summary = ?, details = ?, severity = ?
                        WHERE id = ?
                        """, arguments: [time, condition.summary, details, condition.severity.rawValue, existing.id])
                return .repeated(try Self.fetch(db, id: existing.id))
            }
            try db.execute(
                sql: """
                    INSERT INTO alert (key, kind, severity, state, summary, details, first_seen, last_seen, count)
                    VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, 1)
                    """,
                arguments: [
                    condition.key, condition.kind.rawValue, condition.severity.rawValue, condition.summary,
                    details, time, time,
                ])
            let alert = try Self.fetch(db, id: db.lastInsertedRowID)
            try enqueueDelivery(db, alert: alert, event: .firing, now: time)
            return .fired(alert)
        }
        if case .fired = outcome { onDeliveryQueued?() }
        return outcome
    }

    /// Resolves the firing alert with `key`, if there is one, and returns it as resolved.
    @discardableResult
    func resolve(key: String, now: Date) throws -> Alert? {
        let time = now.timeIntervalSince1970
        let resolved = try database.writer.write { db -> Alert? in
            guard
                let firing = try Alert.fetchOne(
                    db, sql: "SELECT * FROM alert WHERE key = ? AND state = 'firing'",
                    arguments: [key])
            else { return nil }
            try db.execute(
                sql: "UPDATE alert SET state = 'resolved', resolved_at = ? WHERE id = ?",
                arguments: [max(time, firing.lastSeen.timeIntervalSince1970), firing.id])
            let alert = try Self.fetch(db, id: firing.id)
            try enqueueDelivery(db, alert: alert, event: .resolved, now: time)
            return alert
        }
        if resolved != nil { onDeliveryQueued?() }
        return resolved
    }

    /// The firing alerts, oldest first, optionally of one kind.
    func firing(kind: AlertKind? = nil) throws -> [Alert] {
        try database.writer.read { db in
            if let kind {
                return try Alert.fetchAll(
                    db, sql: "SELECT * FROM alert WHERE state = 'firing' AND kind = ? ORDER BY id",
                    arguments: [kind.rawValue])
            }
            return try Alert.fetchAll(db, sql: "SELECT * FROM alert WHERE state = 'firing' ORDER BY id")
        }
    }

    /// Alerts newest first: only firing ones, or (with `includeResolved`) all, at most `limit`.
    public func list(includeResolved: Bool = false, limit: Int = 100) throws -> [Alert] {
        try database.writer.read { db in
            let filter = includeResolved ? "" : "WHERE state = 'firing'"
            return try Alert.fetchAll(
                db, sql: "SELECT * FROM alert \(filter) ORDER BY last_seen DESC, id DESC LIMIT ?",
                arguments: [max(0, min(limit, 10_000))])
        }
    }

    /// How many alerts of each kind are firing (every kind present, zero included).
    func firingCounts() throws -> [AlertKind: Int] {
        let rows = try database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n FROM alert WHERE state = 'firing' GROUP BY kind")
        }
        var counts = Dictionary(uniqueKeysWithValues: AlertKind.allCases.map { ($0, 0) })
        for row in rows { if let kind = AlertKind(rawValue: row["kind"]) { counts[kind] = row["n"] } }
        return counts
    }

    static func fetch(_ db: Database, id: Int64) throws -> Alert {
        guard let alert = try Alert.fetchOne(db, sql: "SELECT * FROM alert WHERE id = ?", arguments: [id]) else {
            throw SchedulerError.invalidConfiguration("alert \(id) vanished inside its transaction")
        }
        return alert
    }

    private func enqueueDelivery(_ db: Database, alert: Alert, event: AlertState, now: Double) throws {
        guard recordsDeliveries else { return }
        let payload = try AlertJSON.string(AlertEvent(event: event, alert: alert))
        try db.execute(
            sql: """
                INSERT INTO alert_delivery (alert_id, event, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, 0)
                """, arguments: [alert.id, event.rawValue, payload, now])
    }
}

/// What the webhook receives: `{"event": "firing" | "resolved", "alert": {...}}`.
struct AlertEvent: Sendable, Equatable, Codable {
    var event: AlertState
    var alert: Alert
}

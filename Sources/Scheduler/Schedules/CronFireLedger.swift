import Foundation
import Postgres

/// The shared record of cron firings when several schedulers share a PostgreSQL queue: each keeps its
/// schedules in its own SQLite database (they come from the same configuration, so they agree on
/// every firing time), and before firing, inserts `(schedule, scheduled time)` into `cron_fire`.
/// The primary key lets exactly one insert succeed, so each firing happens once across all of them.
public struct CronFireLedger: Sendable {
    let connection: PostgresConnection
    /// Who fires (recorded with the firing).
    let owner: String
    /// Firing records are kept this long (then deleted on a later claim).
    static let keepSeconds = 30.0 * 86_400

    /// The ledger in the database of `storage`, firing as `owner`.
    public init(storage: PostgresQueueStorage, owner: String) {
        connection = storage.connection
        self.owner = owner
    }

    /// True for the one scheduler whose claim of `(name, scheduledFor)` is first.
    func claim(name: String, scheduledFor: Date, now: Date) throws -> Bool {
        let won = try connection.query(
            """
            INSERT INTO cron_fire (name, scheduled_for, fired_by, fired_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (name, scheduled_for) DO NOTHING RETURNING name
            """, [name, scheduledFor.timeIntervalSince1970, owner, now.timeIntervalSince1970])
        try connection.query("DELETE FROM cron_fire WHERE fired_at < $1", [now.timeIntervalSince1970 - Self.keepSeconds])
        return !won.isEmpty
    }
}

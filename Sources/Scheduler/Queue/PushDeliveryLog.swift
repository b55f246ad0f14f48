import Foundation
import GRDB

/// Push webhook deliveries already acted on, so a replayed delivery (the same `X-GitHub-Delivery`
/// id, or the generic hook's delivery id) queues nothing. A delivery is recorded in the same
/// transaction as the job it queued: either both exist or neither does, so a crash between them
/// cannot make a redelivery look like a replay. Bounded: entries older than `keepSeconds` (7 days)
/// go, and beyond `maxEntries` (10,000) the oldest go, on every insert.
enum PushDeliveryLog {
    static let keepSeconds: Double = 7 * 86_400
    static let maxEntries = 10_000

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3: push hook deliveries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE push_delivery (
                        forge TEXT NOT NULL CHECK (length(forge) BETWEEN 1 AND 20),
                        delivery TEXT NOT NULL CHECK (length(delivery) BETWEEN 1 AND 200),
                        app TEXT NOT NULL,
                        job_id INTEGER,
                        received_at REAL NOT NULL,
                        PRIMARY KEY (forge, delivery)
                    );
                    CREATE INDEX push_delivery_received ON push_delivery (received_at);
                    """)
        }
    }
}

/// What became of a push delivery.
public enum PushEnqueueResult: Sendable, Equatable {
    /// A new delivery: the job queued for it.
    case queued(jobID: Int64)
    /// Seen before (within the log's bounds): nothing queued; the job the first delivery queued.
    case replay(jobID: Int64?)
}

extension JobQueue {
    /// Queues `request` for the delivery `(forge, delivery)` unless that delivery was seen before.
    public func enqueuePush(_ request: JobRequest, forge: String, delivery: String, now: Date) throws -> PushEnqueueResult {
        if let earlier = try database.writer.read({ db in
            try Row.fetchOne(db, sql: "SELECT job_id FROM push_delivery WHERE forge = ? AND delivery = ?", arguments: [forge, delivery])
        }) {
            return .replay(jobID: earlier["job_id"])
        }
        struct Replayed: Error {}
        let time = now.timeIntervalSince1970
        do {
            let ids = try enqueue(batch: [request], now: now) { db, ids in
                try db.execute(sql: "DELETE FROM push_delivery WHERE received_at < ?", arguments: [time - PushDeliveryLog.keepSeconds])
                try db.execute(
                    sql: """
                        DELETE FROM push_delivery WHERE rowid IN (SELECT rowid FROM push_delivery ORDER BY received_at DESC LIMIT -1 OFFSET ?)
                        """, arguments: [PushDeliveryLog.maxEntries - 1])
                try db.execute(
                    sql: "INSERT OR IGNORE INTO push_delivery (forge, delivery, app, job_id, received_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [forge, delivery, request.app, ids[0], time])
                // A concurrent copy of the same delivery won the race: roll this job back.
                if db.changesCount == 0 { throw Replayed() }
            }
            return .queued(jobID: ids[0])
        } catch is Replayed {
            let earlier = try database.writer.read { db in
                try Int64.fetchOne(db, sql: "SELECT job_id FROM push_delivery WHERE forge = ? AND delivery = ?", arguments: [forge, delivery])
            }
            return .replay(jobID: earlier)
        }
    }

    /// How many deliveries are remembered (for tests and status).
    func rememberedDeliveries() throws -> Int {
        try database.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM push_delivery") ?? 0 }
    }
}

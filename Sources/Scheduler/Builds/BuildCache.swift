import Foundation
import GRDB

/// Finished builds by cache key: a hit within the TTL lets a job skip its build and re-alias the cached
/// deployment. Rows older than the retention period are pruned. Defaults are the seeds': TTL 7 days,
/// retention 30 days. Lives in the scheduler's database (`build_cache` table).
public struct BuildCache: Sendable {
    public let database: SchedulerDatabase
    let ttl: Double
    let retention: Double

    public struct Entry: Sendable, Equatable {
        var key: String
        public var app: String
        public var deploymentID: String
        var createdAt: Date
        var lastUsedAt: Date
        var hits: Int
    }

    public init(database: SchedulerDatabase, ttl: Double = 7 * 86400, retention: Double = 30 * 86400) throws(SchedulerError) {
        guard ttl > 0, retention >= ttl else { throw .invalidConfiguration("build cache needs 0 < ttl ≤ retention") }
        self.database = database
        self.ttl = ttl
        self.retention = retention
    }

    /// The cached deployment for `key` if it was built less than `ttl` ago; counts the hit.
    func lookup(_ key: BuildCacheKey, now: Date) throws -> Entry? {
        let time = now.timeIntervalSince1970
        return try database.writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        UPDATE build_cache SET hits = hits + 1, last_used_at = ?
                        WHERE key = ? AND created_at > ?
                        RETURNING *
                        """, arguments: [time, key.hex, time - ttl])
            else { return nil }
            return Self.entry(row)
        }
    }

    /// Records a successful build's deployment under `key` (replacing an older one).
    func insert(_ key: BuildCacheKey, app: String, deploymentID: String, now: Date) throws {
        let time = now.timeIntervalSince1970
        try database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO build_cache (key, app, deployment_id, created_at, last_used_at, hits) VALUES (?, ?, ?, ?, ?, 0)
                    ON CONFLICT (key) DO UPDATE SET app = excluded.app, deployment_id = excluded.deployment_id,
                        created_at = excluded.created_at, last_used_at = excluded.last_used_at, hits = 0
                    """, arguments: [key.hex, app, deploymentID, time, time])
        }
    }

    /// Deletes entries built more than `retention` ago; returns how many.
    @discardableResult
    func prune(now: Date) throws -> Int {
        try database.writer.write { db in
            try db.execute(sql: "DELETE FROM build_cache WHERE created_at <= ?", arguments: [now.timeIntervalSince1970 - retention])
            return db.changesCount
        }
    }

    /// Deployments the cache may still hand out or keeps (the store's GC must keep them).
    func retainedDeploymentIDs() throws -> Set<String> {
        try database.writer.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT deployment_id FROM build_cache")) }
    }

    private static func entry(_ row: Row) -> Entry {
        Entry(
            key: row["key"], app: row["app"], deploymentID: row["deployment_id"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            lastUsedAt: Date(timeIntervalSince1970: row["last_used_at"]), hits: row["hits"])
    }
}

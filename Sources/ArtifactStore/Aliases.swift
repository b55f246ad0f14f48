import Foundation
import GRDB

/// Alias changes: `app → deployment`, the one pointer the edge follows. Every change bumps
/// `store_state.alias_generation` (schema triggers).
enum Aliases {
    static func point(_ db: Database, app: String, at id: String, now: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO aliases (app, deployment_id, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(app) DO UPDATE SET deployment_id = excluded.deployment_id, updated_at = excluded.updated_at
                """, arguments: [app, id, now])
    }
}

/// Retention: per app, the newest N deployments plus any deployment an alias points at.
enum Retention {
    /// Deletes older deployment rows (their files rows cascade); blobs stay until `gc`.
    /// An app with retention settings in the registry (`keep_deployments`, `keep_days`) keeps the
    /// deployments either setting keeps, plus the live one and the one before it (the rollback
    /// target); any other app the newest `keep`. Aliased deployments are never deleted.
    @discardableResult
    static func prune(_ db: Database, app: String, keep: Int, nowMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws -> Int {
        let settings = try Row.fetchOne(
            db, sql: "SELECT keep_deployments, keep_days FROM registered_apps WHERE name = ?",
            arguments: [app])
        let keepLast: Int? = settings?["keep_deployments"]
        let keepDays: Int? = settings?["keep_days"]
        guard keepLast != nil || keepDays != nil else {
            try db.execute(
                sql: """
                    DELETE FROM deployments
                    WHERE app = ?
                      AND id NOT IN (SELECT deployment_id FROM aliases)
                      AND seq NOT IN (SELECT seq FROM deployments WHERE app = ? ORDER BY seq DESC LIMIT ?)
                    """, arguments: [app, app, keep])
            return db.changesCount
        }
        // Newest first: (seq, id, created_at ms, aliased).
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT d.seq, d.id, d.created_at, (a.deployment_id IS NOT NULL) AS live
                FROM deployments d LEFT JOIN aliases a ON a.deployment_id = d.id
                WHERE d.app = ? ORDER BY d.seq DESC
                """, arguments: [app])
        let cutoff = keepDays.map { nowMs - Int64($0) * 86_400_000 }
        var doomed: [String] = []
        var previousOfLive = false
        for (index, row) in rows.enumerated() {
            let live: Bool = row["live"]
            let createdAt: Int64 = row["created_at"]
            var kept = live || previousOfLive
            previousOfLive = live
            if let keepLast, index < keepLast { kept = true }
            if let cutoff, createdAt >= cutoff { kept = true }
            if !kept { doomed.append(row["id"]) }
        }
        for id in doomed {
            try db.execute(sql: "DELETE FROM deployments WHERE id = ? AND id NOT IN (SELECT deployment_id FROM aliases)", arguments: [id])
        }
        return doomed.count
    }
}

/// A line of `wharf deployments APP`.
public struct DeploymentSummary: Sendable, Equatable {
    public var id: String
    public var app: String
    public var version: String?
    public var message: String?
    public var createdAt: Int64
    public var fileCount: Int
    public var totalSize: Int64
    /// Whether the app's alias points at this deployment.
    public var isCurrent: Bool
}

extension Store {
    /// An app's retained deployments, newest first.
    public func deployments(app: String) throws -> [DeploymentSummary] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.app, d.version, d.message, d.created_at, d.file_count, d.total_size,
                           (a.deployment_id IS NOT NULL) AS current
                    FROM deployments d LEFT JOIN aliases a ON a.app = d.app AND a.deployment_id = d.id
                    WHERE d.app = ? ORDER BY d.seq DESC
                    """, arguments: [app]
            ).map { row in
                DeploymentSummary(
                    id: row["id"], app: row["app"], version: row["version"], message: row["message"],
                    createdAt: row["created_at"], fileCount: row["file_count"],
                    totalSize: row["total_size"], isCurrent: row["current"])
            }
        }
    }

    /// The newest deployment of `app` whose metadata holds every given key with the given value, or
    /// nil. The scheduler uses it to find out whether a build it is about to retry was already
    /// published by an attempt that died before it could record the result.
    public func deploymentID(app: String, metadata: [String: String]) throws -> String? {
        try pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, metadata FROM deployments WHERE app = ? ORDER BY seq DESC",
                arguments: [app])
            for row in rows {
                let text: String = row["metadata"]
                guard let stored = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else { continue }
                if metadata.allSatisfy({ stored[$0.key] == $0.value }) { return row["id"] }
            }
            return nil
        }
    }

    /// Points the app's alias at deployment `id`, or, with nil, at the newest deployment older
    /// than the current one. Returns the deployment id now served.
    @discardableResult
    public func rollback(app: String, to id: String? = nil) throws -> String {
        try AppName.validate(app)
        do {
            return try pool.write { db -> String in
                let current = try String.fetchOne(db, sql: "SELECT deployment_id FROM aliases WHERE app = ?", arguments: [app])
                let target: String
                if let id {
                    guard try String.fetchOne(db, sql: "SELECT app FROM deployments WHERE id = ?", arguments: [id]) == app else {
                        throw StoreError.deploymentNotFound(id)
                    }
                    target = id
                } else {
                    guard try Bool.fetchOne(db, sql: "SELECT 1 FROM apps WHERE name = ?", arguments: [app]) ?? false else {
                        throw StoreError.unknownApp(app)
                    }
                    let currentSeq =
                        try Int64.fetchOne(db, sql: "SELECT seq FROM deployments WHERE id = ?", arguments: [current])
                        ?? Int64.max
                    guard
                        let previous = try String.fetchOne(
                            db,
                            sql: """
                                SELECT id FROM deployments WHERE app = ? AND seq < ? ORDER BY seq DESC LIMIT 1
                                """, arguments: [app, currentSeq])
                    else {
                        throw StoreError.nothingToRollBack(app: app)
                    }
                    target = previous
                }
                try Aliases.point(db, app: app, at: target, now: Int64(Date().timeIntervalSince1970 * 1000))
                return target
            }
        } catch {
            throw StoreError.from(error, path: path)
        }
    }
}

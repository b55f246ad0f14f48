import Foundation
import GRDB

extension Popularity {
    /// One app's standing at `now` (its row alone, by primary key), or nil when nothing of it was
    /// recorded. For pages that show one app, where `topApps` would read every app's row.
    public func app(_ app: String, now: Date) throws -> Entry? {
        let row = try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM popularity_app WHERE app = ?", arguments: [app])
        }
        return row.map { lookupEntry($0, path: nil, now: now.timeIntervalSince1970) }
    }

    /// The same answer as `hotPaths`, ranked inside SQLite: only `limit` rows come back, instead of
    /// every path of the app (up to the prune's 5,000) decoded and sorted here. For pages asking
    /// every few seconds. Needs SQLite's math functions (`exp`, built in since 3.35 with the default
    /// options, as Debian's); without them it falls back to `hotPaths`.
    public func hottestPaths(app: String, limit: Int, now: Date) throws -> [Entry] {
        guard (1...10_000).contains(limit) else { throw PopularityError.invalidLimit(limit) }
        let t = now.timeIntervalSince1970
        // decayed = score · 2^(−(now − score_at) / halfLife) = score · e^((score_at − now) / τ), τ = halfLife / ln 2;
        // a score_at after now (a clock that went back) does not grow.
        let tau = decay.halfLife / M_LN2
        do {
            let rows = try store.pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM popularity_path WHERE app = ?
                        ORDER BY score * exp((min(score_at, ?) - ?) / ?) DESC, path LIMIT ?
                        """, arguments: [app, t, t, tau, limit])
            }
            // Ranked again with the decay's own arithmetic (a near-tie may differ in the last bit).
            return rows.map { lookupEntry($0, path: $0["path"], now: t) }.sorted {
                $0.score != $1.score ? $0.score > $1.score : ($0.path ?? "") < ($1.path ?? "")
            }
        } catch let error as DatabaseError where error.message?.contains("no such function") == true {
            return try hotPaths(app: app, limit: limit, now: now)
        }
    }

    private func lookupEntry(_ row: Row, path: String?, now: Double) -> Entry {
        Entry(
            app: row["app"], path: path, score: decay.decayed(row["score"], from: row["score_at"], to: now),
            requests: row["requests"], bytes: row["bytes"], lastSeen: Date(timeIntervalSince1970: row["last_seen"]))
    }
}

import Foundation
import GRDB

extension Popularity {
    /// One app's standing at `now` (its row alone, by primary key), or nil when nothing of it was
    /// recorded. For pages that show one app, where `topApps` would read every app's row.
    public func app(_ app: String, now: Date) throws -> Entry? {
        let row = try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM popularity_app WHERE app = ?", arguments: [app])
        }
        guard let row else { return nil }
        return Entry(app: row["app"], path: nil, score: decay.decayed(row["score"], from: row["score_at"], to: now.timeIntervalSince1970),
                     requests: row["requests"], bytes: row["bytes"], lastSeen: Date(timeIntervalSince1970: row["last_seen"]))
    }
}

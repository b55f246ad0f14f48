import Foundation
import GRDB

/// App and path popularity in the store's SQLite: time-decayed request scores (half-life
/// configurable, default 24 h), lifetime totals, and per-day totals. The edge counts on its loops
/// and hands batches here (one transaction per batch, never a write per request); the warm batch
/// and `wharf popular` read the top apps and their hottest paths.
public struct Popularity: Sendable {
    /// Requests and bytes for one app and path over some interval.
    public struct Count: Sendable, Equatable {
        public var app: String
        public var path: String
        public var requests: Int
        public var bytes: Int
        public init(app: String, path: String, requests: Int, bytes: Int) {
            self.app = app
            self.path = path
            self.requests = requests
            self.bytes = bytes
        }
    }

    /// An app's or a path's standing.
    public struct Entry: Sendable, Equatable, Codable {
        public var app: String
        /// nil for an app's row.
        public var path: String?
        /// Decayed request count as of the query's `now`.
        public var score: Double
        public var requests: Int
        public var bytes: Int
        public var lastSeen: Date
    }

    /// One app's totals for one UTC day.
    struct DailyTotal: Sendable, Equatable, Codable {
        /// The day as `YYYY-MM-DD` (UTC).
        public var day: String
        public var app: String
        public var requests: Int
        public var bytes: Int
    }

    /// What a batch did.
    public struct RecordReport: Sendable, Equatable {
        public var recorded: Int
        /// Entries refused: empty or over-long app or path, a path not starting with `/`, negative counts.
        public var rejected: Int
    }

    public let store: Store
    public let decay: PopularityDecay
    /// Longest path kept (longer ones are rejected: they are noise or hostile).
    public static let maxPathBytes = 2048

    public init(store: Store, decay: PopularityDecay) {
        self.store = store
        self.decay = decay
    }

    public init(store: Store, halfLifeHours: Double = 24) throws(PopularityError) {
        self.init(store: store, decay: try PopularityDecay(halfLife: halfLifeHours * 3600))
    }

    /// Adds a batch of counts at `now` in one transaction.
    @discardableResult
    public func record(_ counts: [Count], now: Date) throws -> RecordReport {
        var report = RecordReport(recorded: 0, rejected: 0)
        var perPath: [PathKey: (requests: Int, bytes: Int)] = [:]
        for count in counts {
            guard Self.isAcceptable(count) else {
                report.rejected += 1
                continue
            }
            let key = PathKey(app: count.app, path: count.path)
            perPath[key, default: (0, 0)].requests += count.requests
            perPath[key, default: (0, 0)].bytes += count.bytes
            report.recorded += 1
        }
        guard !perPath.isEmpty else { return report }
        var perApp: [String: (requests: Int, bytes: Int)] = [:]
        for (key, value) in perPath {
            perApp[key.app, default: (0, 0)].requests += value.requests
            perApp[key.app, default: (0, 0)].bytes += value.bytes
        }
        let t = now.timeIntervalSince1970
        let day = Int((t / 86400).rounded(.down))
        try store.pool.write { db in
            let readPath = try db.cachedStatement(sql: "SELECT score, score_at FROM popularity_path WHERE app = ? AND path = ?")
            let writePath = try db.cachedStatement(
                sql: """
                    INSERT INTO popularity_path (app, path, score, score_at, requests, bytes, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (app, path) DO UPDATE SET score = excluded.score, score_at = excluded.score_at,
                        requests = requests + excluded.requests, bytes = bytes + excluded.bytes, last_seen = excluded.last_seen
                    """)
            for (key, value) in perPath {
                let old = try Row.fetchOne(readPath, arguments: [key.app, key.path])
                let (score, scoreAt) = Self.updated(old, adding: value.requests, now: t, decay: decay)
                try writePath.execute(arguments: [key.app, key.path, score, scoreAt, value.requests, value.bytes, t])
            }
            let readApp = try db.cachedStatement(sql: "SELECT score, score_at FROM popularity_app WHERE app = ?")
            let writeApp = try db.cachedStatement(
                sql: """
                    INSERT INTO popularity_app (app, score, score_at, requests, bytes, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (app) DO UPDATE SET score = excluded.score, score_at = excluded.score_at,
                        requests = requests + excluded.requests, bytes = bytes + excluded.bytes, last_seen = excluded.last_seen
                    """)
            let writeDay = try db.cachedStatement(
                sql: """
                    INSERT INTO popularity_daily (day, app, requests, bytes) VALUES (?, ?, ?, ?)
                    ON CONFLICT (day, app) DO UPDATE SET requests = requests + excluded.requests, bytes = bytes + excluded.bytes
                    """)
            for (app, value) in perApp {
                let old = try Row.fetchOne(readApp, arguments: [app])
                let (score, scoreAt) = Self.updated(old, adding: value.requests, now: t, decay: decay)
                try writeApp.execute(arguments: [app, score, scoreAt, value.requests, value.bytes, t])
                try writeDay.execute(arguments: [day, app, value.requests, value.bytes])
            }
        }
        return report
    }

    /// The `limit` apps with the highest decayed score at `now`, highest first (ties by name).
    public func topApps(limit: Int, now: Date) throws -> [Entry] {
        try Self.check(limit)
        let t = now.timeIntervalSince1970
        let rows = try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM popularity_app") }
        return Array(rows.map { entry($0, path: nil, now: t) }.sorted(by: Self.hotterFirst).prefix(limit))
    }

    /// The `limit` hottest paths of `app` at `now`, hottest first (ties by path).
    public func hotPaths(app: String, limit: Int, now: Date) throws -> [Entry] {
        try Self.check(limit)
        let t = now.timeIntervalSince1970
        let rows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM popularity_path WHERE app = ?", arguments: [app])
        }
        return Array(rows.map { entry($0, path: $0["path"], now: t) }.sorted(by: Self.hotterFirst).prefix(limit))
    }

    /// Per-day totals of the last `days` UTC days up to `now`, newest first (all apps, or one).
    func dailyTotals(app: String? = nil, days: Int = 7, now: Date) throws -> [DailyTotal] {
        let today = Int((now.timeIntervalSince1970 / 86400).rounded(.down))
        let rows = try store.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM popularity_daily WHERE day > ? AND day <= ? AND (? IS NULL OR app = ?) ORDER BY day DESC, app
                    """, arguments: [today - max(1, days), today, app, app])
        }
        return rows.map { row in
            let day: Int = row["day"]
            return DailyTotal(day: Self.dayString(day), app: row["app"], requests: row["requests"], bytes: row["bytes"])
        }
    }

    /// Forgets paths whose decayed score fell below `minScore` (default: under 1/1000 of a request),
    /// keeps at most `maxPathsPerApp` paths per app (the hottest), and drops daily totals older than
    /// `keepDays`. Returns the rows deleted.
    @discardableResult
    public func prune(now: Date, minScore: Double = 0.001, maxPathsPerApp: Int = 5000, keepDays: Int = 400) throws -> Int {
        let t = now.timeIntervalSince1970
        let paths = try store.pool.read { db in try Row.fetchAll(db, sql: "SELECT app, path, score, score_at FROM popularity_path") }
        var byApp: [String: [(path: String, score: Double)]] = [:]
        for row in paths {
            byApp[row["app"], default: []].append((row["path"], decay.decayed(row["score"], from: row["score_at"], to: t)))
        }
        var doomed: [PathKey] = []
        for (app, list) in byApp {
            let sorted = list.sorted { $0.score > $1.score || ($0.score == $1.score && $0.path < $1.path) }
            for (rank, item) in sorted.enumerated() where item.score < minScore || rank >= maxPathsPerApp {
                doomed.append(PathKey(app: app, path: item.path))
            }
        }
        let today = Int((t / 86400).rounded(.down))
        return try store.pool.write { db in
            var deleted = 0
            for key in doomed {
                try db.execute(sql: "DELETE FROM popularity_path WHERE app = ? AND path = ?", arguments: [key.app, key.path])
                deleted += db.changesCount
            }
            try db.execute(sql: "DELETE FROM popularity_daily WHERE day <= ?", arguments: [today - keepDays])
            deleted += db.changesCount
            return deleted
        }
    }

    /// The new (score, time it is true) for a row that had `old` and gains `requests` at `now`. A
    /// clock that went backwards leaves the stored time as it was (no negative decay).
    private static func updated(_ old: Row?, adding requests: Int, now: Double, decay: PopularityDecay) -> (Double, Double) {
        guard let old else { return (Double(max(0, requests)), now) }
        let score: Double = old["score"]
        let at: Double = old["score_at"]
        return (decay.adding(requests, to: score, from: at, now: now), max(at, now))
    }

    private func entry(_ row: Row, path: String?, now: Double) -> Entry {
        Entry(
            app: row["app"], path: path, score: decay.decayed(row["score"], from: row["score_at"], to: now),
            requests: row["requests"], bytes: row["bytes"], lastSeen: Date(timeIntervalSince1970: row["last_seen"]))
    }

    private static func hotterFirst(_ a: Entry, _ b: Entry) -> Bool {
        if a.score != b.score { return a.score > b.score }
        return (a.app, a.path ?? "") < (b.app, b.path ?? "")
    }

    private static func check(_ limit: Int) throws(PopularityError) {
        guard (1...10_000).contains(limit) else { throw .invalidLimit(limit) }
    }

    static func isAcceptable(_ count: Count) -> Bool {
        (1...100).contains(count.app.utf8.count) && !count.app.utf8.contains(0)
            && (1...maxPathBytes).contains(count.path.utf8.count) && count.path.hasPrefix("/") && !count.path.utf8.contains(0)
            && count.requests >= 0 && count.bytes >= 0 && (count.requests > 0 || count.bytes > 0)
    }

    static func dayString(_ day: Int) -> String {
        let date = Date(timeIntervalSince1970: Double(day) * 86400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    private struct PathKey: Hashable {
        var app: String
        var path: String
    }
}

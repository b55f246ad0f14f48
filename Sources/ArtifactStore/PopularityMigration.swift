import GRDB

/// The popularity tables, registered into the store's migrator. Scores are kept decayed to
/// `score_at` (a score and the time it was true), so an update is one read and one write per row
/// and nothing needs rewriting as time passes.
enum PopularityMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v-popularity: decayed scores and daily totals") { db in
            try db.execute(
                sql: """
                    CREATE TABLE popularity_app (
                        app TEXT PRIMARY KEY NOT NULL CHECK (length(app) BETWEEN 1 AND 100),
                        score REAL NOT NULL CHECK (score >= 0),
                        score_at REAL NOT NULL,
                        requests INTEGER NOT NULL CHECK (requests >= 0),
                        bytes INTEGER NOT NULL CHECK (bytes >= 0),
                        last_seen REAL NOT NULL
                    ) WITHOUT ROWID;

                    CREATE TABLE popularity_path (
                        app TEXT NOT NULL,
                        path TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 2048),
                        score REAL NOT NULL CHECK (score >= 0),
                        score_at REAL NOT NULL,
                        requests INTEGER NOT NULL CHECK (requests >= 0),
                        bytes INTEGER NOT NULL CHECK (bytes >= 0),
                        last_seen REAL NOT NULL,
                        PRIMARY KEY (app, path)
                    ) WITHOUT ROWID;

                    -- Requests and bytes per app per UTC day (day = days since 1970-01-01).
                    CREATE TABLE popularity_daily (
                        day INTEGER NOT NULL,
                        app TEXT NOT NULL,
                        requests INTEGER NOT NULL CHECK (requests >= 0),
                        bytes INTEGER NOT NULL CHECK (bytes >= 0),
                        PRIMARY KEY (day, app)
                    ) WITHOUT ROWID;
                    """)
        }
    }
}

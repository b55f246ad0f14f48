import GRDB

/// The cron tables, registered into the scheduler's migrator (one named migration, never edited).
/// `cron_schedule` holds each schedule with its last and next run; `cron_run` records every firing,
/// including the skipped ones, so a missed night is visible afterwards.
enum CronMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v-cron: schedules and runs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE cron_schedule (
                        name TEXT PRIMARY KEY NOT NULL
                            CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^a-z0-9._-]*'),
                        expression TEXT NOT NULL CHECK (length(expression) BETWEEN 1 AND 256),
                        zone TEXT NOT NULL CHECK (length(zone) BETWEEN 1 AND 64),
                        command TEXT NOT NULL CHECK (length(command) BETWEEN 1 AND 64),
                        built_in INTEGER NOT NULL DEFAULT 0 CHECK (built_in IN (0, 1)),
                        created_at REAL NOT NULL,
                        next_run_at REAL,
                        last_run_at REAL,
                        last_scheduled_for REAL,
                        last_outcome TEXT CHECK (last_outcome IN ('succeeded', 'failed', 'skipped')),
                        last_result TEXT,
                        run_count INTEGER NOT NULL DEFAULT 0 CHECK (run_count >= 0),
                        skip_count INTEGER NOT NULL DEFAULT 0 CHECK (skip_count >= 0)
                    ) WITHOUT ROWID;
                    CREATE INDEX cron_schedule_next ON cron_schedule (next_run_at);

                    CREATE TABLE cron_run (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        scheduled_for REAL NOT NULL,
                        started_at REAL NOT NULL,
                        finished_at REAL NOT NULL,
                        outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'skipped')),
                        result TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX cron_run_by_name ON cron_run (name, id);
                    """)
        }
    }
}

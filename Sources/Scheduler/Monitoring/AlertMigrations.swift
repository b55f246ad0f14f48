import GRDB

/// The performance monitor's tables, added to the scheduler's migrator (additive: no existing table changes).
///
/// - `alert`: one row per alert episode. At most one `firing` row per key (a partial unique index), so
///   the same condition cannot fire twice; a condition that returns after being resolved starts a new row.
/// - `alert_delivery`: the webhook outbox. A row is written in the same transaction as the state change
///   it announces, so nothing is lost if the process dies before the POST; `delivered_at` is set when the
///   receiver answered 2xx, `attempts` / `next_attempt_at` / `last_error` drive the retry backoff.
/// - `build_record`: every finished build attempt with its total and per-stage durations, the monitor's
///   rolling window and history (the `job` row keeps only the last attempt, and jobs are pruned).
/// - `job_attempt_ended`: an index so the monitor finds attempts that ended since its last look.
enum AlertMigrations {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("monitor v1: alerts, webhook outbox, build records") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alert (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 300),
                        kind TEXT NOT NULL,
                        severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
                        state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
                        summary TEXT NOT NULL,
                        details TEXT NOT NULL DEFAULT '{}',
                        first_seen REAL NOT NULL,
                        last_seen REAL NOT NULL,
                        resolved_at REAL,
                        count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
                        CONSTRAINT resolved_valid CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
                    );
                    CREATE UNIQUE INDEX alert_firing_key ON alert (key) WHERE state = 'firing';
                    CREATE INDEX alert_last_seen ON alert (last_seen);

                    CREATE TABLE alert_delivery (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        alert_id INTEGER NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
                        event TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
                        payload TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                        next_attempt_at REAL NOT NULL,
                        delivered_at REAL,
                        last_error TEXT
                    );
                    CREATE INDEX alert_delivery_due ON alert_delivery (next_attempt_at) WHERE delivered_at IS NULL;

                    CREATE TABLE build_record (
                        job_id INTEGER NOT NULL,
                        attempt INTEGER NOT NULL,
                        app TEXT NOT NULL,
                        build_type TEXT NOT NULL,
                        outcome TEXT NOT NULL CHECK (outcome IN
                            ('succeeded', 'failed', 'cancelled', 'timed_out', 'lease_expired')),
                        cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
                        seconds REAL NOT NULL CHECK (seconds >= 0),
                        stage_durations TEXT NOT NULL DEFAULT '{}',
                        started_at REAL NOT NULL,
                        finished_at REAL NOT NULL,
                        PRIMARY KEY (job_id, attempt)
                    ) WITHOUT ROWID;
                    CREATE INDEX build_record_finished ON build_record (finished_at);
                    -- The monitor finds attempts that ended since its last look (another index on a core table,
                    -- additive: nothing in the scheduler's own queries changes).
                    CREATE INDEX job_attempt_ended ON job_attempt (ended_at) WHERE ended_at IS NOT NULL;
                    """)
        }
    }
}

import GRDB

/// The scheduler's schema, shipped once per version in SQL terms. Invariants live in the schema:
/// `state_valid` (River's idea) refuses unknown states, `lease_valid` ties a lease to `running`,
/// `finished_valid` ties `finished_at` to the final states.
enum SchedulerMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, attempts, build cache") { db in
            try db.execute(
                sql: """
                    CREATE TABLE job (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        app TEXT NOT NULL CHECK (length(app) BETWEEN 1 AND 100),
                        owner TEXT NOT NULL DEFAULT '',
                        build_type TEXT NOT NULL CHECK (length(build_type) > 0),
                        kind TEXT NOT NULL CHECK (kind IN ('user_push', 'manual', 'retry', 'cache_warm')),
                        source TEXT NOT NULL CHECK (length(source) > 0),
                        command TEXT,
                        target TEXT NOT NULL DEFAULT '',
                        priority_hint INTEGER NOT NULL DEFAULT 2 CHECK (priority_hint BETWEEN 1 AND 3),
                        deps_hash TEXT,
                        cache_key TEXT,
                        activate INTEGER NOT NULL DEFAULT 1 CHECK (activate IN (0, 1)),
                        state TEXT NOT NULL DEFAULT 'queued',
                        attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
                        max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                        queued_at REAL NOT NULL,
                        available_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        lease_owner TEXT,
                        heartbeat_at REAL,
                        lease_expires_at REAL,
                        slot_id TEXT,
                        cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
                        exit_code INTEGER,
                        error TEXT,
                        log_path TEXT,
                        stage_durations TEXT,
                        deployment_id TEXT,
                        cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
                        claim_score REAL,
                        CONSTRAINT state_valid CHECK (
                            state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
                        CONSTRAINT lease_valid CHECK (
                            (state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
                        CONSTRAINT finished_valid CHECK (
                            (state IN ('succeeded', 'failed', 'cancelled', 'timed_out')) = (finished_at IS NOT NULL)),
                        CONSTRAINT attempts_valid CHECK (attempt <= max_attempts)
                    );
                    CREATE INDEX job_queued ON job (available_at) WHERE state = 'queued';
                    CREATE INDEX job_lease ON job (lease_expires_at) WHERE state = 'running';
                    CREATE INDEX job_state ON job (state, id);

                    -- One row per claim: which owner ran which attempt when, and how it ended.
                    CREATE TABLE job_attempt (
                        job_id INTEGER NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                        attempt INTEGER NOT NULL CHECK (attempt >= 1),
                        owner TEXT NOT NULL,
                        slot_id TEXT,
                        started_at REAL NOT NULL,
                        ended_at REAL,
                        outcome TEXT CHECK (outcome IN
                            ('succeeded', 'failed', 'cancelled', 'timed_out', 'lease_expired')),
                        PRIMARY KEY (job_id, attempt)
                    ) WITHOUT ROWID;

                    CREATE TABLE build_cache (
                        key TEXT PRIMARY KEY CHECK (length(key) = 64),
                        app TEXT NOT NULL,
                        deployment_id TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        last_used_at REAL NOT NULL,
                        hits INTEGER NOT NULL DEFAULT 0 CHECK (hits >= 0)
                    ) WITHOUT ROWID;
                    CREATE INDEX build_cache_created ON build_cache (created_at);
                    """)
        }
        CronMigration.register(in: &migrator)
        AlertMigrations.register(in: &migrator)
        migrator.registerMigration("v2: how each attempt was sandboxed") { db in
            try db.execute(
                sql: """
                    ALTER TABLE job_attempt ADD COLUMN isolation TEXT;
                    ALTER TABLE job_attempt ADD COLUMN build_user TEXT;
                    ALTER TABLE job_attempt ADD COLUMN limits TEXT;
                    ALTER TABLE job_attempt ADD COLUMN deps_cache TEXT CHECK (deps_cache IN ('warm', 'cold'));
                    ALTER TABLE job_attempt ADD COLUMN peak_memory_bytes INTEGER;
                    ALTER TABLE job_attempt ADD COLUMN peak_disk_bytes INTEGER;
                    """)
        }
        PushDeliveryLog.register(in: &migrator)
        DeployNotifier.register(in: &migrator)
        migrator.registerMigration("v5: forced builds skip the build cache") { db in
            try db.execute(sql: "ALTER TABLE job ADD COLUMN force INTEGER NOT NULL DEFAULT 0 CHECK (force IN (0, 1))")
        }
        return migrator
    }
}

import Postgres

/// The queue's schema on PostgreSQL: the same tables, columns and constraints as the SQLite schema
/// (`SchedulerMigrations` and later migrations of the `job` tables), in PostgreSQL types: `BIGSERIAL`
/// ids, `double precision` times (seconds since 1970, as on SQLite), and 0/1 integers for flags so
/// both backends read and write the same values. Applied once each, in order, under an advisory lock
/// so schedulers starting together do not race; recorded in `wharf_migration`.
enum PostgresQueueMigrations {
    static let all: [(name: String, sql: String)] = [
        (
            "v1: jobs and attempts",
            """
            CREATE TABLE job (
                id BIGSERIAL PRIMARY KEY,
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
                queued_at DOUBLE PRECISION NOT NULL,
                available_at DOUBLE PRECISION NOT NULL,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                lease_owner TEXT,
                heartbeat_at DOUBLE PRECISION,
                lease_expires_at DOUBLE PRECISION,
                slot_id TEXT,
                cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
                exit_code INTEGER,
                error TEXT,
                log_path TEXT,
                stage_durations TEXT,
                deployment_id TEXT,
                cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
                claim_score DOUBLE PRECISION,
                force INTEGER NOT NULL DEFAULT 0 CHECK (force IN (0, 1)),
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

            CREATE TABLE job_attempt (
                job_id BIGINT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                attempt INTEGER NOT NULL CHECK (attempt >= 1),
                owner TEXT NOT NULL,
                slot_id TEXT,
                started_at DOUBLE PRECISION NOT NULL,
                ended_at DOUBLE PRECISION,
                outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'lease_expired')),
                isolation TEXT,
                build_user TEXT,
                limits TEXT,
                deps_cache TEXT CHECK (deps_cache IN ('warm', 'cold')),
                peak_memory_bytes BIGINT,
                peak_disk_bytes BIGINT,
                PRIMARY KEY (job_id, attempt)
            );
            CREATE INDEX job_attempt_ended ON job_attempt (ended_at);
            """
        ),
        (
            "v2: cron firings shared by every scheduler",
            """
            CREATE TABLE cron_fire (
                name TEXT NOT NULL,
                scheduled_for DOUBLE PRECISION NOT NULL,
                fired_by TEXT NOT NULL,
                fired_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (name, scheduled_for)
            );
            """
        ),
    ]

    /// Applies the migrations `connection`'s database lacks.
    static func migrate(_ connection: PostgresConnection) throws {
        try connection.transaction { c in
            // One scheduler migrates at a time (the key is arbitrary but fixed: "wharf" in ASCII).
            try c.query("SELECT pg_advisory_xact_lock(2003985010)")
            try c.query("CREATE TABLE IF NOT EXISTS wharf_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = Set(try c.query("SELECT name FROM wharf_migration").compactMap { $0["name"].string })
            for migration in all where !applied.contains(migration.name) {
                try c.execute(script: migration.sql)
                try c.query("INSERT INTO wharf_migration (name) VALUES ($1)", [migration.name])
            }
        }
    }
}

import GRDB

/// The app registry (issue 17): apps registered for deploys, their host names, and their deploy
/// tokens (stored as SHA-256 digests only) and webhook-secret nonces (the secrets themselves are
/// derived from a key file outside the database, see `Deploy.WebhookSecrets`). Host names bump `store_state.alias_generation` like
/// alias changes do, so an edge's catalog reloads its routing when one is added or removed.
enum RegistryMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-app-registry") { db in
            try db.execute(
                sql: """
                    CREATE TABLE registered_apps (
                        name TEXT PRIMARY KEY NOT NULL
                            CHECK (length(name) BETWEEN 1 AND 63
                                   AND name NOT GLOB '*[^a-z0-9-]*'
                                   AND name NOT GLOB '-*' AND name NOT GLOB '*-'),
                        git_url TEXT,
                        git_branch TEXT,
                        build_command TEXT,
                        output_dir TEXT,
                        target_type TEXT NOT NULL,
                        notify TEXT NOT NULL DEFAULT '[]',
                        max_files INTEGER CHECK (max_files IS NULL OR max_files > 0),
                        max_bytes INTEGER CHECK (max_bytes IS NULL OR max_bytes > 0),
                        -- Not the webhook secret: a nonce it is derived from with a key outside the database.
                        webhook_nonce TEXT,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        CHECK ((git_url IS NULL) = (git_branch IS NULL))
                    ) WITHOUT ROWID;

                    CREATE TABLE app_hostnames (
                        hostname TEXT PRIMARY KEY NOT NULL
                            CHECK (length(hostname) BETWEEN 1 AND 253 AND hostname NOT GLOB '*[^a-z0-9.-]*'),
                        app TEXT NOT NULL REFERENCES registered_apps(name) ON DELETE CASCADE
                    ) WITHOUT ROWID;
                    CREATE INDEX app_hostnames_by_app ON app_hostnames(app);

                    CREATE TABLE app_tokens (
                        id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 16 AND id NOT GLOB '*[^0-9a-f]*'),
                        app TEXT NOT NULL REFERENCES registered_apps(name) ON DELETE CASCADE,
                        scope TEXT NOT NULL CHECK (scope IN ('deploy', 'read')),
                        secret_sha256 TEXT NOT NULL CHECK (length(secret_sha256) = 64),
                        created_at INTEGER NOT NULL,
                        revoked_at INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX app_tokens_by_app ON app_tokens(app);

                    CREATE TRIGGER app_hostnames_bump_on_insert AFTER INSERT ON app_hostnames
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    CREATE TRIGGER app_hostnames_bump_on_delete AFTER DELETE ON app_hostnames
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    CREATE TRIGGER app_hostnames_bump_on_update AFTER UPDATE ON app_hostnames
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    """)
        }
    }
}

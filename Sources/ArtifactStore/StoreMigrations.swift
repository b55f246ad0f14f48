import GRDB

/// The store schema, shipped once per migration in SQL terms (GRDB "Migrations" good
/// practices: named, never edited after release). Invariants live in the schema: slugs and
/// hashes are CHECKed, an alias can only point at its own app's deployment, inline data must
/// match its recorded size, and every alias change bumps `store_state.alias_generation`.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-blobs-deployments-aliases") { db in
            try db.execute(
                sql: """
                    CREATE TABLE apps (
                        name TEXT PRIMARY KEY NOT NULL
                            CHECK (length(name) BETWEEN 1 AND 63
                                   AND name NOT GLOB '*[^a-z0-9-]*'
                                   AND name NOT GLOB '-*' AND name NOT GLOB '*-'),
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;

                    -- Content-addressed bytes. data IS NULL: the bytes are the file blobs/<2 hex>/<62 hex>.
                    CREATE TABLE blobs (
                        hash TEXT PRIMARY KEY NOT NULL
                            CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
                        size INTEGER NOT NULL CHECK (size >= 0),
                        data BLOB CHECK (data IS NULL OR length(data) = size),
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;

                    -- A precompressed encoding of a blob, itself a blob.
                    CREATE TABLE variants (
                        source_hash TEXT NOT NULL REFERENCES blobs(hash),
                        coding TEXT NOT NULL CHECK (coding IN ('br', 'zstd', 'gzip')),
                        blob_hash TEXT NOT NULL REFERENCES blobs(hash),
                        PRIMARY KEY (source_hash, coding),
                        CHECK (blob_hash <> source_hash)
                    ) WITHOUT ROWID;
                    CREATE INDEX variants_by_blob ON variants(blob_hash);

                    CREATE TABLE deployments (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        app TEXT NOT NULL REFERENCES apps(name),
                        version TEXT,
                        message TEXT,
                        metadata TEXT NOT NULL DEFAULT '{}',
                        created_at INTEGER NOT NULL,
                        entry_point TEXT,
                        file_count INTEGER NOT NULL CHECK (file_count > 0),
                        total_size INTEGER NOT NULL CHECK (total_size >= 0)
                    );
                    CREATE INDEX deployments_by_app ON deployments(app, seq);

                    CREATE TABLE files (
                        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
                        path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),
                        blob_hash TEXT NOT NULL REFERENCES blobs(hash),
                        content_type TEXT NOT NULL,
                        last_modified INTEGER NOT NULL,
                        cache_control TEXT NOT NULL,
                        preload_hints TEXT NOT NULL DEFAULT '[]',
                        PRIMARY KEY (deployment_id, path)
                    ) WITHOUT ROWID;
                    CREATE INDEX files_by_blob ON files(blob_hash);

                    CREATE TABLE aliases (
                        app TEXT PRIMARY KEY NOT NULL REFERENCES apps(name),
                        deployment_id TEXT NOT NULL REFERENCES deployments(id),
                        updated_at INTEGER NOT NULL
                    ) WITHOUT ROWID;

                    CREATE TRIGGER aliases_same_app_insert BEFORE INSERT ON aliases
                    WHEN (SELECT app FROM deployments WHERE id = NEW.deployment_id) IS NOT NEW.app
                    BEGIN SELECT RAISE(ABORT, 'alias must point at a deployment of the same app'); END;
                    CREATE TRIGGER aliases_same_app_update BEFORE UPDATE ON aliases
                    WHEN (SELECT app FROM deployments WHERE id = NEW.deployment_id) IS NOT NEW.app
                    BEGIN SELECT RAISE(ABORT, 'alias must point at a deployment of the same app'); END;

                    -- One row: a counter the edge polls to learn that some alias changed.
                    CREATE TABLE store_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        alias_generation INTEGER NOT NULL
                    );
                    INSERT INTO store_state (id, alias_generation) VALUES (1, 0);

                    CREATE TRIGGER aliases_bump_on_insert AFTER INSERT ON aliases
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    CREATE TRIGGER aliases_bump_on_update AFTER UPDATE ON aliases
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    CREATE TRIGGER aliases_bump_on_delete AFTER DELETE ON aliases
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    """)
        }
        PopularityMigration.register(in: &migrator)
        DeltaMigration.register(in: &migrator)
        RegistryMigration.register(in: &migrator)
        PublishSettingsMigration.register(in: &migrator)
        AppBuildEnvMigration.register(in: &migrator)
        return migrator
    }
}

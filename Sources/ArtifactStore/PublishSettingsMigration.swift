import GRDB

/// Per-app publishing settings of the app registry (issue 17): `downloads`, a JSON array of
/// globs naming files the edge serves as attachments and lists on `/_downloads`; `allowed_types`,
/// a JSON array of content types and extensions an upload may contain (empty: any); and
/// retention, `keep_deployments` (the newest N) and `keep_days` (younger than D days), applied
/// when the app publishes and by `gc`. The edge reads `downloads` with the routing table, so a
/// change to them bumps `store_state.alias_generation` as host names do, and a running edge
/// picks it up within one alias poll.
enum PublishSettingsMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-app-publish-settings") { db in
            try db.execute(
                sql: """
                    ALTER TABLE registered_apps ADD COLUMN downloads TEXT NOT NULL DEFAULT '[]';
                    ALTER TABLE registered_apps ADD COLUMN allowed_types TEXT NOT NULL DEFAULT '[]';
                    ALTER TABLE registered_apps ADD COLUMN keep_deployments INTEGER
                        CHECK (keep_deployments IS NULL OR keep_deployments >= 1);
                    ALTER TABLE registered_apps ADD COLUMN keep_days INTEGER CHECK (keep_days IS NULL OR keep_days >= 1);

                    CREATE TRIGGER registered_apps_downloads_bump_on_insert AFTER INSERT ON registered_apps
                    WHEN NEW.downloads != '[]'
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    CREATE TRIGGER registered_apps_downloads_bump_on_update AFTER UPDATE OF downloads ON registered_apps
                    WHEN OLD.downloads IS NOT NEW.downloads
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    CREATE TRIGGER registered_apps_downloads_bump_on_delete AFTER DELETE ON registered_apps
                    WHEN OLD.downloads != '[]'
                    BEGIN UPDATE store_state SET alias_generation = alias_generation + 1; END;
                    """)
        }
    }
}

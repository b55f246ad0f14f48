import GRDB

/// Per-app build environment of the app registry (issue 17): `build_env`, a JSON object of
/// variable name → value every build of the app gets, and `build_secrets`, a JSON object of
/// name → value sealed by `BuildSecretBox` (the key is a file beside the database, never in it).
enum AppBuildEnvMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-app-build-env") { db in
            try db.execute(
                sql: """
                    ALTER TABLE registered_apps ADD COLUMN build_env TEXT NOT NULL DEFAULT '{}';
                    ALTER TABLE registered_apps ADD COLUMN build_secrets TEXT NOT NULL DEFAULT '{}';
                    """)
        }
    }
}

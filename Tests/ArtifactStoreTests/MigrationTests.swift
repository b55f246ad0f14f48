import Foundation
import GRDB
import Synchronization
import Testing

@testable import ArtifactStore

@Suite struct MigrationTests {
    @Test func openingCreatesTheSchemaInWALModeAndReopeningKeepsIt() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let (tables, mode, applied) = try store.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"),
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try StoreMigrations.migrator.appliedIdentifiers(db)
            )
        }
        #expect(
            tables == [
                "aliases", "app_hostnames", "app_tokens", "apps", "blobs", "deltas", "deployments", "files", "grdb_migrations",
                "popularity_app", "popularity_daily", "popularity_path", "registered_apps", "store_state", "variants",
            ])
        #expect(mode == "wal")
        #expect(
            applied == [
                "v1-blobs-deployments-aliases", "v-popularity: decayed scores and daily totals", "v3-dictionary-deltas",
                "v4-app-registry", "v6-app-publish-settings", "v7-app-build-env",
            ])
        let again = try Store.open(at: store.path)
        #expect(try again.aliasGeneration() == 0)
    }

    /// A store made before `v6-app-publish-settings` keeps its registered apps, which get no
    /// download globs, no allow-list and the default retention.
    @Test func publishSettingsMigrateAnOlderRegistry() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/old"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            let pool = try DatabasePool(path: path + "/store.sqlite")
            try StoreMigrations.migrator.migrate(pool, upTo: "v4-app-registry")
            try pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO registered_apps (name, target_type, created_at, updated_at) VALUES ('old', 'javascript_web', 1, 1)
                        """)
            }
        }
        let store = try Store.open(at: path)
        let app = try #require(try store.registeredApp("old"))
        #expect(app.downloads == [] && app.allowedTypes == [] && app.keepDeployments == nil && app.keepDays == nil)
        try store.pool.write { db in
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE registered_apps SET keep_deployments = 0") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE registered_apps SET keep_days = -1") }
        }
    }

    /// A store made before `v7-app-build-env` keeps its registered apps, with no build variables
    /// and no secrets.
    @Test func buildEnvironmentMigratesAnOlderRegistry() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/old"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            let pool = try DatabasePool(path: path + "/store.sqlite")
            try StoreMigrations.migrator.migrate(pool, upTo: "v6-app-publish-settings")
            try pool.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO registered_apps (name, target_type, created_at, updated_at, keep_days) VALUES ('old', 'javascript_web', 1, 1, 3)"
                )
            }
        }
        let store = try Store.open(at: path)
        let app = try #require(try store.registeredApp("old"))
        #expect(app.buildEnv == [:] && app.buildSecretNames == [] && app.keepDays == 3)
        let environment = try store.appBuildEnvironment("old")
        #expect(environment.variables.isEmpty && environment.secrets.isEmpty)
    }

    @Test func manyConnectionsOpeningANewStoreAtOnceAllSucceed() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/fresh"
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do { _ = try Store.open(at: path) } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 } == [])
    }

    @Test func theSchemaRefusesUnsafeAppNamesAndMalformedHashes() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        try store.pool.write { db in
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO apps VALUES ('Bad App', 0)") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO apps VALUES ('-x', 0)") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO blobs VALUES ('abc', 1, x'00', 0)") }
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO blobs VALUES (?, 5, x'00', 0)", arguments: [String(repeating: "a", count: 64)])
            }
        }
    }

    @Test func theSchemaRefusesAnAliasToAnotherAppsDeployment() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/index.html", "x")
        let a = try store.publish(PublishRequest(app: "app-a", directory: source)).deployment.id
        try store.publish(PublishRequest(app: "app-b", directory: source))
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in try Aliases.point(db, app: "app-b", at: a, now: 0) }
        }
        #expect(try store.currentDeployment(app: "app-b")?.id != a)
    }
}

extension MigrationTests {
    @Test func openingCreatesMissingParentDirectoriesAndRefusesAPathThatIsAFile() throws {
        let dir = TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/a/b/c/store")
        #expect(try store.apps() == [])
        let file = try dir.write("not-a-dir", "x")
        #expect(throws: StoreError.self) { try Store.open(at: file + "/store") }
    }
}

import GRDB

/// Opens the store's SQLite file as a GRDB `DatabasePool`: WAL (readers never block the one
/// writer), a busy timeout so the edge, the scheduler and the CLI can share the file from
/// different processes, foreign keys on, and migrations applied.
enum StoreDatabase {
    static func open(path: String, busyTimeoutSeconds: Double) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeoutSeconds)
        configuration.label = "wharf.store"
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            // FULL: the WAL is synced at every commit, so a published alias survives power loss.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try StoreMigrations.migrator.migrate(pool)
        return pool
    }
}

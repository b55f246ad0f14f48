import ArtifactStore
import Foundation
import GRDB

/// The scheduler's own SQLite database (`<store>/scheduler.sqlite`): a WAL `DatabasePool` with a busy
/// timeout, migrated on open. Separate from the artifact store's database so builds never block serving.
public struct SchedulerDatabase: Sendable {
    let writer: any DatabaseWriter
    /// The file path, nil for an in-memory database.
    public let path: String?

    /// Opens (creating if needed) and migrates the database at `path`.
    /// - Parameter busyTimeout: how long a writer waits for another process's write lock.
    public static func open(path: String, busyTimeout: Double = 5) throws -> SchedulerDatabase {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash can lose the last ones.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try MigrationLock.opening(databasePath: path) {
            let pool = try DatabasePool(path: path, configuration: config)
            try SchedulerMigrations.migrator.migrate(pool)
            return pool
        }
        return SchedulerDatabase(writer: pool, path: path)
    }

    /// A private in-memory database, for the simulator (same schema, no file).
    static func inMemory() throws -> SchedulerDatabase {
        let queue = try DatabaseQueue()
        try SchedulerMigrations.migrator.migrate(queue)
        return SchedulerDatabase(writer: queue, path: nil)
    }

    /// Size in bytes of the database file plus its WAL, 0 in memory.
    public func fileSize() -> Int64 {
        guard let path else { return 0 }
        let fm = FileManager.default
        return [path, path + "-wal"].reduce(0) { sum, file in
            sum + ((try? fm.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    /// Moves the WAL into the main file (after bulk work, before measuring the file).
    public func checkpoint() throws {
        try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }
}

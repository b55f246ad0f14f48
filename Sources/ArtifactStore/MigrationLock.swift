import GRDB

/// Applies a GRDB migrator under an exclusive `flock` on `<database>-migrate.lock`. GRDB serialises
/// migrations only within one database connection pool, so two processes (or two pools) opening a
/// fresh database at once could both find a migration unapplied, and the second fail half-way
/// (`duplicate column name`): seen when `wharf build submit` ran while `wharf scheduler` was still
/// starting on a new store. Holding the lock, the second one finds everything applied (the artifact
/// store takes its own `<store>/migrate.lock` around its whole open, so it does not use this). The kernel
/// drops the lock if its holder dies.
public enum MigrationLock {
    /// Migrates `writer`, the database at `databasePath`, waiting up to `timeoutSeconds` for another
    /// process's migration to end.
    public static func migrate(_ migrator: DatabaseMigrator, _ writer: any DatabaseWriter, databasePath: String,
                               timeoutSeconds: Double = 60) throws {
        let lock = try StoreLock(path: databasePath + "-migrate.lock", mode: .exclusive, timeoutSeconds: timeoutSeconds,
                                 busy: "another process has been migrating this database for \(Int(timeoutSeconds)) s")
        try withExtendedLifetime(lock) { try migrator.migrate(writer) }
    }
}

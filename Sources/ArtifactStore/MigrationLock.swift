/// Opens and migrates a database under an exclusive `flock` on `<database>-migrate.lock`. GRDB
/// serialises migrations only within one connection pool, so two processes (or two pools) opening a
/// fresh database at once could both find a migration unapplied, and the second fail half-way
/// (`duplicate column name`), or meet the other's first `PRAGMA journal_mode = WAL` and get
/// "database is locked": seen when `wharf build submit` ran while `wharf scheduler` was still
/// starting on a new store. Holding the lock, the second one finds the file in WAL mode and every
/// migration applied. (The artifact store takes its own `<store>/migrate.lock` around its whole
/// open, so it does not use this.) The kernel drops the lock if its holder dies.
public enum MigrationLock {
    /// Runs `open` (create the pool, migrate it) while no other process runs it for `databasePath`,
    /// waiting up to `timeoutSeconds` for one that does.
    public static func opening<T>(databasePath: String, timeoutSeconds: Double = 60, _ open: () throws -> T) throws -> T {
        let lock = try StoreLock(
            path: databasePath + "-migrate.lock", mode: .exclusive, timeoutSeconds: timeoutSeconds,
            busy: "another process has been opening this database for \(Int(timeoutSeconds)) s")
        return try withExtendedLifetime(lock) { try open() }
    }
}

import GRDB

/// What `gc` removed.
public struct GarbageReport: Sendable, Equatable {
    /// Deployments dropped by retention (beyond the newest N per app, not aliased).
    public var deploymentsRemoved = 0
    /// Blob rows no retained deployment references (identity and variants).
    public var blobsRemoved = 0
    public var bytesFreed: Int64 = 0
    /// Blob files on disk with no row (left by crashed or failed publishes).
    public var orphanFilesRemoved = 0
    /// Leftover temporary files of interrupted publishes.
    public var temporaryFilesRemoved = 0
    /// `dcz` deltas whose new or old version (the dictionary) no retained deployment holds any more.
    public var deltasRemoved = 0
}

extension Store {
    /// Applies retention to every app, then deletes blobs and files nothing retained uses.
    /// Holds the store lock exclusively, so it waits for running publishes and never removes
    /// a file a publish is about to commit.
    @discardableResult
    public func collectGarbage() throws -> GarbageReport {
        let lock = try StoreLock(path: lockPath, mode: .exclusive, timeoutSeconds: options.busyTimeoutSeconds)
        defer { withExtendedLifetime(lock) {} }
        var report = GarbageReport()
        let retained = options.retainedDeploymentsPerApp
        do {
            let removedFiles = try pool.write { db -> [String] in
                for app in try String.fetchAll(db, sql: "SELECT name FROM apps") {
                    report.deploymentsRemoved += try Retention.prune(db, app: app, keep: retained)
                }
                try db.execute(sql: "DELETE FROM variants WHERE source_hash NOT IN (SELECT blob_hash FROM files)")
                // A delta is useless once either side left retention: nobody is served the new
                // version, or no browser is told to keep the old one any more.
                try db.execute(
                    sql: """
                        DELETE FROM deltas WHERE source_hash NOT IN (SELECT blob_hash FROM files)
                                              OR dictionary_hash NOT IN (SELECT blob_hash FROM files)
                        """)
                report.deltasRemoved = db.changesCount
                let unused = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT hash, size, data IS NULL AS on_disk FROM blobs
                        WHERE hash NOT IN (SELECT blob_hash FROM files) AND hash NOT IN (SELECT blob_hash FROM variants)
                          AND hash NOT IN (SELECT blob_hash FROM deltas)
                        """)
                var onDisk: [String] = []
                for row in unused {
                    let hash: String = row["hash"]
                    try db.execute(sql: "DELETE FROM blobs WHERE hash = ?", arguments: [hash])
                    report.blobsRemoved += 1
                    report.bytesFreed += row["size"] as Int64
                    if row["on_disk"] as Bool { onDisk.append(hash) }
                }
                return onDisk
            }
            for hash in removedFiles { blobFiles.remove(hash: hash) }

            // Files without a row: a publish that crashed or failed after writing them.
            let known = Set(try pool.read { db in try String.fetchAll(db, sql: "SELECT hash FROM blobs WHERE data IS NULL") })
            for hash in try blobFiles.allHashes() where !known.contains(hash) {
                report.bytesFreed += blobFiles.size(of: hash) ?? 0
                blobFiles.remove(hash: hash)
                report.orphanFilesRemoved += 1
            }
            report.temporaryFilesRemoved = try blobFiles.clearTemporaryFiles()
        } catch {
            throw StoreError.from(error, path: path)
        }
        return report
    }
}

import Foundation
import GRDB

/// The result of `verify`: what was checked and every problem found.
public struct VerifyReport: Sendable {
    public var blobsChecked = 0
    public var bytesChecked: Int64 = 0
    public var variantsChecked = 0
    /// `dcz` deltas checked (decoded against their dictionary with `deep`).
    public var deltasChecked = 0
    public var deploymentsChecked = 0
    /// Human-readable problems; empty means healthy.
    public var problems: [String] = []
    /// Unreferenced files on disk (garbage for `gc`, not a problem).
    public var garbageFiles = 0

    public var isHealthy: Bool { problems.isEmpty }
}

extension Store {
    /// Re-hashes every blob (inline and on disk, identity and variants), checks that every
    /// deployment's files and entry point resolve and every alias points at a complete
    /// deployment, and runs SQLite's own integrity and foreign-key checks. With `deep`, also
    /// decodes every variant and every `dcz` delta (against its dictionary) and compares it with its source.
    public func verify(deep: Bool = false) throws -> VerifyReport {
        var report = VerifyReport()
        do {
            try pool.read { db in
                let integrity = try String.fetchAll(db, sql: "PRAGMA quick_check")
                if integrity != ["ok"] { report.problems += integrity.map { "database: \($0)" } }
                let foreign = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
                for row in foreign { report.problems.append("database: broken reference in table \(row[0] as String? ?? "?")") }
                let deployments = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT d.id, d.file_count, d.entry_point, (SELECT count(*) FROM files f WHERE f.deployment_id = d.id) AS actual
                        FROM deployments d
                        """)
                for row in deployments {
                    let id: String = row["id"]
                    report.deploymentsChecked += 1
                    if (row["file_count"] as Int) != (row["actual"] as Int) {
                        report.problems.append(
                            "deployment \(id): manifest lists \(row["file_count"] as Int) files, store has \(row["actual"] as Int)")
                    }
                    if let entry = row["entry_point"] as String?,
                        try Bool.fetchOne(db, sql: "SELECT 1 FROM files WHERE deployment_id = ? AND path = ?", arguments: [id, entry]) != true
                    {
                        report.problems.append("deployment \(id): entry point \(entry) is missing")
                    }
                }
                let dangling = try String.fetchAll(db, sql: "SELECT app FROM aliases WHERE deployment_id NOT IN (SELECT id FROM deployments)")
                report.problems += dangling.map { "alias \($0): points at a missing deployment" }
            }

            let blobs = try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT hash, size, data IS NULL AS on_disk FROM blobs").map {
                    (hash: $0["hash"] as String, size: $0["size"] as Int64, onDisk: $0["on_disk"] as Bool)
                }
            }
            var onDiskHashes: Set<String> = []
            for blob in blobs {
                report.blobsChecked += 1
                report.bytesChecked += blob.size
                if blob.onDisk { onDiskHashes.insert(blob.hash) }
                if let problem = check(hash: blob.hash, size: blob.size, onDisk: blob.onDisk) {
                    report.problems.append("blob \(blob.hash): \(problem)")
                }
            }

            let variants = try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT source_hash, coding, blob_hash FROM variants").map {
                    (source: $0["source_hash"] as String, coding: $0["coding"] as String, blob: $0["blob_hash"] as String)
                }
            }
            for variant in variants {
                report.variantsChecked += 1
                if deep,
                    let problem = VariantBuilder.checkDecodes(
                        store: self, source: variant.source,
                        coding: variant.coding, variant: variant.blob)
                {
                    report.problems.append("variant \(variant.coding) of \(variant.source): \(problem)")
                }
            }
            let deltas = try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT source_hash, dictionary_hash, blob_hash FROM deltas").map {
                    (source: $0[0] as String, dictionary: $0[1] as String, blob: $0[2] as String)
                }
            }
            for delta in deltas {
                report.deltasChecked += 1
                if deep,
                    let problem = DeltaBuilder.checkDecodes(
                        store: self, source: delta.source,
                        dictionary: delta.dictionary, delta: delta.blob)
                {
                    report.problems.append("dcz delta of \(delta.source) against \(delta.dictionary): \(problem)")
                }
            }
            report.garbageFiles = try blobFiles.allHashes().filter { !onDiskHashes.contains($0) }.count
        } catch {
            throw StoreError.from(error, path: path)
        }
        return report
    }

    /// Re-hashes one blob; returns a problem description or nil.
    private func check(hash: String, size: Int64, onDisk: Bool) -> String? {
        if onDisk {
            guard let actualSize = blobFiles.size(of: hash) else { return "file \(blobFiles.path(for: hash)) is missing" }
            guard actualSize == size else { return "file is \(actualSize) bytes, expected \(size)" }
            var hasher = ContentHash()
            do {
                try StreamingFile.forEachChunk(blobFiles.path(for: hash)) { hasher.update($0) }
            } catch {
                return "unreadable: \(error)"
            }
            let actual = hasher.finalizeHex()
            return actual == hash ? nil : "content hashes to \(actual)"
        }
        guard let data = try? pool.read({ db in try Data.fetchOne(db, sql: "SELECT data FROM blobs WHERE hash = ?", arguments: [hash]) }) else {
            return "inline data unreadable"
        }
        let actual = ContentHash.of([UInt8](data))
        return actual == hash ? nil : "inline content hashes to \(actual)"
    }
}

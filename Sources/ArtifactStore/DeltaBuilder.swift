import Compression
import Foundation
import GRDB
import Synchronization

/// A `dcz` delta made ready by a publish, before the commit.
struct IngestedDelta: Sendable {
    var sourceHash: String
    var dictionaryHash: String
    var blob: IngestedBlob
}

/// Builds RFC 9842 `dcz` deltas at publish: for each versioned asset of the new deployment, one
/// delta against each different version of the same asset (same `DictionaryPattern`) in the
/// app's last `deltaDepth` deployments, which is what a returning browser holds as a dictionary.
/// Pairs already in the store are skipped; the rest run on all cores. A delta is kept only when
/// smaller than the asset's smallest br/zstd variant (or its identity size when it has none).
/// `dcb` (brotli with a shared dictionary) is not built: Debian 12's libbrotli 1.0.9 has no
/// shared-dictionary API (it arrived in brotli 1.1.0).
struct DeltaBuilder {
    let store: Store
    let options: StoreOptions

    struct NewFile {
        var path: String
        var blob: IngestedBlob
        var contentType: String
    }

    struct Result {
        var deltas: [IngestedDelta] = []
        var createdFiles: [String] = []
        /// Pairs compressed, and how many were dropped for not beating br/zstd.
        var attempted = 0
    }

    private struct Job: Sendable {
        var source: IngestedBlob
        var dictionaryHash: String
        var baseline: Int64
    }

    /// `listed`: the app's exact dictionary paths (`dictionary-paths`), matched by their own URL.
    func build(app: String, files: [NewFile], variants: [IngestedVariant], listed: Set<String> = []) throws -> Result {
        guard options.dictionaryDeltas, let hashedName = try? Regex(options.hashedNamePattern) else { return Result() }
        var candidates: [(pattern: String, file: NewFile)] = []
        for file in files
        where DictionaryPattern.isDictionaryType(file.contentType)
            && file.blob.size > 0 && file.blob.size <= options.maxDeltaInputSize
        {
            guard let pattern = DictionaryPattern.of(path: file.path, hashedName: hashedName, listed: listed) else { continue }
            candidates.append((pattern.absolute, file))
        }
        guard !candidates.isEmpty else { return Result() }

        let depth = options.deltaDepth
        let maxInput = options.maxDeltaInputSize
        // Earlier versions by pattern, the plain variants' sizes, and the pairs already built.
        let (previous, existingPairs, plainSizes) = try store.pool.read { db in
            var previous: [String: Set<String>] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT f.path, f.blob_hash FROM files f JOIN blobs b ON b.hash = f.blob_hash
                    WHERE b.size > 0 AND b.size <= ? AND f.deployment_id IN
                        (SELECT id FROM deployments WHERE app = ? ORDER BY seq DESC LIMIT ?)
                    """, arguments: [maxInput, app, depth])
            for row in rows {
                let path: String = row["path"]
                guard let pattern = DictionaryPattern.of(path: path, hashedName: hashedName, listed: listed) else { continue }
                previous[pattern.absolute, default: []].insert(row["blob_hash"])
            }
            let sourceHashes = Array(Set(candidates.map(\.file.blob.hash)))
            var existing: Set<String> = []
            var sizes: [String: Int64] = [:]
            for chunk in stride(from: 0, to: sourceHashes.count, by: 500) {
                let slice = Array(sourceHashes[chunk..<min(chunk + 500, sourceHashes.count)])
                let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                for row in try Row.fetchAll(
                    db, sql: "SELECT source_hash, dictionary_hash FROM deltas WHERE source_hash IN (\(placeholders))",
                    arguments: StatementArguments(slice))
                {
                    existing.insert((row[0] as String) + ":" + (row[1] as String))
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT v.source_hash, min(b.size) FROM variants v JOIN blobs b ON b.hash = v.blob_hash
                        WHERE v.coding IN ('br', 'zstd') AND v.source_hash IN (\(placeholders)) GROUP BY v.source_hash
                        """, arguments: StatementArguments(slice))
                {
                    sizes[row[0]] = row[1]
                }
            }
            return (previous, existing, sizes)
        }
        var baselines = plainSizes
        for variant in variants where variant.coding == "br" || variant.coding == "zstd" {
            baselines[variant.sourceHash] = min(baselines[variant.sourceHash] ?? .max, variant.blob.size)
        }

        var jobs: [Job] = []
        var seen: Set<String> = []
        for (pattern, file) in candidates {
            for old in (previous[pattern] ?? []).sorted() where old != file.blob.hash {
                let key = file.blob.hash + ":" + old
                guard !existingPairs.contains(key), seen.insert(key).inserted else { continue }
                jobs.append(Job(source: file.blob, dictionaryHash: old, baseline: baselines[file.blob.hash] ?? file.blob.size))
            }
        }
        guard !jobs.isEmpty else { return Result() }
        return try run(jobs)
    }

    private func run(_ jobs: [Job]) throws -> Result {
        let builder = self
        let (finished, failure) = ParallelJobs.run(
            count: jobs.count, threads: options.compressionThreads,
            failure: { index, error in StoreError.from(error, path: jobs[index].source.readPath) }
        ) { index in
            try builder.encode(jobs[index])
        }
        var result = Result()
        result.attempted = jobs.count
        result.createdFiles = finished.values.compactMap(\.1)
        if let error = failure {
            for hash in result.createdFiles { store.blobFiles.remove(hash: hash) }
            throw error
        }
        result.deltas = (0..<jobs.count).compactMap { finished[$0]?.0 }
        return result
    }

    /// One delta: both sides read whole, encoded, kept if it beats the baseline.
    private func encode(_ job: Job) throws -> (IngestedDelta?, String?) {
        let input = try job.source.inlineBytes ?? FileSystem.readFile(job.source.readPath)
        let dictionary: [UInt8]
        switch try store.body(hash: job.dictionaryHash) {
        case .bytes(let bytes): dictionary = bytes
        case .file(let path, _, _): dictionary = try FileSystem.readFile(path)
        }
        guard ContentHash.of(dictionary) == job.dictionaryHash else {
            throw StoreError.corruptBlob(hash: job.dictionaryHash, reason: "its bytes do not match its hash")
        }
        let encoded: [UInt8]
        do {
            encoded = try DictionaryZstd.encode(
                input, dictionary: dictionary, dictionaryHash: Self.bytes(hex: job.dictionaryHash),
                level: options.deltaLevel)
        } catch let error as CodecError {
            throw StoreError.io(path: job.source.readPath, reason: "dcz compression failed: \(error)")
        }
        guard Int64(encoded.count) < job.baseline else { return (nil, nil) }
        let hash = ContentHash.of(encoded)
        if encoded.count <= options.inlineThreshold {
            let blob = IngestedBlob(hash: hash, size: Int64(encoded.count), inlineBytes: encoded, readPath: "")
            return (IngestedDelta(sourceHash: job.source.hash, dictionaryHash: job.dictionaryHash, blob: blob), nil)
        }
        let created = try store.blobFiles.write(encoded, hash: hash)
        let blob = IngestedBlob(hash: hash, size: Int64(encoded.count), inlineBytes: nil, readPath: store.blobFiles.path(for: hash))
        return (IngestedDelta(sourceHash: job.source.hash, dictionaryHash: job.dictionaryHash, blob: blob), created ? hash : nil)
    }

    /// 64 hex digits → 32 bytes.
    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v: UInt8 = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}

extension DeltaBuilder {
    /// Decodes a stored delta against its dictionary and compares it with its source; a problem or nil.
    static func checkDecodes(store: Store, source: String, dictionary: String, delta: String) -> String? {
        func bytes(_ hash: String) throws -> [UInt8] {
            switch try store.body(hash: hash) {
            case .bytes(let bytes): return bytes
            case .file(let path, _, _): return try FileSystem.readFile(path)
            }
        }
        do {
            let original = try bytes(source)
            let decoded = try DictionaryZstd.decode(
                try bytes(delta), dictionary: try bytes(dictionary),
                dictionaryHash: Self.bytes(hex: dictionary), maxOutputBytes: original.count)
            return decoded == original ? nil : "decodes to different bytes"
        } catch {
            return "does not decode: \(error)"
        }
    }
}

import Foundation
import GRDB
import Glibc
import HTTPCore

extension Store {
    /// Publishes a built directory as a new deployment of `request.app` and (by default)
    /// points the app's alias at it, atomically: blobs and variants are written first, then
    /// the manifest and the alias switch commit in one SQLite transaction. Bad input is found
    /// before anything is written; any failure leaves the store as it was (a crash leaves only
    /// unreferenced files, which `gc` removes).
    @discardableResult
    public func publish(
        _ request: PublishRequest,
        progress: (@Sendable (PublishProgress) -> Void)? = nil
    ) throws -> PublishReport {
        try Publisher(store: self, progress: progress).run(request)
    }
}

/// One publish, start to finish. Tracks the blob files it created so that a failure removes them.
final class Publisher {
    private let store: Store
    private let progress: (@Sendable (PublishProgress) -> Void)?
    private var createdFiles: [String] = []
    private var blobsByHash: [String: IngestedBlob] = [:]
    private var newBlobCount = 0

    init(store: Store, progress: (@Sendable (PublishProgress) -> Void)?) {
        self.store = store
        self.progress = progress
    }

    func run(_ request: PublishRequest) throws -> PublishReport {
        let started = Date()
        try AppName.validate(request.app)
        let sources = try SourceTree.scan(request.directory, maxFileSize: store.options.maxFileSize)
        let policy: CachePolicy
        do {
            policy = try CachePolicy(
                hashedNamePattern: store.options.hashedNamePattern,
                defaultCacheControl: store.options.defaultCacheControl)
        } catch {
            throw StoreError.invalidOption("hashedNamePattern is not a valid regular expression")
        }

        // The per-app dictionary switch is sticky: a publish that does not say inherits it from
        // the app's newest deployment, so `--dictionaries off` once turns deltas off for good.
        var request = request
        for key in [DictionarySetting.metadataKey, DictionarySetting.pathsKey] where request.metadata[key] == nil {
            if let inherited = try store.pool.read({ db in
                try String.fetchOne(
                    db, sql: "SELECT json_extract(metadata, '$.\"' || ? || '\"') FROM deployments WHERE app = ? ORDER BY seq DESC LIMIT 1",
                    arguments: [key, request.app])
            }) {
                request.metadata[key] = inherited
            }
        }
        let lock = try StoreLock(path: store.lockPath, mode: .shared, timeoutSeconds: 3600)
        defer { withExtendedLifetime(lock) {} }
        do {
            var hashesByPath: [String: String] = [:]
            for (index, source) in sources.enumerated() {
                let blob = try ingest(source)
                hashesByPath[source.urlPath] = blob.hash
                progress?(PublishProgress(phase: .storing, done: index + 1, total: sources.count))
            }

            let contentTypes = Dictionary(
                sources.map { ($0.urlPath, MediaType.contentType(forPath: $0.urlPath)) },
                uniquingKeysWith: { a, _ in a })
            let compressible = uniqueCompressibleBlobs(sources: sources, hashesByPath: hashesByPath, contentTypes: contentTypes)
            let pending = try blobsNeedingVariants(compressible)
            let variantResult = try VariantBuilder(options: store.options, blobFiles: store.blobFiles, progress: progress)
                .build(for: pending)
            createdFiles += variantResult.createdFiles

            var deltaResult = DeltaBuilder.Result()
            if DictionarySetting.isEnabled(metadata: request.metadata) {
                let newFiles = sources.compactMap { source -> DeltaBuilder.NewFile? in
                    guard let hash = hashesByPath[source.urlPath], let blob = blobsByHash[hash] else { return nil }
                    return DeltaBuilder.NewFile(path: source.urlPath, blob: blob, contentType: contentTypes[source.urlPath] ?? "")
                }
                deltaResult = try DeltaBuilder(store: store, options: store.options)
                    .build(
                        app: request.app, files: newFiles, variants: variantResult.variants,
                        listed: DictionarySetting.listedPaths(metadata: request.metadata))
                createdFiles += deltaResult.createdFiles
            }

            let now = Int64(Date().timeIntervalSince1970)
            let pathSet = Set(sources.map(\.urlPath))
            let sourcesByPath = Dictionary(sources.map { ($0.urlPath, $0) }, uniquingKeysWith: { a, _ in a })
            var rows: [FileRow] = []
            for source in sources {
                let contentType = contentTypes[source.urlPath] ?? MediaType.fallback
                var hints: [PreloadHint] = []
                if contentType.hasPrefix("text/html") {
                    hints = preloadHints(for: source, pathSet: pathSet, sourcesByPath: sourcesByPath)
                }
                rows.append(
                    FileRow(
                        path: source.urlPath, blobHash: hashesByPath[source.urlPath]!,
                        contentType: contentType, lastModified: min(source.modifiedAt, now),
                        cacheControl: policy.cacheControl(forPath: source.urlPath), hints: hints))
            }

            progress?(PublishProgress(phase: .committing, done: 0, total: 1))
            let id = DeploymentID.make()
            let entryPoint = pathSet.contains("/index.html") ? "/index.html" : nil
            try commit(
                request: request, id: id, entryPoint: entryPoint, rows: rows, variants: variantResult.variants,
                deltas: deltaResult.deltas)
            guard let manifest = try store.deployment(id: id) else { throw StoreError.deploymentNotFound(id) }
            return PublishReport(
                deployment: manifest, newBlobs: newBlobCount,
                reusedBlobs: blobsByHash.count - newBlobCount,
                variantsCreated: variantResult.variants.count,
                deltasCreated: deltaResult.deltas.count,
                seconds: Date().timeIntervalSince(started))
        } catch {
            for hash in createdFiles { store.blobFiles.remove(hash: hash) }
            throw StoreError.from(error, path: store.path)
        }
    }

    // MARK: - Blobs

    /// Stores one source file as a blob (inline bytes, or a file under `blobs/`), deduplicated.
    private func ingest(_ source: SourceFile) throws -> IngestedBlob {
        let threshold = store.options.inlineThreshold
        if source.size <= Int64(threshold) {
            let bytes = try FileSystem.readFile(source.filePath, limit: threshold)
            let hash = ContentHash.of(bytes)
            if let known = blobsByHash[hash] { return known }
            let blob = IngestedBlob(hash: hash, size: Int64(bytes.count), inlineBytes: bytes, readPath: source.filePath)
            if try !storeHasBlob(hash) { newBlobCount += 1 }
            blobsByHash[hash] = blob
            return blob
        }
        // Large: hash first (reading is cheaper than writing); copy only unknown content.
        var hasher = ContentHash()
        try StreamingFile.forEachChunk(source.filePath) { chunk in hasher.update(chunk) }
        let hash = hasher.finalizeHex()
        if let known = blobsByHash[hash] { return known }
        let blobPath = store.blobFiles.path(for: hash)
        let inStore = try storeHasBlob(hash)
        if !inStore { newBlobCount += 1 }
        if !inStore || store.blobFiles.size(of: hash) != source.size {
            let (temp, copiedHash, _) = try StreamingFile.copyToTemporary(source.filePath, blobFiles: store.blobFiles)
            guard copiedHash == hash else {
                FileSystem.unlink(temp)
                throw StoreError.unreadableFile(path: source.urlPath, reason: "the file changed while it was being published")
            }
            if try store.blobFiles.install(temporary: temp, hash: hash) { createdFiles.append(hash) }
        }
        let blob = IngestedBlob(hash: hash, size: source.size, inlineBytes: nil, readPath: blobPath)
        blobsByHash[hash] = blob
        return blob
    }

    private func storeHasBlob(_ hash: String) throws -> Bool {
        try store.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE hash = ?", arguments: [hash]) ?? false
        }
    }

    private func uniqueCompressibleBlobs(
        sources: [SourceFile], hashesByPath: [String: String],
        contentTypes: [String: String]
    ) -> [IngestedBlob] {
        var seen: Set<String> = []
        var result: [IngestedBlob] = []
        for source in sources {
            guard let hash = hashesByPath[source.urlPath], let blob = blobsByHash[hash],
                MediaType.isCompressible(contentTypes[source.urlPath] ?? ""),
                blob.size > 0, blob.size <= store.options.maxVariantInputSize,
                seen.insert(hash).inserted
            else { continue }
            result.append(blob)
        }
        return result
    }

    /// Blobs whose variants are not in the store yet (republished content reuses them).
    private func blobsNeedingVariants(_ blobs: [IngestedBlob]) throws -> [IngestedBlob] {
        guard !blobs.isEmpty else { return [] }
        let existing = try store.pool.read { db -> Set<String> in
            var found: Set<String> = []
            for chunk in stride(from: 0, to: blobs.count, by: 500) {
                let slice = blobs[chunk..<min(chunk + 500, blobs.count)].map(\.hash)
                let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                let hashes = try String.fetchAll(
                    db, sql: "SELECT DISTINCT source_hash FROM variants WHERE source_hash IN (\(placeholders))",
                    arguments: StatementArguments(slice))
                found.formUnion(hashes)
            }
            return found
        }
        return blobs.filter { !existing.contains($0.hash) }
    }

    // MARK: - Preload hints

    private func preloadHints(for source: SourceFile, pathSet: Set<String>, sourcesByPath: [String: SourceFile]) -> [PreloadHint] {
        let textLimit = 4 * 1024 * 1024
        guard source.size <= textLimit, let html = try? FileSystem.readFile(source.filePath, limit: textLimit) else { return [] }
        return PreloadHints.extract(
            html: String(decoding: html, as: UTF8.self), documentPath: source.urlPath,
            limit: store.options.maxPreloadHints,
            fileExists: { pathSet.contains($0) },
            readText: { path in
                guard let file = sourcesByPath[path], file.size <= textLimit,
                    let bytes = try? FileSystem.readFile(file.filePath, limit: textLimit)
                else { return nil }
                return String(decoding: bytes, as: UTF8.self)
            })
    }

    // MARK: - Commit

    struct FileRow {
        var path: String
        var blobHash: String
        var contentType: String
        var lastModified: Int64
        var cacheControl: String
        var hints: [PreloadHint]
    }

    /// Manifest and alias switch in one transaction: readers see the old alias or the new
    /// deployment complete, never a mix.
    private func commit(
        request: PublishRequest, id: String, entryPoint: String?, rows: [FileRow], variants: [IngestedVariant],
        deltas: [IngestedDelta]
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let metadata = String(decoding: try encoder.encode(request.metadata), as: UTF8.self)
        let hintsJSON = try rows.map { String(decoding: try encoder.encode($0.hints), as: UTF8.self) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let blobs = Array(blobsByHash.values)
        let retained = store.options.retainedDeploymentsPerApp
        let totalSize = rows.reduce(Int64(0)) { $0 + (blobsByHash[$1.blobHash]?.size ?? 0) }

        try store.pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO apps (name, created_at) VALUES (?, ?)", arguments: [request.app, now])
            for blob in blobs + variants.map(\.blob) + deltas.map(\.blob) {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO blobs (hash, size, data, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [blob.hash, blob.size, blob.inlineBytes.map { Data($0) }, now])
            }
            for variant in variants {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO variants (source_hash, coding, blob_hash) VALUES (?, ?, ?)",
                    arguments: [variant.sourceHash, variant.coding, variant.blob.hash])
            }
            for delta in deltas {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO deltas (source_hash, dictionary_hash, coding, blob_hash) VALUES (?, ?, 'dcz', ?)",
                    arguments: [delta.sourceHash, delta.dictionaryHash, delta.blob.hash])
            }
            try db.execute(
                sql: """
                    INSERT INTO deployments (id, app, version, message, metadata, created_at, entry_point, file_count, total_size)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, request.app, request.version, request.message, metadata, now, entryPoint, rows.count, totalSize])
            for (row, hints) in zip(rows, hintsJSON) {
                try db.execute(
                    sql: """
                        INSERT INTO files (deployment_id, path, blob_hash, content_type, last_modified, cache_control, preload_hints)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [id, row.path, row.blobHash, row.contentType, row.lastModified, row.cacheControl, hints])
            }
            if request.activate {
                try Aliases.point(db, app: request.app, at: id, now: now)
            }
            try Retention.prune(db, app: request.app, keep: retained)
        }
    }
}

/// Deployment ids: UTC creation second plus 24 random bits, sortable by eye and unique.
enum DeploymentID {
    static func make() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1,
            parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
        let random = UInt32.random(in: 0...0xff_ffff)
        return stamp + "-" + String(format: "%06x", random)
    }
}

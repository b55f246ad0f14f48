import Foundation
import GRDB
import Glibc

/// What an origin tells its edges: every app's current deployment as the store keeps it (the
/// deployment row, its files with their stored headers and preload hints, the blobs with their
/// sizes, the variants and deltas the origin built), and the origin's alias generation.
///
/// Why rows and not a rendered manifest: an edge imports them into its own `Store` unchanged, so
/// the catalogue, planner, ETags (derived from the hashes), negotiation and dictionary deltas of a
/// tier edge are the ones every edge runs; nothing is recomputed or recompressed at the edge.
public struct ReplicaState: Codable, Sendable, Equatable {
    /// The document's format; an edge refuses any other.
    static let currentFormat = 1

    public var format: Int
    /// The origin's `aliasGeneration()` when the state was read.
    public var generation: Int64
    public var aliases: [Alias]
    public var deployments: [Deployment]
    public var blobs: [Blob]
    public var variants: [Variant]
    public var deltas: [Delta]

    public struct Alias: Codable, Sendable, Equatable {
        public var app: String
        public var deployment: String
        public init(app: String, deployment: String) {
            self.app = app
            self.deployment = deployment
        }
    }

    public struct Deployment: Codable, Sendable, Equatable {
        public var id: String
        public var app: String
        public var version: String?
        public var message: String?
        /// The stored metadata JSON text (opaque to the edge's importer).
        public var metadata: String
        public var createdAt: Int64
        public var entryPoint: String?
        public var totalSize: Int64
        public var files: [File]
    }

    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var blob: String
        public var contentType: String
        public var lastModified: Int64
        public var cacheControl: String
        /// The stored preload hints JSON text.
        public var preloadHints: String
    }

    public struct Blob: Codable, Sendable, Equatable {
        public var hash: String
        public var size: Int64
        public init(hash: String, size: Int64) {
            self.hash = hash
            self.size = size
        }
    }

    public struct Variant: Codable, Sendable, Equatable {
        public var source: String
        public var coding: String
        public var blob: String
        public init(source: String, coding: String, blob: String) {
            self.source = source
            self.coding = coding
            self.blob = blob
        }
    }

    public struct Delta: Codable, Sendable, Equatable {
        public var source: String
        public var dictionary: String
        public var coding: String
        public var blob: String
        public init(source: String, dictionary: String, coding: String, blob: String) {
            self.source = source
            self.dictionary = dictionary
            self.coding = coding
            self.blob = blob
        }
    }

    /// Why a state was refused (the store is left as it was).
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { "replica state refused: \(reason)" }
    }

    /// Checks what the schema cannot: the format, every hash, that each referenced blob is listed
    /// with one size, that each alias names a listed deployment of its app. Throws `Invalid`.
    public func validate() throws {
        guard format == Self.currentFormat else { throw Invalid("format \(format), expected \(Self.currentFormat)") }
        var sizes: [String: Int64] = [:]
        for blob in blobs {
            guard ContentHash.isValidHex(blob.hash) else { throw Invalid("blob hash '\(blob.hash.prefix(80))' is not 64 hex digits") }
            guard blob.size >= 0, blob.size <= Self.maxBlobBytes else { throw Invalid("blob \(blob.hash) has size \(blob.size)") }
            if let other = sizes[blob.hash], other != blob.size { throw Invalid("blob \(blob.hash) listed with two sizes") }
            sizes[blob.hash] = blob.size
        }
        func listed(_ hash: String) throws {
            guard sizes[hash] != nil else { throw Invalid("blob '\(hash.prefix(80))' is referenced but not listed") }
        }
        for v in variants {
            guard VariantCoding.all.contains(v.coding) else { throw Invalid("variant coding '\(v.coding.prefix(40))'") }
            try listed(v.source)
            try listed(v.blob)
        }
        for d in deltas {
            guard d.coding == "dcz" else { throw Invalid("delta coding '\(d.coding.prefix(40))'") }
            try listed(d.source)
            try listed(d.dictionary)
            try listed(d.blob)
        }
        var appOf: [String: String] = [:]
        for deployment in deployments {
            guard !deployment.id.isEmpty, deployment.id.utf8.count <= 128 else { throw Invalid("deployment id '\(deployment.id.prefix(80))'") }
            guard !deployment.files.isEmpty else { throw Invalid("deployment \(deployment.id) has no files") }
            guard appOf.updateValue(deployment.app, forKey: deployment.id) == nil else { throw Invalid("deployment \(deployment.id) listed twice") }
            for file in deployment.files {
                guard file.path.hasPrefix("/"), !file.path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                    throw Invalid("file path '\(file.path.prefix(80))' of \(deployment.id)")
                }
                try listed(file.blob)
                for text in [file.contentType, file.cacheControl] where text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                    throw Invalid("a header of \(file.path.prefix(80)) holds control characters")
                }
            }
        }
        for alias in aliases {
            guard appOf[alias.deployment] == alias.app else { throw Invalid("alias \(alias.app) names a deployment it does not list") }
        }
    }

    /// The largest blob an origin may announce (the store's own per-file limit is 512 MiB).
    static let maxBlobBytes: Int64 = 1 << 32
}

extension Store {
    /// Every app's current deployment as rows, and the alias generation, read in one transaction
    /// (the origin's `GET /_wharf/api/replica/state`).
    public func replicaState() throws -> ReplicaState {
        try pool.read { db in
            let generation = try Int64.fetchOne(db, sql: "SELECT alias_generation FROM store_state WHERE id = 1") ?? 0
            var state = ReplicaState(
                format: ReplicaState.currentFormat, generation: generation, aliases: [], deployments: [],
                blobs: [], variants: [], deltas: [])
            for row in try Row.fetchAll(db, sql: "SELECT app, deployment_id FROM aliases ORDER BY app") {
                state.aliases.append(.init(app: row[0], deployment: row[1]))
            }
            let ids = state.aliases.map(\.deployment)
            for id in ids {
                guard
                    let d = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT id, app, version, message, metadata, created_at, entry_point, total_size FROM deployments WHERE id = ?
                            """, arguments: [id])
                else { continue }
                var deployment = ReplicaState.Deployment(
                    id: d["id"], app: d["app"], version: d["version"], message: d["message"], metadata: d["metadata"],
                    createdAt: d["created_at"], entryPoint: d["entry_point"], totalSize: d["total_size"], files: [])
                for f in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT path, blob_hash, content_type, last_modified, cache_control, preload_hints
                        FROM files WHERE deployment_id = ? ORDER BY path
                        """, arguments: [id])
                {
                    deployment.files.append(
                        .init(
                            path: f[0], blob: f[1], contentType: f[2], lastModified: f[3],
                            cacheControl: f[4], preloadHints: f[5]))
                }
                state.deployments.append(deployment)
            }
            // The blobs those files use, their variants and deltas, and the blobs those are.
            let sources = "SELECT blob_hash FROM files WHERE deployment_id IN (SELECT deployment_id FROM aliases)"
            for v in try Row.fetchAll(db, sql: "SELECT source_hash, coding, blob_hash FROM variants WHERE source_hash IN (\(sources)) ORDER BY 1, 2")
            {
                state.variants.append(.init(source: v[0], coding: v[1], blob: v[2]))
            }
            for x in try Row.fetchAll(
                db,
                sql: """
                    SELECT source_hash, dictionary_hash, coding, blob_hash FROM deltas
                    WHERE source_hash IN (\(sources)) AND dictionary_hash IN (SELECT hash FROM blobs) ORDER BY 1, 2, 3
                    """)
            {
                state.deltas.append(.init(source: x[0], dictionary: x[1], coding: x[2], blob: x[3]))
            }
            for b in try Row.fetchAll(
                db,
                sql: """
                    SELECT hash, size FROM blobs WHERE hash IN (\(sources))
                       OR hash IN (SELECT blob_hash FROM variants WHERE source_hash IN (\(sources)))
                       OR hash IN (SELECT blob_hash FROM deltas WHERE source_hash IN (\(sources)))
                       OR hash IN (SELECT dictionary_hash FROM deltas WHERE source_hash IN (\(sources)))
                    ORDER BY hash
                    """)
            {
                state.blobs.append(.init(hash: b[0], size: b[1]))
            }
            return state
        }
    }

    /// Makes this store (an edge's replica) serve `state`: blobs are recorded with their sizes
    /// but no bytes (each is a blob file that stays absent until fetched), deployments and files
    /// are inserted as the origin has them, aliases switched, and deployments the state no longer
    /// names removed, all in one transaction: the catalogue sees the old state or the new one.
    /// A state that fails `validate()` or a schema check changes nothing. Returns whether any
    /// alias changed.
    @discardableResult
    public func importReplica(_ state: ReplicaState) throws -> Bool {
        try state.validate()
        let now = Int64(Date().timeIntervalSince1970)
        do {
            return try pool.write { db in
                let before = try Int64.fetchOne(db, sql: "SELECT alias_generation FROM store_state WHERE id = 1") ?? 0
                for blob in state.blobs {
                    if let size = try Int64.fetchOne(db, sql: "SELECT size FROM blobs WHERE hash = ?", arguments: [blob.hash]) {
                        guard size == blob.size else {
                            throw ReplicaState.Invalid("blob \(blob.hash) has size \(size) here, \(blob.size) at the origin")
                        }
                        continue
                    }
                    try db.execute(
                        sql: "INSERT INTO blobs (hash, size, data, created_at) VALUES (?, ?, NULL, ?)",
                        arguments: [blob.hash, blob.size, now])
                }
                for v in state.variants {
                    try db.execute(
                        sql: "INSERT INTO variants (source_hash, coding, blob_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        arguments: [v.source, v.coding, v.blob])
                }
                for d in state.deltas {
                    try db.execute(
                        sql: "INSERT INTO deltas (source_hash, dictionary_hash, coding, blob_hash) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        arguments: [d.source, d.dictionary, d.coding, d.blob])
                }
                for deployment in state.deployments {
                    try db.execute(sql: "INSERT INTO apps (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [deployment.app, now])
                    if let app = try String.fetchOne(db, sql: "SELECT app FROM deployments WHERE id = ?", arguments: [deployment.id]) {
                        // Deployments never change once published: one already here is kept as it is.
                        guard app == deployment.app else { throw ReplicaState.Invalid("deployment \(deployment.id) belongs to \(app) here") }
                        continue
                    }
                    try db.execute(
                        sql: """
                            INSERT INTO deployments (id, app, version, message, metadata, created_at, entry_point, file_count, total_size)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            deployment.id, deployment.app, deployment.version, deployment.message, deployment.metadata,
                            deployment.createdAt, deployment.entryPoint, deployment.files.count, deployment.totalSize,
                        ])
                    for file in deployment.files {
                        try db.execute(
                            sql: """
                                INSERT INTO files (deployment_id, path, blob_hash, content_type, last_modified, cache_control, preload_hints)
                                VALUES (?, ?, ?, ?, ?, ?, ?)
                                """,
                            arguments: [
                                deployment.id, file.path, file.blob, file.contentType, file.lastModified,
                                file.cacheControl, file.preloadHints,
                            ])
                    }
                }
                let wanted = Dictionary(state.aliases.map { ($0.app, $0.deployment) }, uniquingKeysWith: { a, _ in a })
                for row in try Row.fetchAll(db, sql: "SELECT app, deployment_id FROM aliases") {
                    let app: String = row[0]
                    if wanted[app] == nil { try db.execute(sql: "DELETE FROM aliases WHERE app = ?", arguments: [app]) }
                }
                for (app, id) in wanted.sorted(by: { $0.key < $1.key }) {
                    let current = try String.fetchOne(db, sql: "SELECT deployment_id FROM aliases WHERE app = ?", arguments: [app])
                    if current != id { try Aliases.point(db, app: app, at: id, now: now) }
                }
                // The replica keeps only what the origin serves now.
                try db.execute(sql: "DELETE FROM deployments WHERE id NOT IN (SELECT deployment_id FROM aliases)")
                let after = try Int64.fetchOne(db, sql: "SELECT alias_generation FROM store_state WHERE id = 1") ?? 0
                return after != before
            }
        } catch let invalid as ReplicaState.Invalid {
            throw invalid
        } catch let error as DatabaseError {
            throw ReplicaState.Invalid("the store refused it (\(error.message ?? "\(error.resultCode)"))")
        }
    }

    /// The size the catalogue records for blob `hash`, nil when it does not know it.
    func blobSize(hash: String) throws -> Int64? {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT size FROM blobs WHERE hash = ?", arguments: [hash]) }
    }

    // MARK: - Blob files of a replica (the tier edge's disk cache)

    /// A fresh temporary path on the store's file system, for a blob being received.
    public func temporaryBlobPath() -> String { blobFiles.temporaryPath() }

    /// Moves a complete, fsynced, verified temporary file into place as blob `hash`.
    public func installBlobFile(temporary: String, hash: String) throws { try blobFiles.install(temporary: temporary, hash: hash) }

    /// Removes blob `hash`'s file (a replica evicting it: the blob is simply absent again).
    public func removeBlobFile(hash: String) { blobFiles.remove(hash: hash) }

    /// Every blob file on disk with its size and last modification time (seconds).
    public func blobFileInventory() throws -> [(hash: String, size: Int64, modified: Int64)] {
        try blobFiles.allHashes().compactMap { hash in
            guard let st = FileSystem.info(blobFiles.path(for: hash)), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return (hash, Int64(st.st_size), Int64(st.st_mtim.tv_sec))
        }
    }
}

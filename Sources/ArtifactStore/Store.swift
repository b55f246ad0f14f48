import Foundation
import GRDB
import Glibc
import Synchronization

/// The artifact store: content-addressed blobs (inline in SQLite up to a threshold, files
/// beyond), immutable deployments, and the aliases the edge serves. Thread-safe and usable from
/// several processes at once (SQLite WAL + busy timeout; publish/gc coordinate with a file
/// lock). Every method is synchronous and may block on disk: call it off the event loop.
///
/// Layout of a store directory:
/// ```
/// <store>/store.sqlite        schema: apps, blobs (inline data), variants, deployments, files, aliases
/// <store>/blobs/ab/cdef…      blob files over the inline threshold (name = SHA-256)
/// <store>/tmp/                files being written by a publish (garbage after a crash)
/// <store>/store.lock          flock: shared while publishing, exclusive during gc
/// ```
public final class Store: Sendable {
    public let path: String
    public let options: StoreOptions
    let pool: DatabasePool
    let blobFiles: BlobFiles
    /// Reads blob rows for `body(hash:)` (the edge's miss path) without GRDB's reader pool.
    let blobRows: BlobRowReader
    /// Checks inline bodies read on the edge's miss path once while the database is unchanged.
    public let inlineVerifier: InlineBlobVerifier
    private let manifestCache = Mutex<[String: DeploymentManifest]>([:])
    private static let manifestCacheLimit = 64

    init(path: String, options: StoreOptions, pool: DatabasePool) {
        self.path = path
        self.options = options
        self.pool = pool
        self.blobFiles = BlobFiles(root: path)
        self.blobRows = BlobRowReader(databasePath: path + "/store.sqlite", busyTimeoutSeconds: options.busyTimeoutSeconds)
        self.inlineVerifier = InlineBlobVerifier(databasePath: path + "/store.sqlite")
    }

    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    public static func open(at path: String, options: StoreOptions = .init()) throws -> Store {
        try options.validate()
        let root = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        if !FileSystem.isDirectory(root) {
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw StoreError.io(path: root, reason: "cannot create the store directory (\(error.localizedDescription))")
            }
        }
        let files = BlobFiles(root: root)
        try files.prepare()
        // Two processes opening a new store at once must not both run the migrations.
        let migrationLock = try StoreLock(path: root + "/migrate.lock", mode: .exclusive, timeoutSeconds: options.busyTimeoutSeconds)
        let pool: DatabasePool
        do {
            pool = try StoreDatabase.open(path: root + "/store.sqlite", busyTimeoutSeconds: options.busyTimeoutSeconds)
        } catch {
            throw StoreError.from(error, path: root + "/store.sqlite")
        }
        withExtendedLifetime(migrationLock) {}
        return Store(path: root, options: options, pool: pool)
    }

    var lockPath: String { path + "/store.lock" }

    // MARK: - Read API (the edge)

    /// Every app that has an alias, sorted.
    public func apps() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT app FROM aliases ORDER BY app") }
    }

    /// The deployment an app's alias points at, or nil if the app has none.
    public func currentDeployment(app: String) throws -> DeploymentManifest? {
        guard let id = try currentDeploymentID(app: app) else { return nil }
        return try deployment(id: id)
    }

    /// The deployment id an app's alias points at.
    public func currentDeploymentID(app: String) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT deployment_id FROM aliases WHERE app = ?", arguments: [app])
        }
    }

    /// A deployment by id (cached: deployments never change once published).
    public func deployment(id: String) throws -> DeploymentManifest? {
        if let cached = manifestCache.withLock({ $0[id] }) { return cached }
        guard let manifest = try pool.read({ db in try ManifestLoader.load(db, id: id, options: options) }) else { return nil }
        manifestCache.withLock { cache in
            if cache.count >= Self.manifestCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[id] = manifest
        }
        return manifest
    }

    /// A counter that changes whenever any alias changes (publish, rollback): poll it cheaply
    /// and reload `currentDeployment` only when it moves.
    public func aliasGeneration() throws -> Int64 {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT alias_generation FROM store_state WHERE id = 1") ?? 0
        }
    }

    /// The blob file holding the body of `entry` for a coding (`nil` = identity), opened read-only,
    /// with its size; nil when that blob is inline in the database (no file at its path) or the
    /// coding is unknown. Blob files are immutable and named by their hash, so the edge can open one
    /// on a cache miss without a database query first; on nil it falls back to `readBody`. The
    /// caller closes the descriptor.
    public func openBlobFile(_ entry: ManifestEntry, coding: String?) -> (descriptor: Int32, size: Int)? {
        let hash: String
        if let coding {
            guard let variant = entry.variant(coding: coding) else { return nil }
            hash = variant.hash
        } else {
            hash = entry.blobHash
        }
        return openBlobFile(hash: hash)
    }

    /// The blob file of `hash` opened read-only, with its size; nil when the blob is inline (or
    /// missing). The caller closes the descriptor.
    public func openBlobFile(hash: String) -> (descriptor: Int32, size: Int)? {
        let descriptor = Glibc.open(blobFiles.path(for: hash), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(descriptor)
            return nil
        }
        return (descriptor, Int(info.st_size))
    }

    /// Where the body of `entry` is, for a coding (`nil` = identity, else `br`/`zstd`/`gzip`).
    public func readBody(_ entry: ManifestEntry, coding: String?) throws -> BodySource {
        let hash: String
        if let coding {
            guard let variant = entry.variant(coding: coding) else {
                throw StoreError.corruptBlob(hash: entry.blobHash, reason: "no \(coding) variant for \(entry.path)")
            }
            hash = variant.hash
        } else {
            hash = entry.blobHash
        }
        return try body(hash: hash)
    }

    /// Where the bytes of blob `hash` are. This runs on every edge cache miss of a small body:
    /// one step of a statement prepared once on a read-only connection of `BlobRowReader`, the
    /// inline bytes copied once, straight from SQLite's row into the array.
    public func body(hash: String) throws -> BodySource {
        switch try blobRows.read(hash: hash) {
        case .inline(let bytes): return .bytes(bytes)
        case .file(let size): return .file(path: blobFiles.path(for: hash), offset: 0, length: Int(size))
        case .absent: throw StoreError.corruptBlob(hash: hash, reason: "not in the store")
        }
    }

    /// The whole body in memory (tests, verify, small reads).
    func readBytes(_ entry: ManifestEntry, coding: String? = nil) throws -> [UInt8] {
        switch try readBody(entry, coding: coding) {
        case .bytes(let bytes): return bytes
        case .file(let path, _, _): return try FileSystem.readFile(path)
        }
    }
}

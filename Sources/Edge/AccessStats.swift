import ArtifactStore
import Synchronization

/// Per-app, per-path request and byte counts. Each loop counts into its own table with no lock
/// (`record` is called only from that loop); a loop hands its table over in one piece every
/// second, and a consumer (the popularity store) drains the merged batches — never one write
/// per request.
public final class AccessStats: Sendable {
    /// One app and path.
    public struct Key: Hashable, Sendable {
        public var app: String
        public var path: String
    }
    /// Counts for a key.
    public struct Count: Sendable, Equatable {
        public var requests = 0
        public var bytes = 0
    }

    private let perWorker: [LocalTable]
    private let handedOver = Mutex<[Key: Count]>([:])

    public init(workers: Int) {
        perWorker = (0..<max(1, workers)).map { _ in LocalTable() }
    }

    /// Loop thread of `worker` only.
    func record(worker: Int, app: String, path: String, bytes: Int) {
        perWorker[worker].record(Key(app: app, path: path), bytes: bytes)
    }

    /// Loop thread of `worker` only. Counts by the file's identity (no strings hashed per
    /// request); the file's app and path are looked up once per hand-over.
    func record(worker: Int, app: String, file: ServedFile, bytes: Int) {
        perWorker[worker].record(app: app, file: file, bytes: bytes)
    }

    /// Loop thread of `worker` only: moves that loop's counts into the shared batch.
    func handOver(worker: Int) {
        let table = perWorker[worker].take()
        guard !table.isEmpty else { return }
        handedOver.withLock { merged in
            for (key, count) in table {
                merged[key, default: Count()].requests += count.requests
                merged[key, default: Count()].bytes += count.bytes
            }
        }
    }

    /// Takes every count handed over so far (for a batched write to SQLite).
    public func drain() -> [Key: Count] {
        handedOver.withLock { merged in
            defer { merged = [:] }
            return merged
        }
    }
}

/// A table touched by exactly one loop thread; `@unchecked` because that confinement is the
/// synchronisation (the loop is the only reader and writer).
private final class LocalTable: @unchecked Sendable {
    private var counts: [AccessStats.Key: AccessStats.Count] = [:]
    /// Counts by file identity; the entry keeps the file (and so its identity) alive.
    private var byFile: [ObjectIdentifier: (app: String, file: ServedFile, count: AccessStats.Count)] = [:]

    func record(_ key: AccessStats.Key, bytes: Int) {
        counts[key, default: AccessStats.Count()].requests += 1
        counts[key, default: AccessStats.Count()].bytes += bytes
    }

    func record(app: String, file: ServedFile, bytes: Int) {
        let id = ObjectIdentifier(file)
        if byFile[id] != nil {
            byFile[id]!.count.requests &+= 1
            byFile[id]!.count.bytes &+= bytes
        } else {
            byFile[id] = (app, file, AccessStats.Count(requests: 1, bytes: bytes))
        }
    }

    func take() -> [AccessStats.Key: AccessStats.Count] {
        var table = counts
        for (_, entry) in byFile {
            let key = AccessStats.Key(app: entry.app, path: entry.file.entry.path)
            table[key, default: AccessStats.Count()].requests += entry.count.requests
            table[key, default: AccessStats.Count()].bytes += entry.count.bytes
        }
        counts = [:]
        byFile = [:]
        return table
    }
}

extension AccessStats {
    /// Drains the counts as the popularity table records them (for `PopularityFlush`).
    public func drainCounts() -> [Popularity.Count] {
        drain().map { key, count in Popularity.Count(app: key.app, path: key.path, requests: count.requests, bytes: count.bytes) }
    }
}

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

    /// Responses of one app by outcome (for error-spike alerts).
    public struct StatusCount: Sendable, Equatable {
        public var responses = 0
        public var notFound = 0
        public var serverErrors = 0

        public init(responses: Int = 0, notFound: Int = 0, serverErrors: Int = 0) {
            self.responses = responses
            self.notFound = notFound
            self.serverErrors = serverErrors
        }
    }

    private let perWorker: [LocalTable]
    private let handedOver = Mutex<[Key: Count]>([:])
    private let statusesHandedOver = Mutex<[String: StatusCount]>([:])

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

    /// Loop thread of `worker` only: one response of `app` with `status`.
    func recordStatus(worker: Int, app: String, status: Int) {
        perWorker[worker].recordStatus(app: app, status: status)
    }

    /// Loop thread of `worker` only: moves that loop's counts into the shared batch.
    func handOver(worker: Int) {
        let statuses = perWorker[worker].takeStatuses()
        if !statuses.isEmpty {
            statusesHandedOver.withLock { merged in
                for (app, count) in statuses {
                    merged[app, default: StatusCount()].responses += count.responses
                    merged[app, default: StatusCount()].notFound += count.notFound
                    merged[app, default: StatusCount()].serverErrors += count.serverErrors
                }
            }
        }
        let table = perWorker[worker].take()
        guard !table.isEmpty else { return }
        handedOver.withLock { merged in
            for (key, count) in table {
                merged[key, default: Count()].requests += count.requests
                merged[key, default: Count()].bytes += count.bytes
            }
        }
    }

    /// Takes the per-app response outcomes handed over so far.
    public func drainStatuses() -> [String: StatusCount] {
        statusesHandedOver.withLock { merged in
            defer { merged = [:] }
            return merged
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

    private var statuses: [String: AccessStats.StatusCount] = [:]

    func recordStatus(app: String, status: Int) {
        statuses[app, default: AccessStats.StatusCount()].responses &+= 1
        if status == 404 { statuses[app, default: AccessStats.StatusCount()].notFound &+= 1 }
        if status >= 500 { statuses[app, default: AccessStats.StatusCount()].serverErrors &+= 1 }
    }

    func takeStatuses() -> [String: AccessStats.StatusCount] {
        defer { statuses = [:] }
        return statuses
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

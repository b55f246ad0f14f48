import ArtifactStore
import Synchronization

/// The tier edge's blob files, bounded in bytes (`edge.tier.disk_bytes`) with least-recently-used
/// eviction. An evicted blob's file is removed; its catalogue row stays, so it is simply absent
/// again and fetched on its next request. Responses already sending it keep their open
/// descriptor, so eviction never cuts a body short.
///
/// Recency is a counter bumped when a blob is fetched or read from disk (a response-cache miss);
/// at start the files on disk are ranked by modification time.
public final class TierDiskCache: Sendable {
    struct Index {
        var entries: [String: (size: Int64, tick: UInt64)] = [:]
        var total: Int64 = 0
        var tick: UInt64 = 0
    }
    private let store: Store
    public let budget: Int64
    private let index = Mutex(Index())
    let evictions = Atomic<Int>(0)

    public init(store: Store, budget: Int64) throws {
        self.store = store
        self.budget = budget
        let files = try store.blobFileInventory().sorted { $0.modified < $1.modified }
        index.withLock { index in
            for file in files {
                index.tick += 1
                index.entries[file.hash] = (file.size, index.tick)
                index.total += file.size
            }
        }
        evict(keeping: nil)
    }

    /// Bytes of blob files held now.
    public var bytes: Int64 { index.withLock { $0.total } }
    /// Blob files held now.
    public var count: Int { index.withLock { $0.entries.count } }
    /// Blob files removed to stay within the budget since start.
    public var evicted: Int { evictions.load(ordering: .relaxed) }

    /// Blob `hash` was read: it becomes the most recent.
    func used(_ hash: String) {
        index.withLock { index in
            guard let entry = index.entries[hash] else { return }
            index.tick += 1
            index.entries[hash] = (entry.size, index.tick)
        }
    }

    /// A fetched blob was installed: count it, then evict the least recent others until the total
    /// is within the budget (and the new one too if it alone is larger than the budget: the caller
    /// already holds it open).
    func added(_ hash: String, size: Int64) {
        index.withLock { index in
            index.tick += 1
            if let old = index.entries.updateValue((size, index.tick), forKey: hash) { index.total -= old.size }
            index.total += size
        }
        evict(keeping: hash)
    }

    private func evict(keeping: String?) {
        let doomed: [String] = index.withLock { index in
            var out: [String] = []
            while index.total > budget {
                var oldest: (hash: String, tick: UInt64)?
                for (hash, entry) in index.entries where hash != keeping && entry.tick < (oldest?.tick ?? .max) {
                    oldest = (hash, entry.tick)
                }
                guard let victim = oldest?.hash ?? keeping, let entry = index.entries.removeValue(forKey: victim) else { break }
                index.total -= entry.size
                out.append(victim)
            }
            return out
        }
        for hash in doomed { store.removeBlobFile(hash: hash) }
        evictions.add(doomed.count, ordering: .relaxed)
    }
}

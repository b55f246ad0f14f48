import Synchronization

/// A sharded, byte-bounded LRU of ready-to-send response bodies, keyed by (deployment, path,
/// coding). Loops look entries up without contending much (one mutex per shard); a miss is
/// loaded once however many requests wait for it (the others queue as waiters on the load).
///
/// The bytes held (body + prebuilt header bytes + a fixed per-entry overhead) never exceed the
/// budget: an entry larger than a shard's share is served but not kept.
public final class ResponseCache: Sendable {
    /// What identifies one cached representation.
    /// Hashes its strings once, when made (a served file makes its keys when its deployment
    /// loads): a lookup per request then hashes one integer instead of two strings, twice.
    public struct Key: Hashable, Sendable {
        public let deployment: String
        public let path: String
        public let coding: UInt8
        /// For a `dcz` delta, the dictionary's SHA-256 (hex); "" otherwise.
        public let dictionary: String
        /// The strings' hash, computed once.
        let precomputedHash: Int

        public init(deployment: String, path: String, coding: UInt8, dictionary: String = "") {
            self.deployment = deployment
            self.path = path
            self.coding = coding
            self.dictionary = dictionary
            var hasher = Hasher()
            hasher.combine(deployment)
            hasher.combine(path)
            hasher.combine(coding)
            hasher.combine(dictionary)
            precomputedHash = hasher.finalize()
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(precomputedHash) }

        public static func == (a: Key, b: Key) -> Bool {
            a.precomputedHash == b.precomputedHash && a.coding == b.coding && a.path == b.path && a.deployment == b.deployment
                && a.dictionary == b.dictionary
        }
    }

    /// A cached representation: the header fields that never change for it, and the body.
    public final class Entry: Sendable {
        public let fixedHeaders: [UInt8]
        public let body: [UInt8]
        /// For bodies over the sendfile threshold: the open blob file instead of bytes.
        public let file: OpenFile?
        public var cost: Int { fixedHeaders.count + body.count + ResponseCache.entryOverhead + (file == nil ? 0 : 4096) }
        public init(fixedHeaders: [UInt8], body: [UInt8], file: OpenFile? = nil) {
            self.fixedHeaders = fixedHeaders
            self.body = body
            self.file = file
        }
    }

    /// Counters, read with `statistics()`.
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var loads = 0
        public var entries = 0
        public var bytesHeld = 0
        public var budget = 0
    }

    /// Bookkeeping cost of an entry beyond its bytes (key strings, node, class headers).
    public static let entryOverhead = 160

    public typealias Waiter = @Sendable (Result<Entry, any Error>) -> Void

    private let shards: [ShardBox]
    public let budget: Int
    let shardBudget: Int

    public init(budget: Int, shardCount: Int = 16) {
        self.budget = max(0, budget)
        let count = max(1, min(shardCount, max(1, budget / (1 << 20))))
        self.shardBudget = self.budget / count
        self.shards = (0..<count).map { _ in ShardBox() }
    }

    private func shard(for key: Key) -> Int {
        Int(UInt(bitPattern: key.precomputedHash) % UInt(shards.count))
    }

    /// Returns the entry if cached (and marks it most recently used).
    public func get(_ key: Key) -> Entry? {
        shards[shard(for: key)].lock.withLock { s in
            if let e = s.touch(key) {
                s.hits += 1
                return e
            }
            s.misses += 1
            return nil
        }
    }

    /// Looks the key up; on a miss runs `load` (on the calling thread, which must be off-loop)
    /// unless a load for the same key is already running, in which case `waiter` joins it.
    /// Returns the entry at once on a hit; otherwise nil, and `waiter` is called exactly once.
    /// `countingLookup: false` when the caller already counted this lookup with `get`.
    /// The entry if present (counted as a hit), else nil and nothing counted: for a fast path
    /// whose misses go on to `get` or `getOrJoinLoad`, which count them.
    public func getIfPresent(_ key: Key) -> Entry? {
        shards[shard(for: key)].lock.withLock { s in
            guard let e = s.touch(key) else { return nil }
            s.hits += 1
            return e
        }
    }

    public func getOrJoinLoad(_ key: Key, countingLookup: Bool = true, waiter: @escaping Waiter) -> (entry: Entry?, mustLoad: Bool) {
        shards[shard(for: key)].lock.withLock { s in
            if let e = s.touch(key) {
                if countingLookup { s.hits += 1 }
                return (e, false)
            }
            if countingLookup { s.misses += 1 }
            if s.inflight[key] != nil {
                s.inflight[key]!.append(waiter)
                return (nil, false)
            }
            s.inflight[key] = [waiter]
            s.loads += 1
            return (nil, true)
        }
    }

    /// Completes a load started by `getOrJoinLoad` returning `mustLoad`: stores the entry (if it
    /// fits) and calls every waiter with the result.
    public func finishLoad(_ key: Key, result: Result<Entry, any Error>) {
        let waiters: [Waiter] = shards[shard(for: key)].lock.withLock { s in
            let w = s.inflight.removeValue(forKey: key) ?? []
            if case .success(let entry) = result { _ = s.insert(key, entry, budget: shardBudget) }
            return w
        }
        for w in waiters { w(result) }
    }

    /// Inserts directly (used by warming); returns false if it was not kept.
    @discardableResult
    public func insert(_ key: Key, _ entry: Entry, maxEvictedBytes: Int = .max) -> Bool {
        shards[shard(for: key)].lock.withLock { s in s.insert(key, entry, budget: shardBudget, maxEvictedBytes: maxEvictedBytes) }
    }

    /// Whether the key is cached, without touching LRU order or counters.
    public func contains(_ key: Key) -> Bool {
        shards[shard(for: key)].lock.withLock { s in s.index[key] != nil }
    }

    /// Drops every entry whose key matches; returns how many were dropped.
    @discardableResult
    public func purge(where match: (Key) -> Bool) -> Int {
        var dropped = 0
        for shard in shards {
            dropped += shard.lock.withLock { s in s.removeAll(where: match) }
        }
        return dropped
    }

    public func statistics() -> Statistics {
        var total = Statistics()
        for shard in shards {
            shard.lock.withLock { s in
                total.hits += s.hits
                total.misses += s.misses
                total.evictions += s.evictions
                total.loads += s.loads
                total.entries += s.index.count
                total.bytesHeld += s.bytes
            }
        }
        total.budget = budget
        return total
    }
}

/// One shard: a hash index into an intrusive doubly linked list kept in arrays (no per-node
/// allocation), plus the loads in flight.
private final class ShardBox: Sendable {
    let lock = Mutex(Shard())
}

private struct Shard {
    struct Node {
        var key: ResponseCache.Key
        var entry: ResponseCache.Entry
        var prev: Int
        var next: Int
    }
    var nodes: [Node] = []
    var free: [Int] = []
    var index: [ResponseCache.Key: Int] = [:]
    var head = -1  // most recent
    var tail = -1  // least recent
    var bytes = 0
    var hits = 0, misses = 0, evictions = 0, loads = 0
    var inflight: [ResponseCache.Key: [ResponseCache.Waiter]] = [:]

    mutating func touch(_ key: ResponseCache.Key) -> ResponseCache.Entry? {
        guard let i = index[key] else { return nil }
        if head != i {
            unlink(i)
            pushFront(i)
        }
        return nodes[i].entry
    }

    mutating func insert(_ key: ResponseCache.Key, _ entry: ResponseCache.Entry, budget: Int, maxEvictedBytes: Int = .max) -> Bool {
        let cost = entry.cost
        guard cost <= budget else { return false }
        if let existing = index[key] { remove(existing) }
        var evicted = 0
        while bytes + cost > budget, tail >= 0 {
            let victimCost = nodes[tail].entry.cost
            if evicted + victimCost > maxEvictedBytes { return false }
            evicted += victimCost
            remove(tail)
            evictions += 1
        }
        let node = Node(key: key, entry: entry, prev: -1, next: -1)
        let i: Int
        if let f = free.popLast() {
            nodes[f] = node
            i = f
        } else {
            nodes.append(node)
            i = nodes.count - 1
        }
        index[key] = i
        pushFront(i)
        bytes += cost
        return true
    }

    mutating func removeAll(where match: (ResponseCache.Key) -> Bool) -> Int {
        let victims = index.filter { match($0.key) }.map(\.value)
        for i in victims { remove(i) }
        return victims.count
    }

    private mutating func remove(_ i: Int) {
        unlink(i)
        index.removeValue(forKey: nodes[i].key)
        bytes -= nodes[i].entry.cost
        // Drop the body reference now so memory is returned, keep the slot for reuse.
        nodes[i].entry = ResponseCache.emptyEntry
        free.append(i)
    }

    private mutating func unlink(_ i: Int) {
        let p = nodes[i].prev
        let n = nodes[i].next
        if p >= 0 { nodes[p].next = n } else { head = n }
        if n >= 0 { nodes[n].prev = p } else { tail = p }
        nodes[i].prev = -1
        nodes[i].next = -1
    }

    private mutating func pushFront(_ i: Int) {
        nodes[i].prev = -1
        nodes[i].next = head
        if head >= 0 { nodes[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }
}

extension ResponseCache {
    static let emptyEntry = Entry(fixedHeaders: [], body: [])
}

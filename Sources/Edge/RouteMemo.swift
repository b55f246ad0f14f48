/// Remembers, per loop, what a (Host, request-target) pair resolved to in one deployment
/// snapshot: the app and the file (or that nothing matched). Browsers and load tests ask for
/// the same few URLs over and over; with the memo a request skips target normalisation, host
/// parsing, routing and the file lookup and pays one hash of its raw bytes instead.
///
/// Valid for one snapshot and one router: `validate` empties it when either changes. Bounded:
/// full means emptied (hostile traffic with endless distinct URLs costs a rebuild, nothing more).
/// Loop thread only.
final class RouteMemo {
    /// What a request resolved to.
    struct Resolution {
        /// nil: no route or no such file (404).
        var app: String?
        var file: ServedFile?
        /// The app's generated `/_downloads` page, when that is what the request asks for.
        var page: DownloadsPage? = nil
    }

    /// The raw bytes a resolution depends on. Lookups use slices of the request's own buffer
    /// (no copy); stored keys are compacted copies.
    struct Key: Hashable {
        var host: ArraySlice<UInt8>
        var target: ArraySlice<UInt8>

        func hash(into hasher: inout Hasher) {
            host.withUnsafeBytes { hasher.combine(bytes: $0) }
            hasher.combine(host.count)
            target.withUnsafeBytes { hasher.combine(bytes: $0) }
        }

        static func == (a: Key, b: Key) -> Bool {
            a.host.count == b.host.count && a.target.count == b.target.count
                && a.host.elementsEqual(b.host) && a.target.elementsEqual(b.target)
        }

        /// A copy that does not keep the request's whole buffer alive.
        var compacted: Key { Key(host: ArraySlice(Array(host)), target: ArraySlice(Array(target))) }
    }

    let capacity: Int
    private var entries: [Key: Resolution] = [:]
    private var snapshotGeneration: Int64 = .min
    private var routerGeneration = 0

    private(set) var hits = 0
    private(set) var misses = 0

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// Empties the memo unless it was built for this snapshot and router generation.
    /// (A snapshot's generation is the store's alias generation: every swap has a new one.)
    func validate(snapshotGeneration: Int64, routerGeneration: Int) {
        if self.snapshotGeneration != snapshotGeneration || self.routerGeneration != routerGeneration {
            entries.removeAll(keepingCapacity: true)
            self.snapshotGeneration = snapshotGeneration
            self.routerGeneration = routerGeneration
        }
    }

    func lookup(_ key: Key) -> Resolution? {
        if let found = entries[key] {
            hits &+= 1
            return found
        }
        misses &+= 1
        return nil
    }

    /// A lookup that counts only when it finds something (the cache-hit path, whose misses go on
    /// to `lookup` in the full planner and are counted there).
    func lookupIfRemembered(_ key: Key) -> Resolution? {
        guard let found = entries[key] else { return nil }
        hits &+= 1
        return found
    }

    func remember(_ key: Key, _ resolution: Resolution) {
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[key.compacted] = resolution
    }
}

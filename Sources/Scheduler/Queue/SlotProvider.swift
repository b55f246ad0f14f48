import Foundation
import Synchronization

/// Where slots come from: local processes, or VMs that take a while to boot. The pool asks for slots
/// and gives them back; the provider says how long a new one takes to become usable.
public protocol SlotProvider: AnyObject, Sendable {
    /// Seconds from request until a new slot is usable.
    var provisioningDelay: Double { get }
    /// Starts a new slot; it is usable at its `readyAt`.
    func requestSlot(now: Date) throws -> Slot
    /// Gives a slot back (the pool never releases a busy one).
    func releaseSlot(id: String, now: Date)
    /// The dependency hashes slot `slotID` really holds, least recently used first, when the provider
    /// knows them (a disk cache); nil otherwise (the pool's own record stands).
    func dependencyHashes(slotID: String) -> [String]?
}

extension SlotProvider {
    public func dependencyHashes(slotID: String) -> [String]? { nil }
}

/// Slots that are process groups on this machine: usable at once, all with the configured tools.
/// Slot ids are `local-1`, `local-2`, …: a new slot takes the lowest free number, so a slot released
/// and requested again finds its dependency cache (`<cacheRoot>/local-N/deps/`) as it left it, and
/// starts with those hashes as its warm set.
public final class LocalProcessSlotProvider: SlotProvider {
    public let provisioningDelay: Double = 0
    let tools: Set<String>
    let cacheRoot: String?
    private let live = Mutex(Set<Int>())

    public init(tools: Set<String> = ["node", "flutter", "android-sdk"], cacheRoot: String? = nil) {
        self.tools = tools
        self.cacheRoot = cacheRoot
    }

    public func requestSlot(now: Date) throws -> Slot {
        let n = live.withLock { taken in
            var n = 1
            while taken.contains(n) { n += 1 }
            taken.insert(n)
            return n
        }
        let id = "local-\(n)"
        guard let hashes = dependencyHashes(slotID: id) else { return Slot(id: id, requestedAt: now, readyAt: now, tools: tools) }
        // The disk bounds the cache in bytes; the in-memory record only mirrors it.
        var slot = Slot(id: id, requestedAt: now, readyAt: now, tools: tools, cacheCapacity: 100_000)
        for hash in hashes { slot.dependencyCache.touch(hash) }
        return slot
    }

    public func releaseSlot(id: String, now: Date) {
        guard let n = BuildIsolation.slotNumber(id) else { return }
        _ = live.withLock { $0.remove(n) }
    }

    public func dependencyHashes(slotID: String) -> [String]? {
        guard let cacheRoot else { return nil }
        return SlotDependencyCache(root: cacheRoot, slotID: slotID, capacityBytes: .max).hashes()
    }
}

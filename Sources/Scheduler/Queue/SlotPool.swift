import Foundation

/// The live slots and their phases. Scaling goes through `scale(to:now:provider:)`, which requests new
/// slots or releases idle ones (then provisioning ones, newest first) — never a busy one.
struct SlotPool: Sendable {
    public let limits: SlotLimits
    /// Live slots, in the order they were requested.
    public private(set) var slots: [Slot] = []

    init(limits: SlotLimits = .default) { self.limits = limits }

    /// Slots requested and not released (provisioning, idle and busy): the seed rule's "active".
    var active: Int { slots.count }
    var idleCount: Int { slots.count { $0.phase == .idle } }
    var busyCount: Int { slots.count { $0.phase == .busy } }
    var provisioningCount: Int { slots.count { $0.phase == .provisioning } }
    var idleSlots: [Slot] { slots.filter { $0.phase == .idle } }

    func slot(_ id: String) -> Slot? { slots.first { $0.id == id } }

    /// Marks provisioning slots whose `readyAt` has passed as idle.
    mutating func advance(now: Date) {
        for i in slots.indices where slots[i].phase == .provisioning && slots[i].readyAt <= now {
            slots[i].phase = .idle
            slots[i].idleSince = slots[i].readyAt
        }
    }

    /// What `scale` did.
    struct ScaleResult: Sendable, Equatable {
        public var requested: [String] = []
        public var released: [String] = []
    }

    /// Moves the slot count toward `desired` (clamped to the limits). Busy slots are never released,
    /// so the count may stay above `desired` until builds end. Slots in `prefer` that may be released
    /// go first, then the pool's own order (`releaseCandidates`).
    @discardableResult
    mutating func scale(to desired: Int, now: Date, provider: any SlotProvider, prefer: [String] = []) throws -> ScaleResult {
        advance(now: now)
        let target = limits.clamp(desired)
        var result = ScaleResult()
        while slots.count < target {
            let slot = try provider.requestSlot(now: now)
            slots.append(slot)
            result.requested.append(slot.id)
        }
        if slots.count > target {
            let candidates = releaseCandidates()
            let preferred = prefer.filter(candidates.contains)
            let ordered = preferred + candidates.filter { !preferred.contains($0) }
            for id in ordered.prefix(slots.count - target) {
                provider.releaseSlot(id: id, now: now)
                slots.removeAll { $0.id == id }
                result.released.append(id)
            }
        }
        return result
    }

    /// Slots that may be released, best first: idle longest first, then provisioning newest first.
    func releaseCandidates() -> [String] {
        let ordered = Array(slots.enumerated())
        let idle = ordered.filter { $0.element.phase == .idle }.sorted { a, b in
            let (x, y) = (a.element.idleSince ?? a.element.readyAt, b.element.idleSince ?? b.element.readyAt)
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        let provisioning = ordered.filter { $0.element.phase == .provisioning }.sorted { a, b in
            a.element.requestedAt != b.element.requestedAt ? a.element.requestedAt > b.element.requestedAt : a.offset > b.offset
        }.map(\.element)
        return (idle + provisioning).map(\.id)
    }

    /// Puts a job on an idle slot; its dependency hash becomes the slot's most recent.
    mutating func assign(jobID: Int64, dependencyHash: String?, to slotID: String, now: Date) throws(SchedulerError) {
        guard let i = slots.firstIndex(where: { $0.id == slotID }), slots[i].phase == .idle else {
            throw .invalidConfiguration("slot \(slotID) is not idle")
        }
        slots[i].phase = .busy
        slots[i].jobID = jobID
        slots[i].busySince = now
        slots[i].idleSince = nil
        if let dependencyHash { slots[i].dependencyCache.touch(dependencyHash) }
    }

    /// Replaces a slot's record of its dependency hashes with what it really holds (least recent first).
    mutating func replaceDependencyHashes(slotID: String, with hashes: [String]) {
        guard let i = slots.firstIndex(where: { $0.id == slotID }) else { return }
        var cache = DependencyCache(capacity: max(slots[i].dependencyCache.capacity, hashes.count))
        for hash in hashes { cache.touch(hash) }
        slots[i].dependencyCache = cache
    }

    /// Frees a busy slot; with `expectedSeconds`, updates its past speed (moving average, weight 0.2).
    mutating func jobEnded(slotID: String, now: Date, expectedSeconds: Double? = nil) {
        guard let i = slots.firstIndex(where: { $0.id == slotID }), slots[i].phase == .busy else { return }
        if let expectedSeconds, let since = slots[i].busySince {
            let actual = now.timeIntervalSince(since)
            if actual > 0, expectedSeconds > 0 {
                let sample = min(10, expectedSeconds / actual)
                slots[i].speed = slots[i].buildsRun == 0 ? sample : 0.8 * slots[i].speed + 0.2 * sample
            }
        }
        slots[i].buildsRun += 1
        slots[i].phase = .idle
        slots[i].jobID = nil
        slots[i].busySince = nil
        slots[i].idleSince = now
    }
}

/// What placement needs to know about a job.
public struct PlacementRequest: Sendable, Equatable {
    var dependencyHash: String?
    var requiredTools: Set<String>

    init(dependencyHash: String?, requiredTools: Set<String> = []) {
        self.dependencyHash = dependencyHash
        self.requiredTools = requiredTools
    }
}

/// How ties between equally suitable idle slots are broken.
public enum PlacementTieBreak: String, Sendable, Equatable, CaseIterable {
    /// Earlier in the pool first (the seeds' behaviour: the lowest-numbered idle slot).
    case poolOrder
    /// The slot with the highest rendezvous weight for the job's dependency hash (`SlotAffinity`), so a
    /// cold hash goes to the same slot each time and slot caches partition the hashes.
    case affinity
}

/// Chooses the slot for a job with the seeds' suitability idea, as a strict order of preferences:
/// 1. the slot has the job's dependency hash installed (a warm build skips the dependency install);
/// 2. the slot has every platform tool the build type needs;
/// 3. lower load;
/// 4. with `.affinity`: the hash's preferred slot (highest rendezvous weight);
/// 5. faster in the past;
/// 6. earlier in the pool (stable, so replays are deterministic).
enum SlotPlacement {
    /// The best idle slot for `request`, or nil when no slot is idle.
    static func bestSlot(
        for request: PlacementRequest, among slots: [Slot],
        tieBreak: PlacementTieBreak = .poolOrder
    ) -> Slot? {
        var best: (slot: Slot, rank: Rank)?
        for slot in slots where slot.phase == .idle {
            let rank = Rank(slot: slot, request: request, tieBreak: tieBreak)
            if best == nil || rank.isBetter(than: best!.rank) { best = (slot, rank) }
        }
        return best?.slot
    }

    /// Idle slots ordered best first (for `wharf slots` and for tests).
    static func ranked(
        for request: PlacementRequest, among slots: [Slot],
        tieBreak: PlacementTieBreak = .poolOrder
    ) -> [Slot] {
        slots.filter { $0.phase == .idle }.enumerated()
            .map { (offset: $0.offset, slot: $0.element, rank: Rank(slot: $0.element, request: request, tieBreak: tieBreak)) }
            .sorted { $0.rank.isBetter(than: $1.rank) || (!$1.rank.isBetter(than: $0.rank) && $0.offset < $1.offset) }
            .map(\.slot)
    }

    struct Rank {
        var warm: Bool
        var hasTools: Bool
        var load: Double
        var affinity: UInt64
        var speed: Double

        init(slot: Slot, request: PlacementRequest, tieBreak: PlacementTieBreak) {
            warm = request.dependencyHash.map(slot.dependencyCache.contains) ?? false
            hasTools = request.requiredTools.isSubset(of: slot.tools)
            load = slot.load
            if tieBreak == .affinity, let hash = request.dependencyHash {
                affinity = SlotAffinity.weight(dependencyHash: hash, slotID: slot.id)
            } else {
                affinity = 0
            }
            speed = slot.speed
        }

        /// Strictly better; equal ranks keep pool order.
        func isBetter(than other: Rank) -> Bool {
            if warm != other.warm { return warm }
            if hasTools != other.hasTools { return hasTools }
            if load != other.load { return load < other.load }
            if affinity != other.affinity { return affinity > other.affinity }
            return speed > other.speed
        }
    }
}

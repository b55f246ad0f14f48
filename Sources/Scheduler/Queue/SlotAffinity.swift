/// Rendezvous (highest-random-weight) hashing of a dependency hash over slot ids: every slot gets a
/// stable pseudo-random weight for each hash, and the heaviest live slot is the hash's preferred home.
/// Cold builds of one hash therefore keep landing on the same slot (as long as it is free), so slot
/// caches split the hash space between them instead of all holding the same popular hashes; when a slot
/// comes or goes only the hashes it was heaviest for move. The weight is FNV-1a of the two strings
/// (stable across processes and runs, unlike Swift's seeded `Hasher`), so replays stay deterministic.
enum SlotAffinity {
    /// The weight of `slotID` for `dependencyHash` (higher is preferred).
    static func weight(dependencyHash: String, slotID: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in dependencyHash.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        h = (h ^ 0x1f) &* 0x100_0000_01b3
        for byte in slotID.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        // Final avalanche (splitmix64) so ids that differ in one character still spread evenly.
        h ^= h >> 30
        h &*= 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27
        h &*= 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        return h
    }

    /// Slots ordered by preference for `dependencyHash`, most preferred first (ties by pool order).
    static func preference(for dependencyHash: String, among slots: [Slot]) -> [Slot] {
        slots.enumerated()
            .map { (offset: $0.offset, slot: $0.element, weight: weight(dependencyHash: dependencyHash, slotID: $0.element.id)) }
            .sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.offset < $1.offset }
            .map(\.slot)
    }
}

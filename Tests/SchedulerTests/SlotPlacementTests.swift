import Foundation
import Testing

@testable import Scheduler

@Suite struct SlotPlacementTests {
    func slot(
        _ id: String, deps: [String] = [], tools: Set<String> = ["node", "flutter"], load: Double = 0,
        speed: Double = 1, phase: Slot.Phase = .idle
    ) -> Slot {
        var slot = Slot(id: id, requestedAt: t0, readyAt: t0, tools: tools)
        for hash in deps { slot.dependencyCache.touch(hash) }
        slot.load = load
        slot.speed = speed
        slot.phase = phase
        return slot
    }

    @Test func aSlotWithTheDependenciesCachedWinsOverEverythingElse() {
        let job = PlacementRequest(dependencyHash: "lock-1", requiredTools: ["flutter"])
        let slots = [
            slot("fast-empty", load: 0, speed: 3),
            slot("warm-but-loaded", deps: ["lock-1"], load: 0.9, speed: 0.5),
        ]
        #expect(SlotPlacement.bestSlot(for: job, among: slots)?.id == "warm-but-loaded")
    }

    @Test func thenPlatformToolsThenLoadThenSpeed() {
        let job = PlacementRequest(dependencyHash: "lock-1", requiredTools: ["xcode"])
        let noTools = slot("no-xcode", load: 0, speed: 5)
        let loaded = slot("xcode-loaded", tools: ["xcode"], load: 0.5, speed: 5)
        let slowIdle = slot("xcode-slow", tools: ["xcode"], load: 0.1, speed: 0.8)
        let fastIdle = slot("xcode-fast", tools: ["xcode"], load: 0.1, speed: 1.2)
        #expect(SlotPlacement.bestSlot(for: job, among: [noTools, loaded])?.id == "xcode-loaded")
        #expect(SlotPlacement.bestSlot(for: job, among: [noTools, loaded, slowIdle])?.id == "xcode-slow")
        #expect(
            SlotPlacement.ranked(for: job, among: [noTools, loaded, slowIdle, fastIdle]).map(\.id)
                == ["xcode-fast", "xcode-slow", "xcode-loaded", "no-xcode"])
    }

    @Test func equalSlotsKeepPoolOrderAndBusyOrBootingSlotsAreNeverChosen() {
        let job = PlacementRequest(dependencyHash: "x")
        let slots = [
            slot("busy", deps: ["x"], phase: .busy), slot("booting", deps: ["x"], phase: .provisioning),
            slot("a"), slot("b"),
        ]
        #expect(SlotPlacement.bestSlot(for: job, among: slots)?.id == "a")
        #expect(SlotPlacement.bestSlot(for: job, among: [slots[0], slots[1]]) == nil)
        #expect(SlotPlacement.bestSlot(for: PlacementRequest(dependencyHash: nil), among: slots)?.id == "a")
    }

    // MARK: - Affinity (rendezvous hashing of the dependency hash)

    @Test func aColdBuildGoesToItsHashsPreferredIdleSlotWhateverThePoolOrder() {
        let pool = ["a", "b", "c", "d", "e"].map { slot($0) }
        for hash in (0..<20).map({ "lock-\($0)" }) {
            let job = PlacementRequest(dependencyHash: hash)
            let preferred = SlotAffinity.preference(for: hash, among: pool)[0].id
            #expect(SlotPlacement.bestSlot(for: job, among: pool, tieBreak: .affinity)?.id == preferred)
            #expect(SlotPlacement.bestSlot(for: job, among: pool.reversed(), tieBreak: .affinity)?.id == preferred)
            // The seeds' tie-break ignores the hash: first in the pool.
            #expect(SlotPlacement.bestSlot(for: job, among: pool, tieBreak: .poolOrder)?.id == "a")
        }
    }

    @Test func hashesSpreadOverTheSlotsAndACachedHashStillWins() {
        let pool = ["a", "b", "c", "d"].map { slot($0) }
        var homes: [String: Int] = [:]
        for i in 0..<400 {
            let id = SlotPlacement.bestSlot(for: PlacementRequest(dependencyHash: "h\(i)"), among: pool, tieBreak: .affinity)!.id
            homes[id, default: 0] += 1
        }
        // Every slot is home to a fair share (100 expected each; a poor hash would pile them up).
        #expect(homes.count == 4)
        #expect(homes.values.allSatisfy { $0 >= 70 && $0 <= 130 })
        // Warm beats preferred: a slot that has the hash installed wins.
        let hash = "h1"
        let preferred = SlotAffinity.preference(for: hash, among: pool)[0].id
        let other = pool.first { $0.id != preferred }!.id
        let warmPool = pool.map { $0.id == other ? slot(other, deps: [hash]) : $0 }
        #expect(SlotPlacement.bestSlot(for: PlacementRequest(dependencyHash: hash), among: warmPool, tieBreak: .affinity)?.id == other)
    }

    @Test func whenASlotGoesOnlyTheHashesItWasPreferredForMove() {
        let pool = ["a", "b", "c", "d", "e"].map { slot($0) }
        let smaller = pool.filter { $0.id != "c" }
        for i in 0..<200 {
            let hash = "h\(i)"
            let before = SlotAffinity.preference(for: hash, among: pool)[0].id
            let after = SlotAffinity.preference(for: hash, among: smaller)[0].id
            if before != "c" { #expect(after == before) }
        }
        #expect(SlotAffinity.weight(dependencyHash: "x", slotID: "a") == SlotAffinity.weight(dependencyHash: "x", slotID: "a"))
        #expect(SlotAffinity.weight(dependencyHash: "x", slotID: "a") != SlotAffinity.weight(dependencyHash: "x", slotID: "b"))
    }
}

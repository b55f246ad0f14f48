import Foundation
import Testing
@testable import Scheduler

@Suite struct SlotPlacementTests {
    func slot(_ id: String, deps: [String] = [], tools: Set<String> = ["node", "flutter"], load: Double = 0,
              speed: Double = 1, phase: Slot.Phase = .idle) -> Slot {
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
        #expect(SlotPlacement.ranked(for: job, among: [noTools, loaded, slowIdle, fastIdle]).map(\.id)
                == ["xcode-fast", "xcode-slow", "xcode-loaded", "no-xcode"])
    }

    @Test func equalSlotsKeepPoolOrderAndBusyOrBootingSlotsAreNeverChosen() {
        let job = PlacementRequest(dependencyHash: "x")
        let slots = [slot("busy", deps: ["x"], phase: .busy), slot("booting", deps: ["x"], phase: .provisioning),
                     slot("a"), slot("b")]
        #expect(SlotPlacement.bestSlot(for: job, among: slots)?.id == "a")
        #expect(SlotPlacement.bestSlot(for: job, among: [slots[0], slots[1]]) == nil)
        #expect(SlotPlacement.bestSlot(for: PlacementRequest(dependencyHash: nil), among: slots)?.id == "a")
    }
}

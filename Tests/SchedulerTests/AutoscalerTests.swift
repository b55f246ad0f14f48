import Foundation
import Testing

@testable import Scheduler

@Suite struct AutoscalerTests {
    func input(queued: Int, slots: [Slot.Phase], limits: SlotLimits = .default) -> AutoscalerInput {
        AutoscalerInput(
            now: t0, queue: QueueSnapshot(ready: queued), running: [],
            slots: slots.enumerated().map { i, phase in
                var slot = Slot(id: "s\(i)", requestedAt: t0, readyAt: t0, tools: [])
                slot.phase = phase
                return slot
            }, limits: limits, provisioningDelay: 45)
    }

    @Test func theSeedRuleAddsSlotsWhenTheQueueIsOverTwiceTheActiveSlots() {
        var seed = SeedAutoscaler()
        // 1 slot, 3 queued: 3 > 2 → add min(3 − 1, 10 − 1) = 2.
        #expect(seed.decide(input(queued: 3, slots: [.busy])).desiredSlots == 3)
        // 1 slot, 2 queued: not over twice → hold.
        #expect(seed.decide(input(queued: 2, slots: [.busy])).desiredSlots == 1)
        // 2 slots, 30 queued: add min(28, 8) = 8 → 10.
        #expect(seed.decide(input(queued: 30, slots: [.busy, .provisioning])).desiredSlots == 10)
        // Provisioning slots count as active: 3 slots, 6 queued is not over twice.
        #expect(seed.decide(input(queued: 6, slots: [.busy, .provisioning, .provisioning])).desiredSlots == 3)
    }

    @Test func theSeedRuleNeverGoesAboveMax() {
        var seed = SeedAutoscaler()
        let full = input(queued: 100, slots: Array(repeating: .busy, count: 10))
        #expect(seed.decide(full).desiredSlots == 10)
        let limits = try! SlotLimits(min: 1, max: 4)
        #expect(seed.decide(input(queued: 100, slots: [.busy, .busy, .busy], limits: limits)).desiredSlots == 4)
    }

    @Test func theSeedRuleRemovesOneSlotWhenTheQueueIsEmpty() {
        var seed = SeedAutoscaler()
        #expect(seed.decide(input(queued: 0, slots: [.idle, .idle, .busy])).desiredSlots == 2)
        #expect(seed.decide(input(queued: 0, slots: [.idle])).desiredSlots == 1, "never below min")
        #expect(seed.decide(input(queued: 1, slots: [.idle, .idle])).desiredSlots == 2, "not empty: hold")
        #expect(seed.decide(input(queued: 0, slots: [])).desiredSlots == 1, "below min: back to min")
        let decision = seed.decide(input(queued: 0, slots: [.idle, .idle]))
        #expect(decision.reason.contains("remove one"))
    }

    @Test func slotLimitsRefuseNonsense() {
        #expect(throws: SchedulerError.self) { try SlotLimits(min: 5, max: 2) }
        #expect(throws: SchedulerError.self) { try SlotLimits(min: -1, max: 2) }
        #expect(throws: SchedulerError.self) { try SlotLimits(min: 0, max: 0) }
    }
}

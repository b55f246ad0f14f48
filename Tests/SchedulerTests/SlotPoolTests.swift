import Foundation
import Synchronization
import Testing

@testable import Scheduler

/// Slots that take a while to boot, for the pool's bookkeeping (the simulator's provider has this shape).
final class DelayedSlotProvider: SlotProvider {
    let provisioningDelay: Double
    let tools: Set<String>
    private let counter = Mutex(0)
    let released = Mutex<[String]>([])

    let prefix: String

    init(delay: Double, tools: Set<String> = ["node"], prefix: String = "vm") {
        provisioningDelay = delay
        self.prefix = prefix
        self.tools = tools
    }

    func requestSlot(now: Date) throws -> Slot {
        let n = counter.withLock { value in
            value += 1
            return value
        }
        return Slot(id: "\(prefix)-\(n)", requestedAt: now, readyAt: now.addingTimeInterval(provisioningDelay), tools: tools)
    }

    func releaseSlot(id: String, now: Date) { released.withLock { $0.append(id) } }
}

@Suite struct SlotPoolTests {
    @Test func newSlotsProvisionThenBecomeIdle() throws {
        let provider = DelayedSlotProvider(delay: 45)
        var pool = SlotPool()
        let result = try pool.scale(to: 3, now: t0, provider: provider)
        #expect(result.requested == ["vm-1", "vm-2", "vm-3"])
        #expect(pool.provisioningCount == 3)
        pool.advance(now: t0.addingTimeInterval(44))
        #expect(pool.idleCount == 0)
        pool.advance(now: t0.addingTimeInterval(45))
        #expect(pool.idleCount == 3)
    }

    @Test func scalingDownNeverReleasesABusySlot() throws {
        let provider = DelayedSlotProvider(delay: 0)
        var pool = SlotPool()
        try pool.scale(to: 3, now: t0, provider: provider)
        try pool.assign(jobID: 1, dependencyHash: "d1", to: "vm-1", now: t0)
        try pool.assign(jobID: 2, dependencyHash: "d2", to: "vm-2", now: t0)
        let result = try pool.scale(to: 1, now: t0.addingTimeInterval(1), provider: provider)
        #expect(result.released == ["vm-3"])
        #expect(pool.active == 2, "two busy slots stay although one is desired")
        #expect(provider.released.withLock { $0 } == ["vm-3"])
        pool.jobEnded(slotID: "vm-1", now: t0.addingTimeInterval(10))
        #expect(try pool.scale(to: 1, now: t0.addingTimeInterval(11), provider: provider).released == ["vm-1"])
        #expect(pool.slots.map(\.id) == ["vm-2"])
    }

    @Test func idleSlotsAreReleasedLongestIdleFirstThenProvisioningNewestFirst() throws {
        let provider = DelayedSlotProvider(delay: 0)
        var pool = SlotPool(limits: try SlotLimits(min: 0, max: 10))
        try pool.scale(to: 2, now: t0, provider: provider)
        try pool.assign(jobID: 1, dependencyHash: nil, to: "vm-1", now: t0)
        pool.jobEnded(slotID: "vm-1", now: t0.addingTimeInterval(30))  // vm-2 idle since t0, vm-1 since t0+30
        let slow = DelayedSlotProvider(delay: 45, prefix: "boot")
        var mixed = pool
        let added = try mixed.scale(to: 4, now: t0.addingTimeInterval(31), provider: slow)
        #expect(added.requested == ["boot-1", "boot-2"])
        #expect(mixed.releaseCandidates() == ["vm-2", "vm-1"] + added.requested.reversed())
    }

    @Test func aSlotsSpeedFollowsItsBuilds() throws {
        let provider = DelayedSlotProvider(delay: 0)
        var pool = SlotPool()
        try pool.scale(to: 1, now: t0, provider: provider)
        try pool.assign(jobID: 1, dependencyHash: "d", to: "vm-1", now: t0)
        pool.jobEnded(slotID: "vm-1", now: t0.addingTimeInterval(50), expectedSeconds: 100)
        #expect(pool.slot("vm-1")?.speed == 2)
        #expect(pool.slot("vm-1")?.dependencyCache.contains("d") == true)
        #expect(throws: SchedulerError.self) {
            try pool.assign(jobID: 2, dependencyHash: nil, to: "vm-9", now: t0)
        }
    }

    @Test func theDependencyCacheKeepsTheTwentyMostRecentHashes() {
        var cache = DependencyCache()
        for i in 0..<25 { cache.touch("h\(i)") }
        #expect(cache.hashes.count == 20)
        #expect(!cache.contains("h4"))
        #expect(cache.contains("h5"))
        cache.touch("h5")
        cache.touch("new")
        #expect(cache.contains("h5"), "touched again, so h6 was evicted instead")
        #expect(!cache.contains("h6"))
    }
}

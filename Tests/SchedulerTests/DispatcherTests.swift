import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct DispatcherTests {
    func pool(_ count: Int) throws -> SlotPool {
        var pool = SlotPool()
        try pool.scale(to: count, now: t0, provider: LocalProcessSlotProvider())
        return pool
    }

    @Test func theBestJobGoesToTheSlotThatHasItsDependenciesCached() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        var slots = try pool(2)
        // local-2 ran an app with lock "lock-a" before.
        try slots.assign(jobID: 999, dependencyHash: "lock-a", to: "local-2", now: t0)
        slots.jobEnded(slotID: "local-2", now: t0)
        var a = request(dir, app: "a", hint: .release)
        a.dependencyHash = "lock-a"
        var b = request(dir, app: "b")
        b.dependencyHash = "lock-b"
        var c = request(dir, app: "c", hint: .low)
        c.dependencyHash = "lock-c"
        try queue.enqueue(batch: [b, a, c], now: t0)

        let assignments = try Dispatcher(queue: queue, owner: "sched-1").dispatch(pool: &slots, now: t0)
        #expect(assignments.map(\.job.app) == ["a", "b"])
        #expect(assignments.map(\.slotID) == ["local-2", "local-1"])
        #expect(try queue.get(assignments[0].job.id).slotID == "local-2")
        #expect(slots.idleCount == 0)
        #expect(slots.slot("local-1")?.dependencyCache.contains("lock-b") == true)
        #expect(queue.snapshot(now: t0).ready == 1, "c waits for a slot")
    }

    @Test func aKindFilterKeepsWarmBuildsOffTheLastSlots() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        var slots = try pool(3)
        try queue.enqueue(batch: (0..<3).map { i in request(dir, app: "warm\(i)", kind: .cache_warm) }, now: t0)
        // At most one warm build at a time.
        let capped: (SlotPool) -> Set<JobKind>? = { pool in
            pool.busyCount >= 1 ? Set(JobKind.allCases).subtracting([.cache_warm]) : nil
        }
        let assignments = try Dispatcher(queue: queue, owner: "s").dispatch(pool: &slots, now: t0, kinds: capped)
        #expect(assignments.count == 1)
        #expect(slots.idleCount == 2)
    }

    @Test func nothingHappensWithoutIdleSlotsOrReadyJobs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        var slots = try pool(1)
        #expect(try Dispatcher(queue: queue, owner: "s").dispatch(pool: &slots, now: t0).isEmpty)
        try queue.enqueue(batch: [request(dir), request(dir)], now: t0)
        #expect(try Dispatcher(queue: queue, owner: "s").dispatch(pool: &slots, now: t0).count == 1)
        #expect(try Dispatcher(queue: queue, owner: "s").dispatch(pool: &slots, now: t0).isEmpty)
    }
}

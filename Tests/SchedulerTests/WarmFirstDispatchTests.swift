import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

/// The warm-first window: when the best job would start cold on every idle slot, a job close enough in
/// score whose dependencies an idle slot has installed goes first, on that slot.
@Suite struct WarmFirstDispatchTests {
    func job(
        _ dir: TemporaryDirectory, app: String, deps: String, kind: JobKind = .user_push,
        hint: PriorityHint = .normal
    ) -> JobRequest {
        JobRequest(
            app: app, owner: kind == .cache_warm ? "cache-warmer" : "", buildType: "javascript_web", kind: kind,
            source: dir.path, command: "./build.sh", priorityHint: hint, dependencyHash: deps)
    }

    /// A pool whose idle slots have these dependency hashes installed (one hash list per slot).
    func pool(caches: [[String]]) throws -> SlotPool {
        var pool = SlotPool(limits: .default)
        try pool.scale(to: caches.count, now: t0, provider: LocalProcessSlotProvider())
        for (slot, hashes) in zip(pool.slots, caches) {
            for (n, hash) in hashes.enumerated() {
                try pool.assign(jobID: 90_000 + Int64(n), dependencyHash: hash, to: slot.id, now: t0)
                pool.jobEnded(slotID: slot.id, now: t0)
            }
        }
        return pool
    }

    @Test func aWarmJobWithinTheWindowGoesBeforeABetterColdOne() throws {
        for (window, expected) in [(200.0, "beta"), (0.0, "alpha")] {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let queue = try makeQueue(dir)
            // alpha waited 10 minutes longer: 100 points ahead (age 600/h). The only idle slot has beta's deps.
            _ = try queue.enqueue(job(dir, app: "alpha", deps: "dA"), now: t0)
            _ = try queue.enqueue(job(dir, app: "beta", deps: "dB"), now: t0 + 600)
            var slots = try pool(caches: [["dB"]])
            let placed = try Dispatcher(queue: queue, owner: "t", warmWindow: window).dispatch(pool: &slots, now: t0 + 600)
            #expect(placed.map(\.job.app) == [expected], "window \(window)")
            #expect(placed.first?.warm == (expected == "beta"))
        }
    }

    @Test func aJobFurtherBehindThanTheWindowWaits() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        // 30 minutes of age: 300 points, beyond a 200-point window.
        _ = try queue.enqueue(job(dir, app: "alpha", deps: "dA"), now: t0)
        _ = try queue.enqueue(job(dir, app: "beta", deps: "dB"), now: t0 + 1800)
        var slots = try pool(caches: [["dB"]])
        let placed = try Dispatcher(queue: queue, owner: "t", warmWindow: 200).dispatch(pool: &slots, now: t0 + 1800)
        #expect(placed.map(\.job.app) == ["alpha"])
        #expect(placed.first?.warm == false)
    }

    @Test func theWindowDoesNotLiftAJobOverAWholeClass() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        // A cache-warm build (kind 0) never passes a push (kind 1000); a low-hint push (250 below normal) not either.
        _ = try queue.enqueue(job(dir, app: "push", deps: "dA"), now: t0)
        _ = try queue.enqueue(job(dir, app: "warm", deps: "dB", kind: .cache_warm), now: t0)
        _ = try queue.enqueue(job(dir, app: "bot", deps: "dB", hint: .low), now: t0)
        var slots = try pool(caches: [["dB"]])
        let placed = try Dispatcher(queue: queue, owner: "t", warmWindow: 200).dispatch(pool: &slots, now: t0)
        #expect(placed.map(\.job.app) == ["push"])
    }

    @Test func aBestJobThatIsWarmSomewhereKeepsItsTurnAndTheOthersFollowOnTheirSlots() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        _ = try queue.enqueue(job(dir, app: "alpha", deps: "dA"), now: t0)
        _ = try queue.enqueue(job(dir, app: "beta", deps: "dB"), now: t0 + 60)
        var slots = try pool(caches: [["dB"], ["dA"]])
        let placed = try Dispatcher(queue: queue, owner: "t", warmWindow: 200).dispatch(pool: &slots, now: t0 + 60)
        #expect(placed.map(\.job.app) == ["alpha", "beta"])
        #expect(placed.filter { !$0.warm }.isEmpty, "each on the slot with its dependencies")
        #expect(Set(placed.map(\.slotID)).count == 2)
    }

    @Test func theQueueForgetsAWarmCandidateOnceItRunsOrIsCancelled() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let cancelled = try queue.enqueue(job(dir, app: "beta", deps: "dB"), now: t0)
        _ = try queue.enqueue(job(dir, app: "alpha", deps: "dA"), now: t0)
        _ = try queue.cancel(jobID: cancelled.id, now: t0)
        var slots = try pool(caches: [["dB"]])
        let placed = try Dispatcher(queue: queue, owner: "t", warmWindow: 200).dispatch(pool: &slots, now: t0)
        #expect(placed.map(\.job.app) == ["alpha"], "a cancelled job is not a candidate")
    }
}

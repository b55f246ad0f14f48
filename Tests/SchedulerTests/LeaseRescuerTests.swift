import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct LeaseRescuerTests {
    @Test(arguments: QueueBackend.allCases) func aJobWhoseLeaseExpiredGoesBackToTheQueueAndRunsOnceMore(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)  // lease 60 s
        let rescuer = LeaseRescuer(queue: queue)
        let id = try queue.enqueue(request(dir), now: t0).id
        _ = try #require(try queue.claim(owner: "crashed", now: t0))

        #expect(try rescuer.runOnce(now: t0.addingTimeInterval(59)) == RescueReport(requeued: [], failed: []))
        #expect(try queue.claim(owner: "other", now: t0.addingTimeInterval(59)) == nil, "still leased")

        #expect(try rescuer.runOnce(now: t0.addingTimeInterval(61)) == RescueReport(requeued: [id], failed: []))
        let again = try #require(try queue.claim(owner: "other", now: t0.addingTimeInterval(62)))
        #expect(again.id == id)
        #expect(again.attempt == 2)
        // The old owner can no longer touch it.
        #expect(throws: SchedulerError.leaseLost(job: id, owner: "crashed")) {
            try queue.finish(jobID: id, owner: "crashed", outcome: .succeeded(deploymentID: "late"), now: t0.addingTimeInterval(63))
        }
        try queue.finish(jobID: id, owner: "other", outcome: .succeeded(deploymentID: "d"), now: t0.addingTimeInterval(70))
        let attempts = try queue.attempts(of: id)
        #expect(attempts.map(\.outcome) == ["lease_expired", "succeeded"])
        #expect(attempts[0].endedAt! <= attempts[1].startedAt, "the two attempts never overlap in the record")
    }

    @Test(arguments: QueueBackend.allCases) func heartbeatsKeepAJobFromBeingRescued(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let rescuer = LeaseRescuer(queue: queue)
        let id = try queue.enqueue(request(dir), now: t0).id
        _ = try queue.claim(owner: "alive", now: t0)
        for minute in 1...5 {
            _ = try queue.heartbeat(jobID: id, owner: "alive", now: t0.addingTimeInterval(Double(minute) * 30))
            #expect(try rescuer.runOnce(now: t0.addingTimeInterval(Double(minute) * 30 + 45)).requeued.isEmpty)
        }
        #expect(try queue.get(id).state == .running)
    }

    @Test(arguments: QueueBackend.allCases) func aLostLastAttemptEndsTheJobFailed(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        var r = request(dir)
        r.maxAttempts = 1
        let id = try queue.enqueue(r, now: t0).id
        _ = try queue.claim(owner: "crashed", now: t0)
        #expect(try LeaseRescuer(queue: queue).runOnce(now: t0.addingTimeInterval(120)) == RescueReport(requeued: [], failed: [id]))
        let job = try queue.get(id)
        #expect(job.state == .failed)
        #expect(job.error?.contains("expired") == true)
        #expect(queue.snapshot(now: t0).running == 0)
    }

    @Test(arguments: QueueBackend.allCases) func aRestartedSchedulerRescuesJobsItsPredecessorHeld(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        do {
            let before = try makeQueue(dir, backend: backend)
            try before.enqueue(batch: [request(dir), request(dir)], now: t0)
            _ = try before.claim(owner: "pid-1", now: t0)
            _ = try before.claim(owner: "pid-1", now: t0)
        }
        let after = try makeQueue(dir, backend: backend, now: t0.addingTimeInterval(300))
        #expect(after.snapshot(now: t0.addingTimeInterval(300)).running == 2)
        let report = try LeaseRescuer(queue: after).runOnce(now: t0.addingTimeInterval(300))
        #expect(report.requeued.sorted() == [1, 2])
        #expect(after.snapshot(now: t0.addingTimeInterval(300)).ready == 2)
        #expect(after.snapshot(now: t0.addingTimeInterval(300)).running == 0)
    }
}

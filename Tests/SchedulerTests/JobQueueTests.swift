import Foundation
import GRDB
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct JobQueueTests {
    @Test(arguments: QueueBackend.allCases) func aJobGoesFromQueuedToRunningToSucceeded(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let queued = try queue.enqueue(request(dir), now: t0)
        #expect(queued.state == .queued)
        #expect(queued.attempt == 0)
        #expect(queued.queuedAt == t0)

        let claimed = try #require(try queue.claim(owner: "worker-a", slotID: "local-1", now: t0.addingTimeInterval(1)))
        #expect(claimed.id == queued.id)
        #expect(claimed.state == .running)
        #expect(claimed.attempt == 1)
        #expect(claimed.leaseOwner == "worker-a")
        #expect(claimed.slotID == "local-1")
        #expect(claimed.leaseExpiresAt == t0.addingTimeInterval(61))
        #expect(try queue.claim(owner: "worker-a", now: t0.addingTimeInterval(2)) == nil)

        let done = try queue.finish(
            jobID: claimed.id, owner: "worker-a", outcome: .succeeded(deploymentID: "dep-1"),
            report: AttemptReport(stageDurations: ["compilation": 1.5], logPath: "logs/1.log"),
            now: t0.addingTimeInterval(5))
        #expect(done.state == .succeeded)
        #expect(done.deploymentID == "dep-1")
        #expect(done.finishedAt == t0.addingTimeInterval(5))
        #expect(done.stageDurations == ["compilation": 1.5])
        #expect(done.logPath == "logs/1.log")
        #expect(done.leaseOwner == nil)
        #expect(try queue.get(claimed.id) == done)
        let attempts = try queue.attempts(of: claimed.id)
        #expect(attempts.count == 1)
        #expect(attempts[0].outcome == "succeeded")
        #expect(attempts[0].owner == "worker-a")
    }

    @Test func theDatabaseRefusesAStateOutsideTheStateMachine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let job = try queue.enqueue(request(dir), now: t0)
        #expect(throws: DatabaseError.self) {
            try queue.database.writer.write { db in
                try db.execute(sql: "UPDATE job SET state = 'exploded' WHERE id = ?", arguments: [job.id])
            }
        }
        // Running without a lease owner breaks lease_valid.
        #expect(throws: DatabaseError.self) {
            try queue.database.writer.write { db in
                try db.execute(sql: "UPDATE job SET state = 'running' WHERE id = ?", arguments: [job.id])
            }
        }
        #expect(try queue.get(job.id).state == .queued)
    }

    @Test(arguments: QueueBackend.allCases) func theQueueSurvivesReopeningTheDatabase(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let ids: [Int64]
        do {
            let queue = try makeQueue(dir, backend: backend)
            ids = try queue.enqueue(batch: (0..<5).map { _ in request(dir) }, now: t0)
            _ = try queue.claim(owner: "a", now: t0)
        }
        let reopened = try makeQueue(dir, backend: backend)
        #expect(reopened.snapshot(now: t0).ready == 4)
        #expect(reopened.snapshot(now: t0).running == 1)
        let next = try #require(try reopened.claim(owner: "b", now: t0))
        #expect(next.id == ids[1])
    }

    @Test(arguments: QueueBackend.allCases) func aFailedAttemptIsRetriedAfterExponentialBackoffUntilTheLimit(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)  // default: 3 retries, 10 s, ×2
        let id = try queue.enqueue(request(dir), now: t0).id
        var now = t0
        for (attempt, delay) in [(1, 10.0), (2, 20.0), (3, 40.0)] {
            let job = try #require(try queue.claim(owner: "w", now: now))
            #expect(job.attempt == attempt)
            let back = try queue.finish(jobID: id, owner: "w", outcome: .failed(exitCode: 1, error: "exit 1"), now: now)
            #expect(back.state == .queued)
            #expect(back.exitCode == 1)
            #expect(back.availableAt == now.addingTimeInterval(delay))
            #expect(try queue.claim(owner: "w", now: now.addingTimeInterval(delay - 0.5)) == nil, "still backing off")
            #expect(queue.snapshot(now: now).delayed == 1)
            now = now.addingTimeInterval(delay)
        }
        let last = try #require(try queue.claim(owner: "w", now: now))
        #expect(last.attempt == 4)
        let final = try queue.finish(jobID: id, owner: "w", outcome: .failed(exitCode: 2, error: "exit 2"), now: now)
        #expect(final.state == .failed)
        #expect(final.exitCode == 2)
        #expect(try queue.claim(owner: "w", now: now.addingTimeInterval(3600)) == nil)
        #expect(try queue.attempts(of: id).map(\.outcome) == ["failed", "failed", "failed", "failed"])
    }

    @Test(arguments: QueueBackend.allCases) func aTimeoutIsRetriedAndTheLastOneEndsTimedOut(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        var r = request(dir)
        r.maxAttempts = 2
        let id = try queue.enqueue(r, now: t0).id
        _ = try #require(try queue.claim(owner: "w", now: t0))
        #expect(try queue.finish(jobID: id, owner: "w", outcome: .timedOut(), now: t0).state == .queued)
        _ = try #require(try queue.claim(owner: "w", now: t0.addingTimeInterval(10)))
        #expect(try queue.finish(jobID: id, owner: "w", outcome: .timedOut(), now: t0.addingTimeInterval(20)).state == .timed_out)
    }

    @Test(arguments: QueueBackend.allCases) func aFailureMarkedNotRetryableEndsAtOnce(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let id = try queue.enqueue(request(dir), now: t0).id
        _ = try #require(try queue.claim(owner: "w", now: t0))
        let job = try queue.finish(jobID: id, owner: "w", outcome: .failed(exitCode: 1, error: "same failure", retryable: false), now: t0)
        #expect(job.state == .failed)
        #expect(job.attempt == 1)
    }

    @Test(arguments: QueueBackend.allCases) func cancellingAQueuedJobEndsItAndARunningOneIsToldAtTheNextHeartbeat(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let ids = try queue.enqueue(batch: [request(dir), request(dir)], now: t0)
        let running = try #require(try queue.claim(owner: "w", now: t0))
        let waiting = ids.first { $0 != running.id }!

        #expect(try queue.cancel(jobID: waiting, now: t0).state == .cancelled)
        #expect(try queue.claim(owner: "w2", now: t0) == nil, "a cancelled job is never claimed")

        #expect(try queue.heartbeat(jobID: running.id, owner: "w", now: t0) == .keepRunning)
        #expect(try queue.cancel(jobID: running.id, now: t0).cancelRequested)
        #expect(try queue.heartbeat(jobID: running.id, owner: "w", now: t0) == .cancelRequested)
        let ended = try queue.finish(jobID: running.id, owner: "w", outcome: .cancelled, now: t0)
        #expect(ended.state == .cancelled)
        #expect(throws: SchedulerError.invalidTransition(job: running.id, from: .cancelled, operation: "cancel")) {
            try queue.cancel(jobID: running.id, now: t0)
        }
    }

    @Test(arguments: QueueBackend.allCases) func aFailureAfterACancelRequestIsNotRetried(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let id = try queue.enqueue(request(dir), now: t0).id
        _ = try #require(try queue.claim(owner: "w", now: t0))
        try queue.cancel(jobID: id, now: t0)
        #expect(try queue.finish(jobID: id, owner: "w", outcome: .failed(exitCode: 143, error: "killed"), now: t0).state == .failed)
    }

    @Test(arguments: QueueBackend.allCases) func heartbeatsExtendTheLeaseAndAStrangerCannotHeartbeatOrFinish(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let id = try queue.enqueue(request(dir), now: t0).id
        _ = try #require(try queue.claim(owner: "w", now: t0))
        _ = try queue.heartbeat(jobID: id, owner: "w", now: t0.addingTimeInterval(30))
        #expect(try queue.get(id).leaseExpiresAt == t0.addingTimeInterval(90))
        #expect(throws: SchedulerError.leaseLost(job: id, owner: "intruder")) {
            try queue.heartbeat(jobID: id, owner: "intruder", now: t0)
        }
        #expect(throws: SchedulerError.leaseLost(job: id, owner: "intruder")) {
            try queue.finish(jobID: id, owner: "intruder", outcome: .succeeded(deploymentID: "x"), now: t0)
        }
        #expect(try queue.get(id).state == .running)
    }

    @Test(arguments: QueueBackend.allCases) func unknownJobIdsGetAClearError(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        #expect(throws: SchedulerError.unknownJob(42)) { try queue.get(42) }
        #expect(throws: SchedulerError.unknownJob(42)) { try queue.cancel(jobID: 42, now: t0) }
        #expect(throws: SchedulerError.unknownJob(42)) { try queue.heartbeat(jobID: 42, owner: "w", now: t0) }
        #expect(throws: SchedulerError.unknownJob(42)) { try queue.finish(jobID: 42, owner: "w", outcome: .cancelled, now: t0) }
        #expect(throws: SchedulerError.unknownJob(42)) { try queue.explain(jobID: 42, now: t0) }
        #expect(SchedulerError.unknownJob(42).description == "no job with id 42")
    }

    @Test(arguments: QueueBackend.allCases) func badRequestsAreRefusedAndNothingIsQueued(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        var unknownType = request(dir)
        unknownType.buildType = "cobol_mainframe"
        #expect(
            throws: SchedulerError.unknownBuildType("cobol_mainframe", known: ["flutter_android", "flutter_ios", "flutter_web", "javascript_web"])
        ) {
            try queue.enqueue(unknownType, now: t0)
        }
        #expect(throws: SchedulerError.invalidPriority(7)) { try PriorityHint(validating: 7) }
        #expect(throws: SchedulerError.invalidPriority(0)) { try PriorityHint(validating: 0) }
        var missing = request(dir)
        missing.source = dir.path + "/no-such-dir"
        #expect(throws: SchedulerError.missingSource(missing.source)) { try queue.enqueue(missing, now: t0) }
        var badApp = request(dir)
        badApp.app = "../etc/passwd"
        #expect(throws: SchedulerError.invalidApp("../etc/passwd")) { try queue.enqueue(badApp, now: t0) }
        badApp.app = String(repeating: "a", count: 101)
        #expect(throws: SchedulerError.invalidApp(badApp.app)) { try queue.enqueue(badApp, now: t0) }
        var badAttempts = request(dir)
        badAttempts.maxAttempts = 0
        #expect(throws: SchedulerError.invalidAttempts(0)) { try queue.enqueue(badAttempts, now: t0) }
        // One bad request in a batch refuses the whole batch.
        #expect(throws: SchedulerError.self) { try queue.enqueue(batch: [request(dir), unknownType], now: t0) }

        #expect(try queue.list().isEmpty)
        #expect(queue.snapshot(now: t0).ready == 0)
    }

    @Test(arguments: QueueBackend.allCases) func listFiltersByStateAndApp(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(batch: [request(dir, app: "a"), request(dir, app: "b"), request(dir, app: "b")], now: t0)
        _ = try queue.claim(owner: "w", now: t0)
        #expect(try queue.list().count == 3)
        #expect(try queue.list(state: .running).count == 1)
        #expect(try queue.list(state: .queued).count == 2)
        #expect(try queue.list(app: "b").count == 2)
        #expect(try queue.list(limit: 1).count == 1)
    }

    @Test(arguments: QueueBackend.allCases) func twoQueuesOnOneFileInTwoThreadsNeverClaimTheSameJob(_ backend: QueueBackend) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try makeQueue(dir, backend: backend)
        let jobCount = 200
        try first.enqueue(batch: (0..<jobCount).map { i in request(dir, app: "app\(i % 7)") }, now: t0)
        // A second queue over the same file: like a second scheduler process, with its own index.
        let second = try makeQueue(dir, backend: backend)
        func drain(_ queue: JobQueue, owner: String) throws -> [Int64] {
            var ids: [Int64] = []
            while let job = try queue.claim(owner: owner, now: t0) { ids.append(job.id) }
            return ids
        }
        async let a = Task.detached { try drain(first, owner: "a") }.value
        async let b = Task.detached { try drain(second, owner: "b") }.value
        let (claimedA, claimedB) = try await (a, b)
        #expect(Set(claimedA).isDisjoint(with: Set(claimedB)))
        #expect(claimedA.count + claimedB.count == jobCount)
        let owners = try first.list(state: .running, limit: 1000)
        #expect(owners.count == jobCount)
        #expect(owners.allSatisfy { job in (job.leaseOwner == "a") == claimedA.contains(job.id) })
    }

    @Test(arguments: QueueBackend.allCases) func jobsQueuedByAnotherProcessAreFoundBySync(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try makeQueue(dir, backend: backend)
        let cli = try makeQueue(dir, backend: backend)
        let id = try cli.enqueue(request(dir), now: t0).id
        #expect(try server.claim(owner: "s", now: t0) == nil)
        #expect(try server.syncNewJobs(now: t0) == 1)
        #expect(try server.claim(owner: "s", now: t0)?.id == id)
    }

    @Test(arguments: QueueBackend.allCases) func pruningDeletesOnlyOldFinishedJobsAndTheirAttempts(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        let ids = try queue.enqueue(batch: [request(dir), request(dir), request(dir)], now: t0)
        let done = try #require(try queue.claim(owner: "w", now: t0))
        try queue.finish(jobID: done.id, owner: "w", outcome: .succeeded(deploymentID: "d"), now: t0)
        _ = try queue.claim(owner: "w", now: t0)  // stays running
        #expect(try queue.pruneFinished(before: t0) == 0)
        #expect(try queue.pruneFinished(before: t0.addingTimeInterval(1)) == 1)
        #expect(throws: SchedulerError.unknownJob(done.id)) { try queue.get(done.id) }
        #expect(try queue.attempts(of: done.id).isEmpty)
        #expect(try queue.list().count == 2)
        #expect(Set(try queue.list().map(\.id)) == Set(ids).subtracting([done.id]))
    }
}

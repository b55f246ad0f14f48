import ArtifactStore
import Foundation
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

@Suite struct SchedulerServiceTests {
    @Test func aTickScalesUpDispatchesAndRunsQueuedBuilds() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.file("src/build.sh", "mkdir -p out && echo \"<p>$WHARF_JOB</p>\" > out/index.html\n")
        let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
        let queue = try JobQueue(database: database, now: Date())
        let thread = try LoopThread(name: "service-test")
        defer { try? thread.stopAndJoin() }
        let executor = BuildJobExecutor(
            queue: queue, cache: try BuildCache(database: database), store: try Store.open(at: dir.path + "/store"),
            loop: thread.loop, owner: "svc", settings: BuildSettings(workRoot: dir.path + "/work", logRoot: dir.path + "/logs"))
        let service = SchedulerService(
            queue: queue, executor: executor, provider: LocalProcessSlotProvider(),
            autoscaler: SeedAutoscaler(), limits: try SlotLimits(min: 1, max: 4))
        let apps = ["a", "b", "c", "d", "e", "f"]
        for app in apps {
            try queue.enqueue(
                JobRequest(app: app, buildType: "javascript_web", source: dir.path + "/src", command: "sh build.sh"),
                now: Date())
        }
        // The pool starts at min = 1; 6 queued > 2 × 1 active: the seed rule adds min(6 − 1, 4 − 1) = 3.
        let first = try await service.tick(now: Date())
        #expect(first.decision.desiredSlots == 4)
        #expect(first.started.count == 4)
        #expect(await service.scalingHistory().first?.requested.count == 3)
        await service.waitForBuilds()
        #expect(await service.slots().allSatisfy { $0.phase == .idle })
        let second = try await service.tick(now: Date())
        #expect(second.started.count == 2)
        await service.waitForBuilds()
        let jobs = try queue.list()
        #expect(jobs.count == apps.count)
        #expect(jobs.allSatisfy { $0.state == .succeeded }, "\(jobs.map { ($0.id, $0.state, $0.error ?? "") })")
        #expect(Set(jobs.compactMap(\.deploymentID)).count == apps.count, "same source, different apps: no cross-app cache hit")
        #expect(jobs.allSatisfy { !$0.cacheHit })
        // Queue empty: the seed rule removes one idle slot per tick.
        let third = try await service.tick(now: Date())
        #expect(third.decision.desiredSlots == 3)
        #expect(await service.slots().count == 3)
    }

    @Test func theDefaultPolicyStopsRetryingABuildThatFailsTheSameWayTwice() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.file("src/build.sh", "echo 'error: module left-pad not found' >&2\nexit 3\n")
        let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
        let queue = try JobQueue(database: database, now: Date())
        let thread = try LoopThread(name: "service-test")
        defer { try? thread.stopAndJoin() }
        let executor = BuildJobExecutor(
            queue: queue, cache: try BuildCache(database: database), store: try Store.open(at: dir.path + "/store"),
            loop: thread.loop, owner: "svc", settings: BuildSettings(workRoot: dir.path + "/work", logRoot: dir.path + "/logs"))
        let service = SchedulerService(
            queue: queue, executor: executor, provider: LocalProcessSlotProvider(),
            limits: try SlotLimits(min: 1, max: 4))
        #expect(await service.policyName == "adaptive")
        let job = try queue.enqueue(
            JobRequest(
                app: "shop", buildType: "javascript_web", source: dir.path + "/src",
                command: "sh build.sh"), now: Date())
        #expect(job.maxAttempts == 4)
        // Attempt 1 fails; the first sighting of this failure is retried (after the 10 s backoff).
        var now = Date()
        #expect(try await service.tick(now: now).started == [job.id])
        await service.waitForBuilds()
        let retried = try queue.get(job.id)
        #expect(retried.state == .queued)
        // Attempt 2 fails the same way on the same source: deterministic, no attempts 3 and 4. The backoff
        // counts from the real moment attempt 1 ended, which a loaded machine can push well past `now`.
        now = max(now, retried.availableAt).addingTimeInterval(1)
        #expect(try await service.tick(now: now).started == [job.id])
        await service.waitForBuilds()
        let ended = try queue.get(job.id)
        #expect(ended.state == .failed, "\(ended.state)")
        #expect(ended.error?.contains("deterministic") == true, "\(ended.error ?? "")")
        #expect(try queue.attempts(of: job.id).count == 2)
        now = now.addingTimeInterval(120)
        #expect(try await service.tick(now: now).started.isEmpty)
    }
}

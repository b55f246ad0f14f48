import ArtifactStore
import Foundation
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// One job end to end: real queue, real build script, real artifact store, real build cache.
@Suite struct BuildJobExecutorTests {
    struct Setup {
        let dir: TemporaryDirectory
        let queue: JobQueue
        let executor: BuildJobExecutor
        let store: Store
        let thread: LoopThread
    }

    func setUp(script: String, lease: Double = 60) throws -> Setup {
        let dir = try TemporaryDirectory()
        try dir.file("src/build.sh", script)
        try dir.file("src/index.src.html", "<!doctype html><title>shop</title>\n")
        try dir.file("src/package-lock.json", "{}\n")
        let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
        let queue = try JobQueue(database: database, configuration: .init(leaseDuration: lease), now: Date())
        let store = try Store.open(at: dir.path + "/store")
        let thread = try LoopThread(name: "executor-test")
        let settings = BuildSettings(
            workRoot: dir.path + "/work", logRoot: dir.path + "/logs", outputDirectory: "out",
            toolchainVersion: "sh 1", timeout: 20, environment: ["COUNTER": dir.path + "/runs"],
            heartbeatInterval: 0.05)
        let executor = BuildJobExecutor(
            queue: queue, cache: try BuildCache(database: database), store: store,
            loop: thread.loop, owner: "sched-test", settings: settings)
        return Setup(dir: dir, queue: queue, executor: executor, store: store, thread: thread)
    }

    func tearDown(_ s: Setup) {
        try? s.thread.stopAndJoin()
        s.dir.remove()
    }

    func submit(_ s: Setup, force: Bool = false) throws -> Job {
        try s.queue.enqueue(
            JobRequest(
                app: "shop", buildType: "javascript_web", kind: .user_push,
                source: s.dir.path + "/src", command: "sh build.sh", force: force), now: Date())
        return try #require(try s.queue.claim(owner: "sched-test", now: Date()))
    }

    static let goodBuild = """
        echo run >> "$COUNTER"
        echo "::stage compilation"
        mkdir -p out && cp index.src.html out/index.html
        echo "::stage packaging"
        """

    @Test func aSuccessfulBuildIsPublishedAndTheSameSourceLaterHitsTheCache() async throws {
        let s = try setUp(script: Self.goodBuild)
        defer { tearDown(s) }
        let first = try await s.executor.execute(try submit(s))
        #expect(first.state == .succeeded)
        #expect(!first.cacheHit)
        let deployment = try #require(first.deploymentID)
        #expect(try s.store.currentDeploymentID(app: "shop") == deployment)
        #expect(Set(first.stageDurations.keys) == ["compilation", "packaging"])
        #expect(try String(contentsOfFile: try #require(first.logPath), encoding: .utf8).contains("::stage compilation"))
        #expect(!FileManager.default.fileExists(atPath: s.dir.path + "/work/job-\(first.id)-attempt-1"), "work dir removed")

        let second = try await s.executor.execute(try submit(s))
        #expect(second.state == .succeeded)
        #expect(second.cacheHit)
        #expect(second.deploymentID == deployment)
        let runs = try String(contentsOfFile: s.dir.path + "/runs", encoding: .utf8)
        #expect(runs == "run\n", "the second job did not build")
    }

    @Test func aForcedJobBuildsPastTheCacheAndRecordsItsResultThere() async throws {
        let s = try setUp(script: Self.goodBuild)
        defer { tearDown(s) }
        let first = try await s.executor.execute(try submit(s))
        let hit = try await s.executor.execute(try submit(s))
        #expect(hit.cacheHit && hit.deploymentID == first.deploymentID)
        let forced = try await s.executor.execute(try submit(s, force: true))
        #expect(forced.state == .succeeded)
        #expect(forced.force && !forced.cacheHit)
        let rebuilt = try #require(forced.deploymentID)
        #expect(rebuilt != first.deploymentID, "a new deployment, not the cached one")
        #expect(try String(contentsOfFile: s.dir.path + "/runs", encoding: .utf8) == "run\nrun\n", "the forced job built")
        // The forced result replaced the cache entry: the next plain job hits it.
        let after = try await s.executor.execute(try submit(s))
        #expect(after.cacheHit && after.deploymentID == rebuilt)
        #expect(try String(contentsOfFile: s.dir.path + "/runs", encoding: .utf8) == "run\nrun\n")
    }

    @Test func changedSourceMissesTheCache() async throws {
        let s = try setUp(script: Self.goodBuild)
        defer { tearDown(s) }
        let first = try await s.executor.execute(try submit(s))
        try s.dir.file("src/index.src.html", "<!doctype html><title>shop v2</title>\n")
        let second = try await s.executor.execute(try submit(s))
        #expect(!second.cacheHit)
        #expect(second.deploymentID != first.deploymentID)
        #expect(try s.store.currentDeploymentID(app: "shop") == second.deploymentID)
    }

    @Test func aFailedBuildGoesBackToTheQueueAndPublishesNothing() async throws {
        let s = try setUp(script: "echo nope >&2\nexit 2\n")
        defer { tearDown(s) }
        let job = try await s.executor.execute(try submit(s))
        #expect(job.state == .queued)
        #expect(job.exitCode == 2)
        #expect(try s.store.currentDeploymentID(app: "shop") == nil)
    }

    @Test func aRetryAfterADeathBetweenPublishAndFinishRecordsThePublishedDeploymentInsteadOfBuildingAgain() async throws {
        let s = try setUp(script: Self.goodBuild)
        defer { tearDown(s) }
        let job = try submit(s)
        // What the dead attempt left behind: its deployment is in the store, the queue never heard of it.
        try s.dir.file("dead/index.html", "<!doctype html><title>built before the crash</title>\n")
        let published = try s.store.publish(
            PublishRequest(
                app: "shop", directory: s.dir.path + "/dead", version: nil,
                message: "job \(job.id)", metadata: s.executor.publishIdentity(job),
                activate: true))
        let finished = try await s.executor.execute(job)
        #expect(finished.state == .succeeded)
        #expect(finished.deploymentID == published.deployment.id)
        #expect(try s.store.deployments(app: "shop").count == 1, "nothing published a second time")
        #expect(!FileManager.default.fileExists(atPath: s.dir.path + "/runs"), "the build did not run again")
    }

    @Test func aDeploymentFromAnotherJobWithTheSameIdButAnotherQueueTimeIsNotTakenForThisJobs() async throws {
        let s = try setUp(script: Self.goodBuild)
        defer { tearDown(s) }
        let job = try submit(s)
        try s.dir.file("old/index.html", "<!doctype html><title>old scheduler database</title>\n")
        _ = try s.store.publish(
            PublishRequest(
                app: "shop", directory: s.dir.path + "/old", version: nil, message: nil,
                metadata: ["job": "\(job.id)", "job_queued_at": "1"], activate: true))
        let finished = try await s.executor.execute(job)
        #expect(finished.state == .succeeded)
        #expect(try s.store.deployments(app: "shop").count == 2)
        #expect(try String(contentsOfFile: s.dir.path + "/runs", encoding: .utf8) == "run\n")
    }

    @Test func aCancelRequestReachesTheRunningBuildThroughTheHeartbeat() async throws {
        let s = try setUp(script: "echo '::stage dependencies'\nsleep 120\n")
        defer { tearDown(s) }
        let job = try submit(s)
        let queue = s.queue
        // A thread, not a task: blocking tests elsewhere may hold every cooperative thread.
        Thread {
            usleep(300_000)
            _ = try? queue.cancel(jobID: job.id, now: Date())
        }.start()
        let started = ContinuousClock.now
        let ended = try await s.executor.execute(job)
        #expect(ended.state == .cancelled)
        #expect(ContinuousClock.now - started < .seconds(60))  // the build alone would take 120 s
    }
}

import ArtifactStore
import Foundation
import GRDB
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// The warm batch's build half over real parts: an artifact store with synthetic popularity, a real
/// queue and build cache, and the real executor building with a shell script.
@Suite struct WarmBatchTests {
    struct Setup {
        let dir: TemporaryDirectory
        let store: Store
        let popularity: Popularity
        let queue: JobQueue
        let cache: BuildCache
        let settings: BuildSettings
        let executor: BuildJobExecutor
        let thread: LoopThread
    }

    static let build = """
        mkdir -p out && cp index.src.html out/index.html
        """

    func setUp() throws -> Setup {
        let dir = try TemporaryDirectory()
        for app in ["shop", "blog", "docs"] {
            try dir.file("\(app)/build.sh", Self.build)
            try dir.file("\(app)/index.src.html", "<!doctype html><title>\(app)</title>\n")
        }
        let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
        let queue = try JobQueue(database: database, now: Date())
        let cache = try BuildCache(database: database)
        let store = try Store.open(at: dir.path + "/store")
        let thread = try LoopThread(name: "warm-test")
        let settings = BuildSettings(workRoot: dir.path + "/work", logRoot: dir.path + "/logs", toolchainVersion: "sh 1", timeout: 20)
        let executor = BuildJobExecutor(queue: queue, cache: cache, store: store, loop: thread.loop, owner: "warm-test", settings: settings)
        return Setup(
            dir: dir, store: store, popularity: try Popularity(store: store), queue: queue, cache: cache,
            settings: settings, executor: executor, thread: thread)
    }

    func tearDown(_ s: Setup) {
        try? s.thread.stopAndJoin()
        s.dir.remove()
    }

    /// Submits and runs a user push of `app` to completion.
    func push(_ s: Setup, _ app: String) async throws -> Job {
        try s.queue.enqueue(
            JobRequest(
                app: app, buildType: "javascript_web", kind: .user_push, source: s.dir.path + "/" + app,
                command: "sh build.sh"), now: Date())
        let job = try #require(try s.queue.claim(owner: "warm-test", now: Date()))
        return try await s.executor.execute(job)
    }

    func batch(_ s: Setup, top: Int) throws -> WarmBatch {
        try WarmBatch(
            popularity: s.popularity, queue: s.queue, cache: s.cache, settings: s.settings, preloader: nil,
            options: .init(topApps: top, pathsPerApp: 2))
    }

    @Test func onlyPopularAppsWhoseCurrentSourceIsNotCachedGetALowPriorityWarmBuild() async throws {
        let s = try setUp()
        defer { tearDown(s) }
        #expect(try await push(s, "shop").state == .succeeded)
        #expect(try await push(s, "blog").state == .succeeded)
        #expect(try await push(s, "docs").state == .succeeded)
        // blog's source changed since its build: its current state is not in the cache.
        try s.dir.file("blog/index.src.html", "<!doctype html><title>blog v2</title>\n")
        try s.popularity.record(
            [
                .init(app: "shop", path: "/", requests: 500, bytes: 1),
                .init(app: "shop", path: "/app.js", requests: 300, bytes: 1),
                .init(app: "shop", path: "/logo.png", requests: 10, bytes: 1),
                .init(app: "blog", path: "/", requests: 200, bytes: 1),
                .init(app: "never-built", path: "/", requests: 100, bytes: 1),
                .init(app: "docs", path: "/", requests: 1, bytes: 1),
            ], now: Date())
        let report = try await batch(s, top: 3).run(now: Date())
        #expect(report.apps.map(\.app) == ["shop", "blog", "never-built"])
        #expect(report.apps.map(\.build) == ["cached", "queued", "no_source"])
        #expect(report.apps[0].paths == ["/", "/app.js"])
        #expect(report.queued == 1)
        let queued = try s.queue.list(state: .queued)
        #expect(queued.map(\.app) == ["blog"])
        let warm = try #require(queued.first)
        #expect(warm.kind == .cache_warm && warm.priorityHint == .low && !warm.activate && warm.owner == "system")
        #expect(warm.id == report.apps[1].jobID)
        #expect(warm.source == s.dir.path + "/blog" && warm.command == "sh build.sh")

        // Run again while it is queued: nothing is queued twice.
        let again = try await batch(s, top: 3).run(now: Date())
        #expect(again.apps.map(\.build) == ["cached", "pending", "no_source"])
        #expect(again.queued == 0)

        // The executor builds the warm job into the cache without moving blog's alias.
        let aliasBefore = try s.store.currentDeploymentID(app: "blog")
        let claimed = try #require(try s.queue.claim(owner: "warm-test", now: Date()))
        #expect(try await s.executor.execute(claimed).state == .succeeded)
        #expect(try s.store.currentDeploymentID(app: "blog") == aliasBefore)
        let third = try await batch(s, top: 3).run(now: Date())
        #expect(third.apps.map(\.build) == ["cached", "cached", "no_source"])
        #expect(third.queued == 0)
    }

    @Test func lookingAtTheCacheCountsNoHit() async throws {
        let s = try setUp()
        defer { tearDown(s) }
        #expect(try await push(s, "shop").state == .succeeded)
        try s.popularity.record([.init(app: "shop", path: "/", requests: 5, bytes: 1)], now: Date())
        _ = try await batch(s, top: 1).run(now: Date())
        let hits = try await s.cache.database.writer.read { db in try Int.fetchOne(db, sql: "SELECT hits FROM build_cache") }
        #expect(hits == 0)
    }

    @Test func badOptionsAreRefused() throws {
        let s = try setUp()
        defer { tearDown(s) }
        for options in [WarmBatch.Options(topApps: 0), .init(pathsPerApp: 0), .init(maxEvictShare: 1.5), .init(maxEvictShare: .nan)] {
            #expect(throws: SchedulerError.self) {
                try WarmBatch(popularity: s.popularity, queue: s.queue, cache: s.cache, settings: s.settings, preloader: nil, options: options)
            }
        }
    }
}

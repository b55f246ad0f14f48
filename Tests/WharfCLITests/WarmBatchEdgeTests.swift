import ArtifactStore
import Foundation
import Testing
import UVLoop

@testable import Edge
@testable import Scheduler
@testable import WharfCLI

/// The whole warm batch against a real edge: synthetic popularity in the store, real builds in the
/// build cache, the real `EdgeWarmPreloader` over `CacheWarmer`, then real HTTP requests.
@Suite(.serialized) struct WarmBatchEdgeTests {
    /// Builds `app` from `source` with the real executor (a user push), to completion.
    func build(_ app: String, _ source: String, queue: JobQueue, executor: BuildJobExecutor) async throws {
        try queue.enqueue(JobRequest(app: app, buildType: "javascript_web", kind: .user_push, source: source, command: "sh build.sh"), now: Date())
        let job = try #require(try queue.claim(owner: "edge-warm-test", now: Date()))
        #expect(try await executor.execute(job).state == .succeeded)
    }

    /// A source directory whose build copies `files` into out/.
    func source(_ root: URL, _ name: String, _ files: [String: [UInt8]]) throws -> String {
        let dir = root.appendingPathComponent(name)
        for (path, bytes) in files {
            let url = dir.appendingPathComponent("site" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        try Data("mkdir -p out && cp -R site/. out/\n".utf8).write(to: dir.appendingPathComponent("build.sh"))
        return dir.path
    }

    /// Waits (bounded) until the edge's catalog serves `app` at `deployment`.
    func waitServed(_ h: WiringEdge, _ app: String, _ deployment: String?) async throws {
        for _ in 0..<200 where h.server.catalog.snapshot.apps[app]?.id != deployment {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(h.server.catalog.snapshot.apps[app]?.id == deployment)
    }

    @Test func aWarmBatchQueuesExactlyTheUncachedPopularAppsAndPreloadsTheirHottestFilesAsCacheHits() async throws {
        let h = try WiringEdge()
        defer { h.stop() }
        let thread = try LoopThread(name: "edge-warm-test")
        defer { try? thread.stopAndJoin() }
        let database = try SchedulerDatabase.open(path: h.root.appendingPathComponent("scheduler.sqlite").path)
        let queue = try JobQueue(database: database, now: Date())
        let cache = try BuildCache(database: database)
        let settings = BuildSettings(
            workRoot: h.root.appendingPathComponent("work").path, logRoot: h.root.appendingPathComponent("logs").path,
            toolchainVersion: "sh 1", timeout: 20)
        let executor = BuildJobExecutor(queue: queue, cache: cache, store: h.store, loop: thread.loop, owner: "edge-warm-test", settings: settings)

        // demo and blog were built here; docs was too but is not popular enough.
        let demoSource = try source(h.root, "src-demo", h.files)
        try await build("demo", demoSource, queue: queue, executor: executor)
        try await build(
            "blog", try source(h.root, "src-blog", ["/index.html": Array("<!doctype html><title>blog</title>".utf8)]), queue: queue,
            executor: executor)
        try await build(
            "docs", try source(h.root, "src-docs", ["/index.html": Array("<!doctype html><title>docs</title>".utf8)]), queue: queue,
            executor: executor)
        // demo's source moved on since: its current state is not in the build cache.
        try Data("<!doctype html><title>new page</title>".utf8).write(to: URL(fileURLWithPath: demoSource + "/site/new.html"))
        try await waitServed(h, "demo", try h.store.currentDeploymentID(app: "demo"))
        try await waitServed(h, "blog", try h.store.currentDeploymentID(app: "blog"))

        let popularity = try Popularity(store: h.store)
        try popularity.record(
            [
                .init(app: "demo", path: "/assets/app.1a2b3c4d.js", requests: 900, bytes: 1),
                .init(app: "demo", path: "/", requests: 600, bytes: 1),
                .init(app: "demo", path: "/assets/style.5e6f7a8b.css", requests: 300, bytes: 1),
                .init(app: "demo", path: "/robots.txt", requests: 2, bytes: 1),
                .init(app: "blog", path: "/", requests: 400, bytes: 1),
                .init(app: "docs", path: "/", requests: 3, bytes: 1),
            ], now: Date())

        let batch = try WarmBatch(
            popularity: popularity, queue: queue, cache: cache, settings: settings,
            preloader: EdgeWarmPreloader(edge: h.server),
            options: .init(topApps: 2, pathsPerApp: 3, maxEvictShare: 0.25))
        let report = try await batch.run(now: Date())

        // Builds: exactly the uncached popular app.
        #expect(report.apps.map(\.app) == ["demo", "blog"])
        #expect(report.apps.map(\.build) == ["queued", "cached"])
        let queued = try queue.list(state: .queued)
        #expect(queued.map(\.app) == ["demo"])
        #expect(queued.first?.kind == .cache_warm)

        // Preloads: demo's three hottest paths in every representation, hottest first; not robots.txt.
        #expect(report.apps[0].paths == ["/assets/app.1a2b3c4d.js", "/", "/assets/style.5e6f7a8b.css"])
        let demo = try #require(report.apps[0].preload)
        #expect(demo.loaded >= 6)  // JS and CSS have identity + compressed variants; index.html too
        #expect(demo.skipped == 0)
        #expect(demo.evictedBytes == 0)
        #expect(report.bytes > 0 && report.bytes == report.apps.compactMap(\.preload).map(\.bytes).reduce(0, +))
        #expect(report.maxEvictedBytes == h.server.cache.budget / 4)

        // Served from the cache with no disk read: loads stay where they were, hits go up.
        let before = h.server.cache.statistics()
        for (path, encoding) in [
            ("/apps/demo/assets/app.1a2b3c4d.js", "br"), ("/apps/demo/assets/app.1a2b3c4d.js", "identity"),
            ("/apps/demo/", "gzip, br"), ("/apps/demo/assets/style.5e6f7a8b.css", "zstd"),
        ] {
            let response = try Curl.request("http://127.0.0.1:\(h.port)\(path)", headers: ["Accept-Encoding": encoding])
            #expect(response.status == 200)
        }
        let after = h.server.cache.statistics()
        #expect(after.loads == before.loads)
        #expect(after.hits == before.hits + 4)
        // A path the batch did not preload is read from disk: the counter does move.
        #expect(try Curl.request("http://127.0.0.1:\(h.port)/apps/demo/robots.txt").status == 200)
        #expect(h.server.cache.statistics().loads == after.loads + 1)
    }

    @Test func theBatchNeverEvictsMoreThanItsShareOfTheCache() async throws {
        // One 30 kB shard: the PNG (20 kB) from traffic fills most of it, so the JS's compressed
        // variants fit only by evicting what traffic put there. (The 93 kB identity JS is a blob
        // file over a sixteenth of this cache: it is held as an open file, a few kB.)
        let h = try WiringEdge { $0.cacheBytes = 30_000 }
        defer { h.stop() }
        let database = try SchedulerDatabase.open(path: h.root.appendingPathComponent("scheduler.sqlite").path)
        let popularity = try Popularity(store: h.store)
        try popularity.record(
            [
                .init(app: "demo", path: "/assets/app.1a2b3c4d.js", requests: 900, bytes: 1),
                .init(app: "demo", path: "/assets/logo.9c8d7e6f.png", requests: 200, bytes: 1),
            ], now: Date())
        for path in ["/apps/demo/", "/apps/demo/robots.txt", "/apps/demo/assets/logo.9c8d7e6f.png"] {
            #expect(try Curl.request("http://127.0.0.1:\(h.port)\(path)", headers: ["Accept-Encoding": "identity"]).status == 200)
        }
        func batch(share: Double) throws -> WarmBatch {
            try WarmBatch(
                popularity: popularity, queue: try JobQueue(database: database), cache: try BuildCache(database: database),
                settings: BuildSettings(workRoot: h.root.path + "/w", logRoot: h.root.path + "/l"),
                preloader: EdgeWarmPreloader(edge: h.server), options: .init(topApps: 1, pathsPerApp: 2, maxEvictShare: share))
        }
        let evictionsBefore = h.server.cache.statistics().evictions
        let capped = try await batch(share: 0).run(now: Date())
        #expect(capped.maxEvictedBytes == 0)
        #expect(capped.evictedBytes == 0)
        #expect(h.server.cache.statistics().evictions == evictionsBefore)
        // What traffic cached is still there.
        let loads = h.server.cache.statistics().loads
        #expect(
            try Curl.request("http://127.0.0.1:\(h.port)/apps/demo/assets/logo.9c8d7e6f.png", headers: ["Accept-Encoding": "identity"])
                .status == 200)
        #expect(h.server.cache.statistics().loads == loads)

        // The same batch allowed the whole cache does evict to load the JS: the cap was what held it back.
        let uncapped = try await batch(share: 1).run(now: Date())
        #expect(uncapped.evictedBytes > 0)
        #expect(uncapped.evictedBytes <= uncapped.maxEvictedBytes)
        #expect(h.server.cache.statistics().evictions > evictionsBefore)
    }
}

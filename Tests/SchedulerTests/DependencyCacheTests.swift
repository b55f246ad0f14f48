import ArtifactStore
import Foundation
import Glibc
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// Per-slot dependency caches with real builds: a fixture build "installs" its dependencies into
/// `$WHARF_DEPS_CACHE` (one second) unless they are there; the real scheduler records each attempt as
/// warm or cold, and the simulator, replaying the same burst, counts the same.
@Suite struct DependencyCacheTests {
    /// Installs into the cache when it is empty (1 s), then builds.
    static let fixture = """
        if [ -f "$WHARF_DEPS_CACHE/installed" ]; then echo "deps: reused"; else
          echo "::stage install"; sleep 1; echo lib > "$WHARF_DEPS_CACHE/installed"; echo "deps: installed"; fi
        echo "::stage build"
        mkdir -p out && cp index.src.html out/index.html
        """

    struct World {
        let dir: TemporaryDirectory
        let queue: JobQueue
        let store: Store
        let thread: LoopThread
        let settings: BuildSettings
        let executor: BuildJobExecutor

        init(isolation: BuildIsolation = .none, cacheBytes: Int = 1 << 30) throws {
            dir = try TemporaryDirectory()
            queue = try JobQueue(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"), now: Date())
            store = try Store.open(at: dir.path + "/store")
            thread = try LoopThread(name: "deps-test")
            settings = BuildSettings(
                workRoot: dir.path + "/sandbox/work", logRoot: dir.path + "/logs", outputDirectory: "out",
                toolchainVersion: "sh 1", timeout: 30, isolation: isolation,
                slotCacheRoot: dir.path + "/sandbox/slots", slotCacheBytes: cacheBytes, heartbeatInterval: 0.5)
            executor = BuildJobExecutor(
                queue: queue, cache: try BuildCache(database: queue.database), store: store,
                loop: thread.loop, owner: "deps-test", settings: settings)
        }

        func close() {
            try? thread.stopAndJoin()
            dir.remove()
        }

        /// A source of `app` whose lock file is `lock` and whose page is unique (so the build cache never hits).
        func source(_ app: String, lock: String, n: Int) throws -> String {
            let name = "src-\(app)-\(n)"
            try dir.file(name + "/build.sh", DependencyCacheTests.fixture)
            try dir.file(name + "/package-lock.json", lock)
            try dir.file(name + "/index.src.html", "<p>\(app) \(n) \(UUID())</p>\n")
            return dir.path + "/" + name
        }

        func request(_ app: String, lock: String, n: Int) throws -> JobRequest {
            let source = try source(app, lock: lock, n: n)
            var submission = JobSubmission(app: app, buildType: "javascript_web", source: source, command: "sh build.sh")
            submission.kind = "user_push"
            return try submission.request(
                defaults: .init(command: "sh build.sh", output: "out", toolchainVersion: "sh 1"),
                catalog: .default, relativeTo: "/")
        }

        func log(_ job: Job) -> String { (try? String(contentsOfFile: job.logPath ?? "", encoding: .utf8)) ?? "" }
    }

    @Test func aSecondBuildWithTheSameLockFilesOnTheSameSlotSkipsTheInstallAndIsFaster() async throws {
        let (isolation, _) = try BuildIsolation.resolve(requested: "bubblewrap", user: "wharf-build")
        let w = try World(isolation: isolation)
        defer { w.close() }
        var seconds: [Double] = []
        var jobs: [Job] = []
        for n in 1...2 {
            let job = try w.queue.enqueue(try w.request("shop", lock: "{\"lockfileVersion\": 3}\n", n: n), now: Date())
            #expect(job.dependencyHash != nil)
            let claimed = try #require(try w.queue.claim(owner: "deps-test", slotID: "local-1", now: Date()))
            let started = Date()
            let done = try await w.executor.execute(claimed)
            seconds.append(Date().timeIntervalSince(started))
            #expect(done.state == .succeeded, "\(w.log(done))")
            jobs.append(done)
        }
        #expect(w.log(jobs[0]).contains("deps: installed") && w.log(jobs[1]).contains("deps: reused"), "\(w.log(jobs[1]))")
        #expect(seconds[0] - seconds[1] > 0.7, "cold \(seconds[0]) s, warm \(seconds[1]) s")
        let attempts = try jobs.map { try #require(try w.queue.attempts(of: $0.id).last) }
        #expect(attempts.map { $0.sandbox?.dependencyCache } == ["cold", "warm"])
        #expect(attempts.allSatisfy { $0.sandbox?.isolation == "bubblewrap" && $0.sandbox?.user == "wharf-build-1" })
        // Another slot, another cache; another lock file, another entry.
        _ = try w.queue.enqueue(try w.request("shop", lock: "{\"lockfileVersion\": 3}\n", n: 3), now: Date())
        let elsewhere = try #require(try w.queue.claim(owner: "deps-test", slotID: "local-2", now: Date()))
        let third = try await w.executor.execute(elsewhere)
        #expect(w.log(third).contains("deps: installed"))
        let cache = SlotDependencyCache(root: w.settings.slotCacheRoot!, slotID: "local-1", capacityBytes: 1 << 30)
        #expect(cache.hashes() == [jobs[0].dependencyHash!])
    }

    @Test func aSlotCacheKeepsWithinItsBytesEvictingTheLeastRecentlyUsed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = SlotDependencyCache(root: dir.path, slotID: "local-1", capacityBytes: 300_000)
        for (i, hash) in ["aaa", "bbb", "ccc"].enumerated() {
            let (path, warm) = try cache.prepare(hash, for: nil)
            #expect(!warm)
            try Data(repeating: UInt8(i), count: 120_000).write(to: URL(fileURLWithPath: path + "/blob"))
            // Distinct use times, oldest first.
            var times = [timeval(tv_sec: 1_000_000 + i, tv_usec: 0), timeval(tv_sec: 1_000_000 + i, tv_usec: 0)]
            utimes(path, &times)
        }
        #expect(cache.hashes() == ["aaa", "bbb", "ccc"])
        // Using aaa again makes bbb the oldest.
        let (_, warm) = try cache.prepare("aaa", for: nil)
        #expect(warm)
        let removed = cache.evict(keep: "aaa")
        #expect(removed == ["bbb"], "\(removed)")
        #expect(Set(cache.hashes()) == ["aaa", "ccc"] && cache.bytes() <= 300_000)
        // An entry alone over the capacity goes too, last.
        let small = SlotDependencyCache(root: dir.path, slotID: "local-2", capacityBytes: 1 << 20)
        let (big, _) = try small.prepare("big", for: nil)
        try Data(count: 2 << 20).write(to: URL(fileURLWithPath: big + "/blob"))
        #expect(small.evict(keep: "big") == ["big"])
        // Hostile names stay inside the cache.
        #expect(SlotDependencyCache.safeName("../../etc") == ".._.._etc" && SlotDependencyCache.safeName("..") == "_")
    }

    @Test func aReleasedSlotComesBackWithItsCacheAsItsWarmSet() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let provider = LocalProcessSlotProvider(cacheRoot: dir.path)
        var pool = SlotPool(limits: try SlotLimits(min: 0, max: 3))
        try pool.scale(to: 2, now: t0, provider: provider)
        #expect(pool.slots.map(\.id) == ["local-1", "local-2"])
        _ = try SlotDependencyCache(root: dir.path, slotID: "local-2", capacityBytes: 1 << 20).prepare("deps-x", for: nil)
        try pool.scale(to: 0, now: t0 + 1, provider: provider)
        try pool.scale(to: 2, now: t0 + 2, provider: provider)
        #expect(pool.slot("local-2")?.dependencyCache.contains("deps-x") == true)
        #expect(pool.slot("local-1")?.dependencyCache.contains("deps-x") == false)
    }

    @Test func theSimulatorCountsTheSameColdAttemptsAsTheRealSchedulerOnAReplayedBurst() async throws {
        let w = try World()
        defer { w.close() }
        // Six pushes at once on one slot; "web" and "admin" share their lock file, "api" has its own.
        let locks = ["web": "{\"deps\": \"react\"}\n", "admin": "{\"deps\": \"react\"}\n", "api": "{\"deps\": \"express\"}\n"]
        let burst = ["web", "api", "admin", "web", "api", "admin"]
        var hashes: [String: String] = [:]
        for (n, app) in burst.enumerated() {
            let job = try w.queue.enqueue(try w.request(app, lock: locks[app]!, n: n), now: Date())
            hashes[app] = job.dependencyHash
        }
        #expect(hashes["web"] == hashes["admin"] && hashes["web"] != hashes["api"])
        let service = SchedulerService(
            queue: w.queue, executor: w.executor,
            provider: LocalProcessSlotProvider(cacheRoot: w.settings.slotCacheRoot),
            policy: .adaptive(), limits: try SlotLimits(min: 1, max: 1))
        // Generous: in the full suite, blocking tests can hold the concurrency pool for minutes.
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            try await service.tick(now: Date())
            if try w.queue.list(state: .succeeded, limit: 100).count == burst.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        await service.waitForBuilds()
        let finished = try w.queue.list(limit: 100)
        #expect(finished.allSatisfy { $0.state == .succeeded }, "\(finished.map(\.state))")
        let recorded = try finished.flatMap { try w.queue.attempts(of: $0.id) }.compactMap { $0.sandbox?.dependencyCache }
        #expect(recorded.count == burst.count)
        let realCold = recorded.filter { $0 == "cold" }.count

        let records = burst.enumerated().map { n, app in
            TraceRecord(
                requestID: n + 1, arrival: 0, app: app, buildType: "javascript_web", kind: .user_push,
                sourceHash: "src-\(n)", dependencyHash: hashes[app]!, serviceWarm: 0.2, coldExtra: 1)
        }
        let simulated = try TraceSimulator(
            trace: Trace(records: records), policy: .adaptive(),
            options: .init(limits: try SlotLimits(min: 1, max: 1), provisioningDelay: 0, tick: 1)
        ).run()
        let simCold = Int(((simulated.metrics.coldAttemptShare ?? 0) * Double(simulated.metrics.attempts)).rounded())
        #expect(simulated.metrics.attempts == burst.count)
        #expect(realCold == simCold, "real \(recorded), simulated cold \(simCold) of \(simulated.metrics.attempts)")
        #expect(realCold == 2, "one cold start per distinct lock file: \(recorded)")
    }
}

import ArtifactStore
import Foundation
import Glibc
import Synchronization
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// The scheduler's background services, each on an injected clock: the periodic runner that drives
/// them all, housekeeping's retention, the orphan reaper, and the shutdown grace.
@Suite struct ServicesTests {
    final class Calls: Sendable {
        let names = Mutex<[String]>([])
        let lines = Mutex<[String]>([])
        func add(_ name: String) { names.withLock { $0.append(name) } }
        func log(_ line: String) { lines.withLock { $0.append(line) } }
    }

    struct Flaky: Error, CustomStringConvertible {
        var description: String
    }

    @Test func thePeriodicRunnerRunsEachTaskWhenDueOnAVirtualClock() async throws {
        let clock = VirtualClock(start: t0)
        let calls = Calls()
        let failing = Atomic<Int>(3)
        let runner = PeriodicRunner(
            tasks: [
                PeriodicTask(name: "fast", interval: 1) { _ in calls.add("fast") },
                PeriodicTask(name: "slow", interval: 60) { _ in calls.add("slow") },
                PeriodicTask(name: "flaky", interval: 10) { _ in
                    calls.add("flaky")
                    if failing.subtract(1, ordering: .relaxed).newValue >= 0 { throw Flaky(description: "disk busy") }
                },
            ], clock: clock, log: { calls.log($0) })
        // Everything runs at start, in order.
        #expect(await runner.runDue(now: clock.now()) == ["fast", "slow", "flaky"])
        // Nothing is due half a second later.
        clock.advance(by: 0.5)
        #expect(await runner.runDue(now: clock.now()).isEmpty)
        // Then only what is due.
        clock.advance(by: 0.5)
        #expect(await runner.runDue(now: clock.now()) == ["fast"])
        #expect(await runner.nextDue() == t0.addingTimeInterval(2))
        for _ in 0..<59 {
            clock.advance(by: 1)
            await runner.runDue(now: clock.now())
        }
        let names = calls.names.withLock { $0 }
        #expect(names.count { $0 == "fast" } == 61)
        #expect(names.count { $0 == "slow" } == 2)
        #expect(names.count { $0 == "flaky" } == 7)
        // Three failures with the same error: logged once; the recovery once.
        let lines = calls.lines.withLock { $0 }
        #expect(lines == ["flaky failed (runs again in 10.0 s): disk busy", "flaky works again"], "\(lines)")
    }

    @Test func aRoundThatRunsLateOrLongIsLogged() async throws {
        let clock = VirtualClock(start: t0)
        let calls = Calls()
        let runner = PeriodicRunner(
            tasks: [
                PeriodicTask(name: "tick", interval: 0.1) { _ in calls.add("tick") },
                PeriodicTask(name: "sweep", interval: 60) { _ in clock.advance(by: 7) },
            ], clock: clock, log: { calls.log($0) })
        await runner.runDue(now: clock.now())
        // The sweep took 7 s of the clock: over the 5 s a round may take.
        #expect(calls.lines.withLock { $0 } == ["sweep took 7.0 s (every 60.0 s)"])
        // The tick, due 0.1 s after the first round's start, runs 6.9 s late (over 5 s): logged; on time: not.
        await runner.runDue(now: clock.now())
        clock.advance(by: 0.1)
        await runner.runDue(now: clock.now())
        #expect(calls.lines.withLock { $0 } == ["sweep took 7.0 s (every 60.0 s)", "tick ran 6.9 s late (every 0.1 s)"])
    }

    @Test func aLogThrottleLetsOneLineThroughPerInterval() {
        let throttle = LogThrottle(interval: 30)
        #expect(throttle.due(now: t0))
        #expect(!throttle.due(now: t0.addingTimeInterval(29)))
        #expect(throttle.due(now: t0.addingTimeInterval(30)))
        #expect(!throttle.due(now: t0.addingTimeInterval(31)))
    }

    @Test func startedInRealTimeItRunsAndStops() async throws {
        let calls = Calls()
        let runner = PeriodicRunner(tasks: [PeriodicTask(name: "tick", interval: 0.01) { _ in calls.add("tick") }])
        await runner.start()
        // (Generous: in the full suite, blocking tests can hold the concurrency pool for a minute.)
        #expect(await waitUntil(180) { calls.names.withLock { $0.count } >= 3 })
        await runner.stop()
        let after = calls.names.withLock { $0.count }
        try await Task.sleep(for: .milliseconds(100))
        #expect(calls.names.withLock { $0.count } == after)
    }

    @Test func housekeepingKeepsFinishedJobsForTheConfiguredRetention() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let job = try queue.enqueue(request(dir), now: t0)
        try queue.cancel(jobID: job.id, now: t0)
        try dir.file("logs/\(job.id)/attempt-1.log", "log")
        let housekeeping = BuildHousekeeping(
            queue: queue, cache: try BuildCache(database: queue.database),
            janitor: WorkspaceJanitor(workRoot: dir.path + "/work", logRoot: dir.path + "/logs", queue: queue, keepFailed: 0),
            retentionDays: 7)
        let clock = VirtualClock(start: t0)
        clock.advance(by: 6.9 * 86400)
        #expect(try housekeeping.runOnce(now: clock.now()).isEmpty)
        #expect(try queue.get(job.id).state == .cancelled)
        clock.advance(by: 0.2 * 86400)
        let report = try housekeeping.runOnce(now: clock.now())
        #expect(report.jobs == 1 && report.logDirectories == ["\(job.id)"])
        #expect(throws: SchedulerError.self) { try queue.get(job.id) }
    }

    @Test func theReaperKillsABuildWhoseJobIsNoLongerRunningAndSparesALiveOne() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A long lease: a loaded machine must not let the live job's lease expire during the test.
        let queue = try makeQueue(dir, configuration: .init(leaseDuration: 3600))
        _ = try queue.enqueue(request(dir, app: "live"), now: Date())
        let live = try #require(try queue.claim(owner: "o", slotID: "local-1", now: Date()))
        let dead = try queue.enqueue(request(dir, app: "dead"), now: Date())
        try queue.cancel(jobID: dead.id, now: Date())
        var pids: [Int64: pid_t] = [:]
        for job in [live, dead] {
            let workspace = dir.path + "/work/job-\(job.id)-attempt-\(max(1, job.attempt))"
            try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["600"]
            process.currentDirectoryURL = URL(fileURLWithPath: workspace)
            try process.run()
            setpgid(process.processIdentifier, process.processIdentifier)
            pids[job.id] = process.processIdentifier
        }
        defer { for pid in pids.values { kill(pid, SIGKILL) } }
        let reaped = OrphanBuildReaper(workRoot: dir.path + "/work", queue: queue).runOnce(now: Date())
        #expect(reaped == [dead.id])
        #expect(await waitUntil(20) { kill(pids[dead.id]!, 0) != 0 || Self.isZombie(pids[dead.id]!) })
        #expect(kill(pids[live.id]!, 0) == 0 && !Self.isZombie(pids[live.id]!))
    }

    @Test func theReaperSparesItsOwnSchedulersBuildWhoseLeaseLooksExpiredAndKillsADeadOnes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Leases of 1 s, claimed a minute ago: both look expired (a heartbeat late on a loaded machine).
        let queue = try makeQueue(dir, configuration: .init(leaseDuration: 1))
        let past = Date().addingTimeInterval(-60)
        _ = try queue.enqueue(request(dir, app: "mine"), now: past)
        let mine = try #require(try queue.claim(owner: "me", slotID: "local-1", now: past))
        _ = try queue.enqueue(request(dir, app: "theirs"), now: past)
        let theirs = try #require(try queue.claim(owner: "dead", slotID: "local-2", now: past))
        var pids: [Int64: pid_t] = [:]
        for job in [mine, theirs] {
            let workspace = dir.path + "/work/job-\(job.id)-attempt-\(job.attempt)"
            try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["600"]
            process.currentDirectoryURL = URL(fileURLWithPath: workspace)
            try process.run()
            setpgid(process.processIdentifier, process.processIdentifier)
            pids[job.id] = process.processIdentifier
        }
        defer { for pid in pids.values { kill(pid, SIGKILL) } }
        let reaped = OrphanBuildReaper(workRoot: dir.path + "/work", queue: queue, owner: "me").runOnce(now: Date())
        #expect(reaped == [theirs.id])
        #expect(await waitUntil(20) { kill(pids[theirs.id]!, 0) != 0 || Self.isZombie(pids[theirs.id]!) })
        #expect(kill(pids[mine.id]!, 0) == 0 && !Self.isZombie(pids[mine.id]!))
        // Without an owner (another scheduler's reaper on the same work root) both look orphaned.
        #expect(OrphanBuildReaper(workRoot: dir.path + "/work", queue: queue).runOnce(now: Date()) == [mine.id])
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return true
        }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    @Test func shutdownWaitsForABuildWithinTheGraceAndAbandonsOneThatOutlastsIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.file("src/build.sh", "echo started > \"$MARK\"\nsleep \"$NAP\"\nmkdir -p out && echo ok > out/index.html\n")
        let queue = try makeQueue(dir, now: Date())
        let thread = try LoopThread(name: "shutdown-test")
        let store = try Store.open(at: dir.path + "/store")
        func service(nap: String) throws -> SchedulerService {
            let settings = BuildSettings(
                workRoot: dir.path + "/work", logRoot: dir.path + "/logs", outputDirectory: "out",
                environment: ["MARK": dir.path + "/mark-\(nap)", "NAP": nap])
            let executor = BuildJobExecutor(
                queue: queue, cache: try BuildCache(database: queue.database), store: store,
                loop: thread.loop, owner: "shutdown-\(nap)", settings: settings)
            return SchedulerService(
                queue: queue, executor: executor, provider: LocalProcessSlotProvider(), policy: .adaptive(),
                limits: try SlotLimits(min: 1, max: 1))
        }
        // A short build finishes within the grace.
        let quick = try service(nap: "0.2")
        try queue.enqueue(
            JobRequest(
                app: "quick", buildType: "javascript_web", kind: .user_push, source: dir.path + "/src",
                command: "sh build.sh"), now: Date())
        try await quick.tick(now: Date())
        #expect(await quick.runningJobs().count == 1)
        // (On a virtual clock the grace cannot run out while a loaded machine is slow to finish the build.)
        #expect(await BuildShutdown(service: quick, grace: 20, clock: VirtualClock(start: Date())).run() == .drained)
        // A long one on a virtual clock that jumps past the grace is abandoned: its process goes.
        // A build that cannot end by itself while a loaded suite starves this test.
        let slow = try service(nap: "600")
        let job = try queue.enqueue(
            JobRequest(
                app: "slow", buildType: "javascript_web", kind: .user_push, source: dir.path + "/src",
                command: "sh build.sh"), now: Date())
        try await slow.tick(now: Date())
        #expect(await waitUntil(30) { FileManager.default.fileExists(atPath: dir.path + "/mark-600") })
        let children = slow.executor.processes.all
        #expect(children.count == 1)
        let clock = VirtualClock(start: Date())
        let abandoned = Atomic<Bool>(false)
        let shutdown = Task {
            await BuildShutdown(service: slow, grace: 60, clock: clock).run(abandon: { abandoned.store(true, ordering: .relaxed) })
        }
        try await Task.sleep(for: .milliseconds(200))
        let early = abandoned.load(ordering: .relaxed)
        #expect(!early, "the grace has not passed on the virtual clock")
        clock.advance(by: 61)
        #expect(await shutdown.value == .abandoned([job.id]))
        let late = abandoned.load(ordering: .relaxed)
        #expect(late)
        #expect(await waitUntil(20) { children.allSatisfy { kill($0, 0) != 0 || Self.isZombie($0) } })
        try? thread.stopAndJoin()
    }
}

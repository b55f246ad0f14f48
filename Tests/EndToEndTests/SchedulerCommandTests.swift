import ArtifactStore
import Foundation
import Glibc
import Testing
import WharfTestSupport

/// `wharf build submit`, `jobs`, `jobs explain`, `logs`, `cancel`, `slots` and `wharf scheduler`, run as a
/// user runs them, against a real store directory.
@Suite struct SchedulerCommandTests {
    /// A store, a source directory with `build.sh`, and a config with short timings.
    struct Fixture {
        let scratch = ScratchDirectory("wharf-sched-cli")
        var store: String { scratch.path + "/store" }
        var source: String { scratch.path + "/src" }
        var config: String { scratch.path + "/wharf.yaml" }

        init(script: String = BuildFixture.script(), schedulerKeys: String = "") throws {
            try scratch.write("src/build.sh", script)
            chmod(scratch.path + "/src/build.sh", 0o755)
            try scratch.write(
                "wharf.yaml",
                """
                scheduler:
                  tick_ms: 100
                  lease_s: 3
                  rescue_interval_s: 1
                  retry_base_s: 0.2
                  kill_grace_s: 1
                \(schedulerKeys)
                """)
        }

        func wharf(_ arguments: [String]) throws -> WharfProcess.Result {
            try WharfProcess.run(arguments + ["--store", store, "--config", config])
        }

        func submit(_ app: String, _ extra: [String] = []) throws -> WharfProcess.Result {
            try wharf(["build", "submit", app, "--type", "javascript_web", "--source", source] + extra)
        }
    }

    @Test func badSubmissionsAreRefusedWithAClearErrorAndQueueNothing() throws {
        let f = try Fixture()
        let cases: [([String], String)] = [
            (["build", "submit", "shop", "--type", "cobol_web", "--source", f.source], "unknown build type 'cobol_web'"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.scratch.path + "/nowhere"], "does not exist"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source + "/build.sh"], "is not a directory"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--priority", "urgent"], "invalid priority 'urgent'"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--priority", "7"], "invalid priority '7'"),
            (
                ["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--cmd", "./missing.sh"],
                "build command './missing.sh' not found"
            ),
            (
                ["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--cmd", "no-such-tool-xyz --go"],
                "build command 'no-such-tool-xyz' not found"
            ),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--cmd", "   "], "invalid build command"),
            (["build", "submit", "shop/../x", "--type", "javascript_web", "--source", f.source], "invalid app name"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--kind", "nightly"], "invalid kind 'nightly'"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--output", "../up"], "invalid output directory"),
            (["build", "submit", "shop", "--type", "javascript_web", "--source", f.source, "--output", "/abs"], "invalid output directory"),
        ]
        for (arguments, message) in cases {
            let result = try f.wharf(arguments)
            #expect(result.status != 0, "\(arguments) was accepted")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        #expect(try JobRow.list(store: f.store).isEmpty)
        // Unknown ids and states are errors too.
        #expect(try f.wharf(["jobs", "explain", "999"]).stderr.contains("no job with id 999"))
        #expect(try f.wharf(["cancel", "999"]).status != 0)
        #expect(try f.wharf(["logs", "999"]).stderr.contains("no job with id 999"))
        #expect(try f.wharf(["jobs", "--status", "sleeping"]).stderr.contains("unknown status 'sleeping'"))
        // A wrong configuration key is reported with its name.
        try f.scratch.write("bad.yaml", "scheduler:\n  max_slots: 0\n  tick_ms: many\n")
        let bad = try WharfProcess.run(["jobs", "--store", f.store, "--config", f.scratch.path + "/bad.yaml"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("scheduler.tick_ms") && bad.stderr.contains("scheduler.max_slots: got 0, allowed 1...10000"), "\(bad.stderr)")
    }

    @Test func submittedJobsAreListedExplainedAndCancelled() throws {
        let f = try Fixture()
        let first = try f.submit("shop", ["--cmd", "sh build.sh", "--priority", "release", "--kind", "user_push"])
        #expect(first.status == 0, "\(first.stderr)")
        let id = try #require(Int(first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let second = try f.submit("blog", ["--priority", "1"])
        let other = try #require(Int(second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(other == id + 1)

        let table = try f.wharf(["jobs"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("shop") && table.stdout.contains("blog") && table.stdout.contains("queued"))
        let onlyShop = try JobRow.list(store: f.store, extra: ["--app", "shop"])
        #expect(onlyShop.map(\.id) == [Int64(id)])

        let explained = try f.wharf(["jobs", "explain", "\(id)"])
        #expect(explained.status == 0, "\(explained.stderr)")
        for factor in ["age", "kind", "hint", "popularity", "cost", "fair share", "attempts", "total"] {
            #expect(explained.stdout.contains(factor), "\(factor) missing in \(explained.stdout)")
        }
        #expect(explained.stdout.contains("1.0 × 1000.0 = 1000.0"), "user push: kind 1.0 × weight 1000")
        #expect(explained.stdout.contains("1.0 × 500.0 = 500.0"), "release hint")
        // Weights come from the configuration.
        try f.scratch.write("weights.yaml", "scheduler:\n  weights:\n    kind: 10\n")
        let reweighted = try WharfProcess.run(["jobs", "explain", "\(id)", "--store", f.store, "--config", f.scratch.path + "/weights.yaml"])
        #expect(reweighted.stdout.contains("1.0 × 10.0 = 10.0"), "\(reweighted.stdout)")

        let cancelled = try f.wharf(["cancel", "\(id)"])
        #expect(cancelled.status == 0)
        #expect(cancelled.stdout.contains("cancelled"))
        let again = try f.wharf(["cancel", "\(id)"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("is cancelled: cannot cancel"))
        #expect(try JobRow.list(store: f.store, extra: ["--status", "cancelled"]).map(\.id) == [Int64(id)])
        #expect(try JobRow.list(store: f.store, extra: ["--status", "queued"]).map(\.id) == [Int64(other)])
    }

    @Test func theSchedulerBuildsPublishesLogsAndStopsOnSIGTERM() throws {
        let f = try Fixture(script: BuildFixture.script(sleep: "0.2", output: "build/web"))
        let active = try f.submit("shop", ["--output", "build/web"])
        #expect(active.status == 0, "\(active.stderr)")
        let quiet = try f.submit("docs", ["--output", "build/web", "--no-activate"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        let failing = try f.submit("broken", ["--cmd", "echo about to fail; exit 3"])
        #expect(failing.status == 0, "\(failing.stderr)")
        let activeID = active.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // A follower started before any build runs prints the whole log and returns when the job ends.
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: WharfProcess.binary)
        follower.arguments = ["logs", activeID, "--follow", "--timeout", "30", "--store", f.store, "--config", f.config]
        let followed = Pipe()
        follower.standardOutput = followed
        try follower.run()

        let daemon = try WharfDaemon(
            [
                "scheduler", "--store", f.store, "--config", f.config,
            ], stderrPath: f.scratch.path + "/scheduler.log")
        let settled = try eventually(60, every: 0.25) {
            let jobs = try JobRow.list(store: f.store)
            return jobs.count == 3 && jobs.allSatisfy(\.isFinal)
        }
        let jobs = try JobRow.list(store: f.store)
        #expect(settled, "\(jobs.map { ($0.app, $0.state, $0.error ?? "") })\n\(daemon.stderr)")

        let slots = try f.wharf(["slots", "--history"])
        #expect(slots.status == 0, "\(slots.stderr)")
        #expect(slots.stdout.contains("local-1") && slots.stdout.contains("adaptive"), "\(slots.stdout)")

        #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)")
        #expect(try f.wharf(["slots"]).stderr.contains("no scheduler is running"))

        let byApp = Dictionary(uniqueKeysWithValues: jobs.map { ($0.app, $0) })
        let store = try Store.open(at: f.store)
        let shop = try #require(byApp["shop"])
        #expect(shop.state == "succeeded")
        #expect(try store.currentDeployment(app: "shop")?.id == shop.deploymentId)
        #expect(try store.currentDeployment(app: "shop")?.files["/index.html"] != nil, "--output build/web was published")
        let docs = try #require(byApp["docs"])
        #expect(docs.state == "succeeded")
        #expect(try store.deployments(app: "docs").count == 1)
        #expect(try store.currentDeployment(app: "docs") == nil, "--no-activate leaves the alias alone")
        let broken = try #require(byApp["broken"])
        #expect(broken.state == "failed" && broken.error?.hasPrefix("exit status 3") == true, "\(broken)")
        // The first failure is retried; the second, on the same source the same way, is deterministic.
        #expect(broken.attempt == 2, "one retry, then judged deterministic")
        #expect(broken.error?.contains("deterministic") == true, "\(broken)")

        let log = try f.wharf(["logs", activeID])
        #expect(log.stdout.contains("out | ::stage validation") && log.stdout.contains("err | compiling for"), "\(log.stdout)")
        #expect(log.stdout.contains("out | build done"))
        let brokenLog = try f.wharf(["logs", "\(broken.id)"])
        #expect(brokenLog.stdout.contains("== attempt 2 ==") && !brokenLog.stdout.contains("== attempt 3 =="), "\(brokenLog.stdout)")

        #expect(eventually(10) { !follower.isRunning })
        let streamed = String(decoding: followed.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(streamed.contains("::stage validation") && streamed.contains("build done"), "\(streamed)")
    }

    @Test func buildSubmitForceBuildsTheSameSourceAgainInsteadOfHittingTheBuildCache() throws {
        let f = try Fixture(script: BuildFixture.script(sleep: "0"))
        let daemon = try WharfDaemon(["scheduler", "--store", f.store, "--config", f.config], stderrPath: f.scratch.path + "/scheduler.log")
        defer { _ = daemon.stop(SIGTERM) }
        func build(_ extra: [String]) throws -> JobRow? {
            let submitted = try f.submit("shop", extra)
            #expect(submitted.status == 0, "\(submitted.stderr)")
            let id = Int64(submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            var job: JobRow?
            let done = try eventually(60, every: 0.2) {
                job = try JobRow.list(store: f.store).first { $0.id == id }
                return job?.isFinal == true
            }
            #expect(done, "\(String(describing: job))\n\(daemon.stderr)")
            return job
        }
        let first = try #require(try build([]))
        #expect(first.state == "succeeded" && !first.cacheHit && first.force == false, "\(first)")
        let second = try #require(try build([]))
        #expect(second.cacheHit && second.deploymentId == first.deploymentId, "the same source is a cache hit")
        let forced = try #require(try build(["--force"]))
        #expect(forced.state == "succeeded" && forced.force == true, "\(forced)")
        #expect(!forced.cacheHit && forced.deploymentId != first.deploymentId, "--force built again: \(forced)")
        let log = try f.wharf(["logs", "\(forced.id)"])
        #expect(log.stdout.contains("build done"), "the forced job ran the build: \(log.stdout)")
        let third = try #require(try build([]))
        #expect(third.cacheHit && third.deploymentId == forced.deploymentId, "the forced result is what the cache holds now")
    }

    @Test func aStopDuringALongBuildAbandonsItToItsLeaseAndKillsItsProcessGroup() throws {
        // Without the sandbox: the build writes its pid beside the store for the test to read.
        let f = try Fixture(
            script: "#!/bin/sh\necho $$ > ../../../build.pid\nsleep 30 &\nwait\n",
            schedulerKeys: "  shutdown_grace_s: 0.5\n  sandbox:\n    mode: none")
        // The working copy is <store>/sandbox/work/job-1-attempt-1: three levels up is the store.
        #expect(try f.submit("slow", ["--cmd", "./build.sh"]).status == 0)
        let daemon = try WharfDaemon(["scheduler", "--store", f.store, "--config", f.config], stderrPath: f.scratch.path + "/s.log")
        let pidFile = f.store + "/build.pid"
        #expect(eventually(20) { FileManager.default.fileExists(atPath: pidFile) }, "\(daemon.stderr)")
        usleep(100_000)
        let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        let began = Date()
        #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)")
        #expect(Date().timeIntervalSince(began) < 8)
        #expect(daemon.stderr.contains("abandoned builds [1]"), "\(daemon.stderr)")
        #expect(eventually(5) { !Self.isAlive(pid) }, "the build's shell survived its scheduler")
        let job = try #require(try JobRow.list(store: f.store).first)
        #expect(job.state == "running", "left to its lease, not finished")
    }

    @Test func theDocumentedSchedulerKeysParseAtTheirDefaultsAndTheEnvironmentOverridesThem() throws {
        let documented = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("edge-config/wharf.yaml").path
        let plain = try WharfProcess.run(["check-config", "--config", documented])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("scheduler.slots: 1...10, tick_ms 500, lease_s 60.0"), "\(plain.stdout)")
        #expect(plain.stdout.contains("fair_share 300.0, attempts 200.0"))
        let overridden = try WharfProcess.run(
            ["check-config", "--config", documented],
            environment: ["WHARF_SCHEDULER_MAX_SLOTS": "3", "WHARF_SCHEDULER_WEIGHTS_KIND": "7"])
        #expect(overridden.stdout.contains("scheduler.slots: 1...3"), "\(overridden.stdout)")
        #expect(overridden.stdout.contains("kind 7.0"))
    }

    /// True if `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return false
        }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}

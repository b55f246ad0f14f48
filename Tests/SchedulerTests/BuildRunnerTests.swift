import Foundation
import Synchronization
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// Real builds: small shell scripts written into a temp directory, run through UVLoop's ChildProcess.
@Suite struct BuildRunnerTests {
    final class Events: Sendable {
        let list = Mutex<[BuildEvent]>([])
        func record(_ event: BuildEvent) { list.withLock { $0.append(event) } }
        var all: [BuildEvent] { list.withLock { $0 } }
    }

    func spec(
        _ dir: TemporaryDirectory, _ script: String, timeout: Double = 20, warning: Double? = nil,
        grace: Double = 0.5, cap: Int = 1 << 20, secrets: [String: String] = [:]
    ) throws -> BuildSpec {
        try dir.file("build.sh", script)
        return BuildSpec(
            jobID: 7, command: "sh ./build.sh", workingDirectory: dir.path, environment: ["BUILD_TEST": "1"],
            secrets: secrets, logPath: dir.path + "/logs/7/attempt-1.log", timeout: timeout,
            warningAfter: warning, killGrace: grace, logCapBytes: cap)
    }

    /// Runs a build on its own loop thread; gives up (cancelling it) after 30 s so no test can hang.
    func run(_ spec: BuildSpec, events: Events = Events()) async throws -> BuildResult {
        let thread = try LoopThread(name: "build-test")
        defer { try? thread.stopAndJoin() }
        let outcome = Mutex<BuildResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        let runner = try thread.loop.executeAndWait {
            BuildRunner.start(on: thread.loop, spec: spec, onEvent: { events.record($0) }) { result in
                outcome.withLock { $0 = result }
                done.signal()
            }
        }
        if done.wait(timeout: .now() + 30) == .timedOut {
            Issue.record("build did not finish within 30 s")
            runner.requestCancel()
            _ = done.wait(timeout: .now() + 10)
        }
        return try #require(outcome.withLock { $0 })
    }

    @Test func theAsyncEntryPointReturnsTheResult() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let thread = try LoopThread(name: "build-async")
        defer { try? thread.stopAndJoin() }
        let result = await BuildRunner.run(on: thread.loop, spec: try spec(dir, "echo hi\n"))
        #expect(result.outcome == .succeeded)
    }

    func log(_ spec: BuildSpec) throws -> String { try String(contentsOfFile: spec.logPath, encoding: .utf8) }

    /// True while `pid` is a live (non-zombie) process.
    func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    @Test func aSuccessfulBuildIsLoggedWithTimestampsAndTimedStages() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let spec = try spec(
            dir,
            """
            echo "::stage validation"
            echo checking
            sleep 0.1
            echo "::stage compilation"
            echo "warning: slow" >&2
            sleep 0.2
            mkdir -p out && echo built > out/index.html
            printf 'no newline at the end'
            """)
        let events = Events()
        let result = try await run(spec, events: events)
        #expect(result.outcome == .succeeded)
        #expect(Set(result.stageDurations.keys) == ["validation", "compilation"])
        #expect(result.stageDurations["validation"]! >= 0.09)
        #expect(result.stageDurations["compilation"]! >= 0.19)
        #expect(events.all.contains(.stage("validation")))
        #expect(events.all.contains(.stage("compilation")))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/out/index.html"))
        let text = try log(spec)
        #expect(text.contains(" out | checking\n"))
        #expect(text.contains(" err | warning: slow\n"))
        #expect(text.contains(" out | no newline at the end\n"))
        let firstLine = try #require(text.split(separator: "\n").first)
        #expect(firstLine.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z wharf \| started job 7 .*/) != nil)
        #expect(result.jobOutcome(deploymentID: "d1") == .succeeded(deploymentID: "d1"))
    }

    @Test func aFailingBuildReportsItsExitStatus() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try await run(try spec(dir, "echo broken >&2\nexit 3\n"))
        #expect(result.outcome == .failed(exitStatus: 3, signal: 0))
        #expect(result.jobOutcome(deploymentID: nil) == .failed(exitCode: 3, error: "exit status 3"))
    }

    @Test func aBuildCommandThatDoesNotExistFailsWithStatus127() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var s = try spec(dir, "")
        s.command = "definitely-not-a-build-tool --prod"
        let result = try await run(s)
        #expect(result.outcome == .failed(exitStatus: 127, signal: 0))
        #expect(try log(s).contains("not found"))
    }

    @Test func aMissingWorkingDirectoryIsASpawnFailure() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var s = try spec(dir, "true")
        s.workingDirectory = dir.path + "/gone"
        let result = try await run(s)
        guard case .spawnFailed = result.outcome else {
            Issue.record("expected spawnFailed, got \(result.outcome)")
            return
        }
    }

    @Test func aHangingBuildGetsAWarningThenTimesOutAndItsWholeGroupIsKilled() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let spec = try spec(
            dir,
            """
            sleep 300 &
            echo $! > grandchild.pid
            echo "::stage dependencies"
            sleep 300
            """, timeout: 0.6, warning: 0.2)
        let events = Events()
        let started = ContinuousClock.now
        let result = try await run(spec, events: events)
        #expect(result.outcome == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(events.all.contains(.timeoutWarning(elapsed: 0.2)))
        #expect(events.all.contains { if case .stopping = $0 { true } else { false } })
        let pid = try #require(
            Int32(
                try String(contentsOfFile: dir.path + "/grandchild.pid", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        var waited = 0
        while alive(pid), waited < 100 {
            usleep(10_000)
            waited += 1
        }
        #expect(!alive(pid), "the grandchild in the build's process group was killed")
        #expect(result.stageDurations["dependencies"] != nil)
        #expect(try log(spec).contains("warning: running for 0.2 s"))
    }

    @Test func aBuildIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let spec = try spec(dir, "trap '' TERM\nwhile :; do sleep 0.05; done\n", timeout: 0.3, grace: 0.3)
        let result = try await run(spec)
        #expect(result.outcome == .timedOut)
        #expect(result.seconds >= 0.55)
        #expect(try log(spec).contains("SIGKILL to the process group"))
    }

    @Test func cancellingStopsTheBuild() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let spec = try spec(dir, "echo '::stage compilation'\nsleep 300\n")
        let thread = try LoopThread(name: "build-cancel")
        defer { try? thread.stopAndJoin() }
        let outcome = Mutex<BuildResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let runner = try thread.loop.executeAndWait {
            BuildRunner.start(
                on: thread.loop, spec: spec,
                onEvent: { event in
                    if event == .stage("compilation") { started.signal() }
                }
            ) { result in
                outcome.withLock { $0 = result }
                done.signal()
            }
        }
        #expect(started.wait(timeout: .now() + 10) == .success)
        runner.requestCancel()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(outcome.withLock { $0 }?.outcome == .cancelled)
    }

    @Test func aBuildFloodingItsLogIsStoppedAtTheCap() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let spec = try spec(dir, "while :; do echo 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; done\n", cap: 64 * 1024)
        let result = try await run(spec)
        #expect(result.outcome == .logCapExceeded)
        let size = try FileManager.default.attributesOfItem(atPath: spec.logPath)[.size] as! NSNumber
        #expect(size.intValue <= 64 * 1024 + 1024, "the log stays at the cap plus Wharf's last notes")
        #expect(try log(spec).contains("log cap of 65536 bytes reached"))
        #expect(result.jobOutcome(deploymentID: nil) == .failed(exitCode: nil, error: "log cap exceeded", retryable: false))
    }

    @Test func secretValuesNeverReachTheLog() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let spec = try spec(dir, "echo \"token is $API_TOKEN\"\necho \"plain is $BUILD_TEST\"\n", secrets: ["API_TOKEN": "s3cr3t-value"])
        let result = try await run(spec)
        #expect(result.outcome == .succeeded)
        let text = try log(spec)
        #expect(!text.contains("s3cr3t-value"))
        #expect(text.contains("token is ***"))
        #expect(text.contains("plain is 1"))
    }

    @Test func configuredResourceLimitsApplyToTheBuildAsRlimitsWithoutCgroups() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var s = try spec(dir, "echo files=$(ulimit -n) as=$(ulimit -v) fsize=$(ulimit -f)\n")
        s.limits = BuildLimits(memoryBytes: 4 << 30, cpus: nil, processes: nil, diskBytes: 1 << 30, openFiles: 300, timeout: 20)
        let result = try await run(s)
        #expect(result.outcome == .succeeded)
        #expect(try log(s).contains("files=300 as=4194304 fsize=1048576"))
    }
}

import Glibc
import Testing

@testable import UVLoop

/// Output and exit of one child, collected on the loop thread.
private final class ChildRun: Sendable {
    let output = Locked([UInt8]())
    let errors = Locked([UInt8]())
    let exit = Locked<ProcessExit?>(nil)
    let exited = Signal()

    func spawn(on loop: EventLoop, _ options: ProcessOptions) throws -> ChildProcess {
        try ChildProcess.spawn(
            on: loop, options,
            onOutput: { stream, bytes in
                switch stream {
                case .standardOutput: self.output.update { $0 += bytes }
                case .standardError: self.errors.update { $0 += bytes }
                }
            },
            onExit: { exit in
                self.exit.update { $0 = exit }
                self.exited.fire()
            })
    }

    var outputText: String { String(decoding: output.value, as: UTF8.self) }
    var errorText: String { String(decoding: errors.value, as: UTF8.self) }
}

/// True while `pid` names a live (not zombie) process.
private func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    // A zombie still answers kill(pid, 0); its state in /proc/<pid>/stat is Z.
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return false }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    guard fgets(&line, Int32(line.count), file) != nil else { return false }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return true }
    let state = text[text.index(close, offsetBy: 2)...].first
    return state != "Z" && state != "X"
}

@Suite struct ChildProcessTests {
    @Test func standardOutputAndErrorAreCapturedAndTheExitStatusReported() throws {
        let run = ChildRun()
        try withRunningLoop { loop in
            _ = try loop.executeAndWait {
                try run.spawn(
                    on: loop,
                    ProcessOptions(
                        executable: "/bin/sh",
                        arguments: ["-c", "echo out-1; echo err-1 >&2; printf 'out-2\\n'; exit 3"]))
            }
            #expect(run.exited.wait())
        }
        #expect(run.outputText == "out-1\nout-2\n")
        #expect(run.errorText == "err-1\n")
        #expect(run.exit.value == ProcessExit(exitStatus: 3, terminationSignal: 0))
    }

    @Test func environmentAndWorkingDirectoryAreApplied() throws {
        let run = ChildRun()
        try withRunningLoop { loop in
            _ = try loop.executeAndWait {
                try run.spawn(
                    on: loop,
                    ProcessOptions(
                        executable: "/bin/sh", arguments: ["-c", "echo \"$WHARF_TEST_VALUE\"; pwd"],
                        environment: ["WHARF_TEST_VALUE=forty two", "PATH=/usr/bin:/bin"], workingDirectory: "/tmp"))
            }
            #expect(run.exited.wait())
        }
        #expect(run.outputText == "forty two\n/tmp\n")
        #expect(run.exit.value?.succeeded == true)
    }

    @Test func aLargeOutputArrivesCompleteBeforeTheExit() throws {
        let run = ChildRun()
        try withRunningLoop { loop in
            _ = try loop.executeAndWait {
                try run.spawn(on: loop, ProcessOptions(executable: "/bin/sh", arguments: ["-c", "head -c 3000000 /dev/zero"]))
            }
            #expect(run.exited.wait())
        }
        #expect(run.output.value.count == 3_000_000)
    }

    @Test func aMissingExecutableFailsWithENOENTAndLeaksNothing() throws {
        try withRunningLoop { loop in
            #expect(throws: UVError.enoent) {
                try loop.executeAndWait {
                    _ = try ChildProcess.spawn(
                        on: loop, ProcessOptions(executable: "/nonexistent/wharf-no-such-tool"),
                        onOutput: { _, _ in }, onExit: { _ in })
                }
            }
        }
    }

    @Test(arguments: ["", "/", "/dev/null", "relative/nothing"])
    func anExecutableThatCannotRunFailsWithAnErrorNotACrash(executable: String) throws {
        try withRunningLoop { loop in
            #expect(throws: UVError.self) {
                try loop.executeAndWait {
                    _ = try ChildProcess.spawn(on: loop, ProcessOptions(executable: executable), onOutput: { _, _ in }, onExit: { _ in })
                }
            }
        }
    }

    @Test func aBadWorkingDirectoryFailsWithoutACrash() throws {
        try withRunningLoop { loop in
            #expect(throws: UVError.enoent) {
                try loop.executeAndWait {
                    _ = try ChildProcess.spawn(
                        on: loop, ProcessOptions(executable: "/bin/true", workingDirectory: "/nonexistent/dir"),
                        onOutput: { _, _ in }, onExit: { _ in })
                }
            }
        }
    }

    @Test func killingTheGroupEndsTheChildAndTheGrandchildItStarted() throws {
        let run = ChildRun()
        try withRunningLoop { loop in
            let child = try loop.executeAndWait {
                try run.spawn(
                    on: loop,
                    ProcessOptions(
                        executable: "/bin/sh", arguments: ["-c", "sleep 100 & echo $!; sleep 100"]))
            }
            // Wait for the grandchild's pid on stdout.
            var grandchild: Int32?
            for _ in 0..<500 where grandchild == nil {
                if run.outputText.hasSuffix("\n") { grandchild = Int32(run.outputText.dropLast()) }
                usleep(10_000)
            }
            let childPid = try loop.executeAndWait { child.pid }
            let grandchildPid = try #require(grandchild)
            #expect(getpgid(grandchildPid) == childPid, "the grandchild is in the child's group")
            #expect(isAlive(childPid) && isAlive(grandchildPid))

            try loop.executeAndWait { try child.kill(SIGKILL) }
            #expect(run.exited.wait())
            var bothGone = false
            for _ in 0..<300 {
                if !isAlive(childPid) && !isAlive(grandchildPid) {
                    bothGone = true
                    break
                }
                usleep(10_000)
            }
            #expect(bothGone)
        }
        #expect(run.exit.value == ProcessExit(exitStatus: 0, terminationSignal: SIGKILL))
    }

    @Test func aChildStillRunningAtLoopStopIsReleasedAndCanBeKilled() throws {
        let run = ChildRun()
        var pid: Int32 = 0
        try withRunningLoop { loop in
            pid = try loop.executeAndWait {
                try run.spawn(on: loop, ProcessOptions(executable: "/bin/sleep", arguments: ["100"])).pid
            }
        }
        #expect(pid > 0)
        #expect(kill(-pid, SIGKILL) == 0, "the detached child outlives the loop until killed")
        #expect(run.exit.value == nil)
        // No loop watches it any more: reap it here, or it stays a zombie that any
        // waitid(P_ALL) in this process (Swift Testing's exit-test monitor) keeps seeing.
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
    }

    @Test func theExitIsReportedAfterTheDrainTimeoutWhileAGrandchildHoldsTheOutputOpen() throws {
        let run = ChildRun()
        try withRunningLoop { loop in
            let child = try loop.executeAndWait {
                try run.spawn(
                    on: loop,
                    ProcessOptions(
                        executable: "/bin/sh", arguments: ["-c", "echo started; sleep 30 & exit 4"],
                        outputDrainTimeout: .milliseconds(200)))
            }
            let started = ContinuousClock.now
            #expect(run.exited.wait(seconds: 10))
            #expect(ContinuousClock.now - started < .seconds(5))
            // The group still holds the sleeping grandchild: end it.
            #expect(throws: Never.self) { try loop.executeAndWait { try child.kill(SIGKILL) } }
        }
        #expect(run.outputText == "started\n")
        #expect(run.exit.value == ProcessExit(exitStatus: 4, terminationSignal: 0))
    }
}

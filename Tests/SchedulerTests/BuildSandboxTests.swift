import Foundation
import Glibc
import Synchronization
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// The build sandbox with real builds (shell scripts) on this machine: the explicit environment, the
/// build user, bubblewrap, cgroup limits (a fork bomb, a memory hog, a disk filler beside a normal
/// build), and what a build cannot see. Needs root, the build users and bubblewrap, which `make test`
/// installs (scripts/install-build-users.sh, the Makefile's packages).
@Suite struct BuildSandboxTests {
    /// A directory the build users can pass through (0711), with a workspace per build.
    final class Area {
        let root: String
        init() throws {
            root = NSTemporaryDirectory() + "wharf-sandbox-tests-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            chmod(root, 0o711)
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// A fresh workspace holding `build.sh`, given to `identity`.
        func workspace(_ name: String, script: String, for identity: BuildIdentity?) throws -> String {
            let path = root + "/" + name
            for sub in ["", "/.home", "/.tmp"] {
                try FileManager.default.createDirectory(atPath: path + sub, withIntermediateDirectories: true)
            }
            try Data(script.utf8).write(to: URL(fileURLWithPath: path + "/build.sh"))
            chmod(path, 0o700)
            if let identity { try Ownership.give(path, to: identity) }
            return path
        }
    }

    static func isolation(_ mode: BuildIsolation.Mode) throws -> BuildIsolation {
        let (isolation, note) = try BuildIsolation.resolve(requested: mode.rawValue, user: "wharf-build")
        #expect(isolation.mode == mode, "\(note)")
        return isolation
    }

    func spec(
        _ area: Area, _ name: String, _ script: String, isolation: BuildIsolation = .none, slot: String? = nil,
        limits: BuildLimits = .unlimited(timeout: 30), base: BuildEnvironment = BuildEnvironment(),
        cgroups: CgroupRoots? = nil, writable: [String] = []
    ) throws -> BuildSpec {
        let identity = isolation.identity(forSlot: slot)
        let workspace = try area.workspace(name, script: script, for: identity)
        return BuildSpec(
            jobID: Int64(abs(name.hashValue % 100_000)), command: "sh ./build.sh", workingDirectory: workspace,
            baseEnvironment: base, logPath: area.root + "/logs/\(name).log", limits: limits, killGrace: 0.5,
            isolation: isolation, identity: identity, extraWritable: writable, cgroups: cgroups, watchInterval: 0.2)
    }

    func run(_ spec: BuildSpec) async throws -> (BuildResult, String) {
        let thread = try LoopThread(name: "sandbox-test")
        defer { try? thread.stopAndJoin() }
        let result = await BuildRunner.run(on: thread.loop, spec: spec)
        return (result, (try? String(contentsOfFile: spec.logPath, encoding: .utf8)) ?? "")
    }

    // MARK: environment

    @Test func nothingOfTheSchedulersEnvironmentReachesABuildButTheAllowlist() async throws {
        let area = try Area()
        let secretName = "WHARF_SANDBOX_TEST_TOKEN_\(UInt32.random(in: 0...UInt32.max))"
        let plainName = "SANDBOX_TEST_PLAIN_\(UInt32.random(in: 0...UInt32.max))"
        let allowedName = "SANDBOX_TEST_ALLOWED_\(UInt32.random(in: 0...UInt32.max))"
        setenv(secretName, "admin-token-value-123", 1)
        setenv(plainName, "scheduler-only", 1)
        setenv(allowedName, "allowed-value", 1)
        defer {
            unsetenv(secretName)
            unsetenv(plainName)
            unsetenv(allowedName)
        }
        let base = BuildEnvironment(
            inherit: [allowedName, secretName], variables: ["APP_MODE": "production"],
            secrets: ["NPM_TOKEN": "npm-secret-456"])
        let s = try spec(area, "env", "env | sort\necho \"npm=$NPM_TOKEN\"\n", base: base)
        let (result, log) = try await run(s)
        #expect(result.outcome == .succeeded)
        #expect(!log.contains(secretName) && !log.contains("admin-token-value-123"), "\(log)")
        #expect(!log.contains(plainName) && !log.contains("scheduler-only"))
        #expect(log.contains("\(allowedName)=allowed-value"))
        #expect(log.contains("APP_MODE=production"))
        #expect(log.contains("npm=***") && !log.contains("npm-secret-456"))
        #expect(log.contains("HOME=\(s.workingDirectory)/.home") && log.contains("TMPDIR=\(s.workingDirectory)/.tmp"))
        #expect(log.contains("PATH=\(BuildEnvironment.defaultPath)"))
        // Every variable the build saw is one the environment names.
        let names = Set(
            log.split(separator: "\n").compactMap { line -> String? in
                guard let bar = line.range(of: "out | ") else { return nil }
                let text = line[bar.upperBound...]
                guard let eq = text.firstIndex(of: "="), !text.hasPrefix("npm=") else { return nil }
                return String(text[..<eq])
            })
        let expected: Set<String> = ["PATH", "LANG", "HOME", "TMPDIR", "USER", "SHELL", "PWD", allowedName, "APP_MODE", "NPM_TOKEN"]
        #expect(names.isSubset(of: expected), "unexpected: \(names.subtracting(expected))")
    }

    @Test func reservedAndMalformedNamesAreRefused() {
        let env = BuildEnvironment(inherit: ["WHARF_ADMIN_TOKEN", "1BAD", "OK_NAME"], variables: ["LD_PRELOAD": "/x.so"])
        let problems = env.problems()
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.contains("WHARF_ADMIN_TOKEN") && $0.contains("reserved") })
        #expect(problems.contains { $0.contains("LD_PRELOAD") })
        // Even if a reserved name slipped through, resolve never passes it on.
        let resolved = env.resolve(workspace: "/w", parent: ["WHARF_ADMIN_TOKEN": "t", "OK_NAME": "v"])
        #expect(resolved["WHARF_ADMIN_TOKEN"] == nil && resolved["LD_PRELOAD"] == nil && resolved["OK_NAME"] == "v")
    }

    // MARK: identity and bubblewrap

    @Test func aBuildRunsAsTheBuildUserAndCannotReadWhatWharfKeepsPrivate() async throws {
        let area = try Area()
        let isolation = try Self.isolation(.user)
        let privateFile = area.root + "/admin-token"
        try Data("private-token-789".utf8).write(to: URL(fileURLWithPath: privateFile))
        chmod(privateFile, 0o600)
        let script = """
            id -un
            cat \(privateFile) && echo LEAKED
            echo tampered > \(privateFile) && echo WROTE
            echo done
            """
        let s = try spec(area, "user", script, isolation: isolation, slot: "local-2")
        let (result, log) = try await run(s)
        #expect(result.outcome == .succeeded, "\(log)")
        #expect(log.contains("out | wharf-build-2"), "\(log)")
        #expect(!log.contains("LEAKED") && !log.contains("private-token-789") && !log.contains("WROTE"), "\(log)")
        #expect(try String(contentsOfFile: privateFile, encoding: .utf8) == "private-token-789")
    }

    /// Foundation opens files without close-on-exec, so a build started while another thread has a file
    /// open (a workspace being copied, a token being read) would inherit it: here one is held open on
    /// purpose, readable and writable, while builds start in each isolation mode.
    @Test(arguments: [BuildIsolation.Mode.none, .user, .bubblewrap])
    func aDescriptorTheSchedulerHoldsOpenDoesNotReachTheBuild(mode: BuildIsolation.Mode) async throws {
        let area = try Area()
        let isolation = try Self.isolation(mode)
        let privateFile = area.root + "/held-open-token"
        try Data("held-open-secret".utf8).write(to: URL(fileURLWithPath: privateFile))
        chmod(privateFile, 0o600)
        let held = open(privateFile, O_RDWR)  // deliberately without O_CLOEXEC
        #expect(held > 2)
        defer { close(held) }
        let script = """
            for f in /proc/$$/fd/*; do echo "fd ${f##*/} $(readlink "$f")"; done
            for n in 3 4 5 6 7 8 9; do cat <&$n 2>/dev/null; done
            echo done
            """
        let s = try spec(area, "held-\(mode.rawValue)", script, isolation: isolation, slot: mode == .none ? nil : "local-3")
        let (result, log) = try await run(s)
        #expect(result.outcome == .succeeded, "\(log)")
        #expect(log.contains("out | done"), "\(log)")
        #expect(!log.contains("held-open-token") && !log.contains("held-open-secret"), "\(log)")
        #expect(try String(contentsOfFile: privateFile, encoding: .utf8) == "held-open-secret")
    }

    @Test func underBubblewrapABuildSeesNeitherAnotherSlotsWorkspaceNorTheNetwork() async throws {
        let area = try Area()
        let isolation = try Self.isolation(.bubblewrap)
        let other = try area.workspace("other", script: "", for: isolation.identity(forSlot: "local-1"))
        try Data("other slot's file".utf8).write(to: URL(fileURLWithPath: other + "/marker"))
        chmod(other, 0o755)  // even when its modes would let another user in
        // A listener on loopback the build tries to reach.
        let listener = try LoopbackListener()
        defer { listener.close() }
        let probe = """
            ls \(other) 2>&1 | head -1
            cat \(other)/marker && echo SAW-OTHER
            ls /proc | grep -c '^[0-9]' | sed 's/^/processes /'
            if bash -c 'echo > /dev/tcp/127.0.0.1/\(listener.port)' 2>/dev/null; then echo NET-OPEN; else echo NET-CLOSED; fi
            touch /usr/local/wharf-probe 2>/dev/null && echo WROTE-SYSTEM
            echo ok > $TMPDIR/t && cat $TMPDIR/t
            """
        let closed = try spec(area, "closed", probe, isolation: isolation, slot: "local-2", limits: .unlimited(timeout: 30).with(network: false))
        let (r1, log1) = try await run(closed)
        #expect(r1.outcome == .succeeded, "\(log1)")
        #expect(!log1.contains("SAW-OTHER") && !log1.contains("other slot's file"), "\(log1)")
        #expect(log1.contains("NET-CLOSED") && !log1.contains("WROTE-SYSTEM") && log1.contains("out | ok"), "\(log1)")
        // Its own /proc: a handful of processes, not the machine's.
        let count = log1.split(separator: "\n").first { $0.contains("out | processes ") }.flatMap { Int($0.split(separator: " ").last!) }
        #expect((count ?? 999) < 10, "\(log1)")
        let open = try spec(area, "open", probe, isolation: isolation, slot: "local-2", limits: .unlimited(timeout: 30).with(network: true))
        let (r2, log2) = try await run(open)
        #expect(r2.outcome == .succeeded && log2.contains("NET-OPEN"), "\(log2)")
    }

    // MARK: limits

    @Test func aForkBombAMemoryHogAndADiskFillerFailWithTheirReasonWhileANormalBuildCompletes() async throws {
        let roots = try #require(CgroupRoots.detect(), "no writable cgroup hierarchy")
        let area = try Area()
        let isolation = try Self.isolation(.bubblewrap)
        var limits = BuildLimits(
            memoryBytes: 64 << 20, cpus: 1, processes: 64, diskBytes: 8 << 20, openFiles: 256, timeout: 60,
            warningAfter: nil, network: false)
        let bomb = try spec(
            area, "bomb", "bomb() { bomb | bomb & }\nbomb\nsleep 50\n", isolation: isolation, slot: "local-1",
            limits: limits, cgroups: roots)
        let hog = try spec(area, "hog", "tail /dev/zero\n", isolation: isolation, slot: "local-2", limits: limits, cgroups: roots)
        let filler = try spec(
            area, "filler", "i=0\nwhile [ $i -lt 40 ]; do head -c 1000000 /dev/zero > f$i; i=$((i+1)); done\nsleep 50\n",
            isolation: isolation, slot: "local-3", limits: limits, cgroups: roots)
        let bigFile = try spec(
            area, "bigfile", "head -c 20000000 /dev/zero > big\n", isolation: isolation, slot: "local-4",
            limits: limits, cgroups: roots)
        limits.processes = 64
        let normal = try spec(
            area, "normal", "i=0\nwhile [ $i -lt 20 ]; do echo step $i; i=$((i+1)); done\necho finished\n",
            isolation: isolation, slot: "local-5", limits: limits, cgroups: roots)
        let results = try await withThrowingTaskGroup(of: (String, BuildResult, String).self) { group in
            for (name, s) in [("bomb", bomb), ("hog", hog), ("filler", filler), ("bigfile", bigFile), ("normal", normal)] {
                group.addTask {
                    let (r, log) = try await self.run(s)
                    return (name, r, log)
                }
            }
            var all: [String: (BuildResult, String)] = [:]
            for try await (name, r, log) in group { all[name] = (r, log) }
            return all
        }
        func kind(_ name: String) -> BuildLimitKind? {
            if case .limitExceeded(let kind, _) = results[name]?.0.outcome { return kind }
            return nil
        }
        #expect(kind("bomb") == .processes, "\(results["bomb"]!.0.outcome)\n\(results["bomb"]!.1.suffix(1500))")
        #expect(kind("hog") == .memory, "\(results["hog"]!.0.outcome)")
        #expect(kind("filler") == .disk, "\(results["filler"]!.0.outcome)")
        #expect(kind("bigfile") == .disk, "\(results["bigfile"]!.0.outcome)")
        #expect(results["normal"]?.0.outcome == .succeeded && results["normal"]!.1.contains("out | finished"))
        for name in ["bomb", "hog", "filler", "bigfile"] {
            #expect(results[name]!.0.seconds < 40, "\(name) was not stopped by its limit")
            if case .failed(_, let error, let retryable) = results[name]!.0.jobOutcome(deploymentID: nil) {
                #expect(!retryable && !error.isEmpty)
            } else {
                Issue.record("\(name) is not a failure")
            }
        }
        #expect(results["hog"]!.0.jobOutcome(deploymentID: nil) != .succeeded(deploymentID: nil))
        if case .failed(_, let error, _) = results["hog"]!.0.jobOutcome(deploymentID: nil) { #expect(error.contains("out of memory")) }
        // None of these builds left a group behind (other processes' builds may share the parent).
        let ours = [bomb, hog, filler, bigFile, normal].map { "wharf-build-\($0.jobID)-\(getpid())-" }
        for parent in roots.parents.values {
            let left = try FileManager.default.contentsOfDirectory(atPath: parent).filter { name in ours.contains { name.hasPrefix($0) } }
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test func staleGroupsOfADeadSchedulerGoAndALiveOnesStay() throws {
        let roots = try #require(CgroupRoots.detect(), "no writable cgroup hierarchy")
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = "wharf-build-1-\(finished.processIdentifier)-7"
        let live = "wharf-build-1-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        for parent in roots.parents.values {
            mkdir(parent + "/" + dead, 0o755)
            mkdir(parent + "/" + live, 0o755)
        }
        defer {
            for parent in roots.parents.values {
                rmdir(parent + "/" + live)
                rmdir(parent + "/" + dead)
            }
        }
        roots.removeStale()
        for parent in roots.parents.values {
            #expect(!FileManager.default.fileExists(atPath: parent + "/" + dead))
            #expect(FileManager.default.fileExists(atPath: parent + "/" + live))
        }
    }

    @Test func withoutCgroupsTheLimitsAreRlimits() throws {
        let launch = BuildLaunch(
            command: "make", limits: BuildLimits(memoryBytes: 1 << 30, processes: 100, diskBytes: 1 << 30, openFiles: 64),
            identity: BuildIdentity(name: "b", uid: 999, gid: 999))
        #expect(launch.prologue.contains("ulimit -v 1048576") && launch.prologue.contains("ulimit -p 100"))
        #expect(launch.prologue.contains("ulimit -f 1048576") && launch.prologue.contains("ulimit -n 64"))
        let grouped = BuildLaunch(
            command: "make", limits: BuildLimits(memoryBytes: 1 << 30, processes: 100), cgroupProcs: ["/cg/cgroup.procs"],
            cgroupLimitsMemory: true, cgroupLimitsProcesses: true)
        #expect(!grouped.prologue.contains("ulimit -v") && !grouped.prologue.contains("ulimit -p"))
        #expect(grouped.prologue.hasPrefix("echo $$ > '/cg/cgroup.procs'"))
        // The command is never part of the script: a quote in it cannot break out.
        let hostile = BuildLaunch(command: "'; rm -rf / #", limits: .unlimited())
        #expect(!hostile.prologue.contains("rm -rf"))
    }

    @Test func limitsComeFromTheDefaultsThenTheBuildTypeThenTheApp() {
        var policy = BuildLimitPolicy()
        policy.buildTypes["flutter_android"] = BuildLimitOverrides(memoryBytes: 8 << 30, timeout: 3600)
        var unlimited = BuildLimitOverrides(network: true)
        unlimited.unlimited = ["processes"]
        policy.apps["shop"] = unlimited
        #expect(policy.limits(app: "x", buildType: "javascript_web") == .seedDefaults)
        let android = policy.limits(app: "x", buildType: "flutter_android")
        #expect(android.memoryBytes == 8 << 30 && android.timeout == 3600 && android.cpus == 2 && !android.network)
        let shop = policy.limits(app: "shop", buildType: "flutter_android")
        #expect(shop.network && shop.processes == nil && shop.memoryBytes == 8 << 30)
        #expect(BuildLimits(memoryBytes: 1000).problems().map(\.field) == ["memory_bytes"])
        #expect(BuildLimits.seedDefaults.summary.contains("memory 4 GiB, cpus 2"))
    }
}

extension BuildLimits {
    func with(network: Bool) -> BuildLimits {
        var copy = self
        copy.network = network
        return copy
    }
}

/// A listening TCP socket on 127.0.0.1 (connections wait in its backlog; nothing is served).
final class LoopbackListener {
    let fd: Int32
    let port: Int

    init() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let size = length
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, size) } }
        guard bound == 0, listen(socketFD, 16) == 0 else { throw SchedulerError.invalidConfiguration("cannot listen") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) } }
        fd = socketFD
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}

import Foundation
import Testing
import UVLoop
import WharfTestSupport

@testable import Scheduler

/// `GitCheckout` against real local repositories: the exact commit lands in the workspace without
/// `.git`, no hook runs (not from a template, not from a global `core.hooksPath`), a tree that
/// outgrows the size limit and a server that stalls past the time limit are stopped, and a commit
/// the repository lacks fails with the reason.
@Suite struct GitCheckoutTests {
    struct Repo {
        let dir: TemporaryDirectory
        var origin: String { dir.path + "/origin.git" }
        var work: String { dir.path + "/work" }
        var home: String { dir.path + "/home" }

        init() throws {
            dir = try TemporaryDirectory(prefix: "wharf-git")
            try FileManager.default.createDirectory(atPath: dir.path + "/home", withIntermediateDirectories: true)
            try run(["init", "-q", "--bare", "-b", "main", origin])
            try run(["init", "-q", "-b", "main", work])
            try run(["-C", work, "config", "user.email", "t@example.test"])
            try run(["-C", work, "config", "user.name", "T"])
        }

        func run(_ arguments: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            p.arguments = arguments
            p.environment = ["PATH": "/usr/bin:/bin", "HOME": home, "GIT_CONFIG_NOSYSTEM": "1"]
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw SchedulerError.invalidSource("git \(arguments) failed") }
        }

        func commit(_ files: [String: String]) throws -> String {
            for (name, text) in files { try dir.file("work/" + name, text) }
            try run(["-C", work, "add", "-A"])
            try run(["-C", work, "commit", "-q", "-m", "c"])
            try run(["-C", work, "push", "-q", origin, "main"])
            return try String(contentsOfFile: origin + "/refs/heads/main", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Checks `commit` out with `git`; also how long `run` took (the loop thread's teardown
        /// afterwards waits for the shared libuv thread pool, which other suites may keep busy).
        func checkout(_ commit: String, _ git: GitCheckout, into name: String = "ws") async throws -> (GitCheckout.Outcome, String, Double) {
            let workTree = dir.path + "/" + name
            try FileManager.default.createDirectory(atPath: workTree, withIntermediateDirectories: true)
            let thread = try LoopThread(name: "git-test")
            defer { try? thread.stopAndJoin() }
            let source = try GitSource(url: origin, commit: commit, ref: "refs/heads/main")
            let started = Date()
            let outcome = await git.run(source, gitDirectory: workTree + ".git", workTree: workTree, on: thread.loop)
            return (outcome, workTree, Date().timeIntervalSince(started))
        }
    }

    @Test func theExactCommitIsCheckedOutWithoutItsGitDirectory() async throws {
        let repo = try Repo()
        defer { repo.dir.remove() }
        let first = try repo.commit(["a.txt": "one"])
        _ = try repo.commit(["a.txt": "two", "b.txt": "new"])
        let (outcome, tree, _) = try await repo.checkout(first, GitCheckout(home: repo.home))
        #expect(outcome.succeeded, "\(outcome)")
        #expect(try String(contentsOfFile: tree + "/a.txt", encoding: .utf8) == "one")
        #expect(!FileManager.default.fileExists(atPath: tree + "/b.txt"))
        #expect(!FileManager.default.fileExists(atPath: tree + "/.git"))
        #expect(!FileManager.default.fileExists(atPath: tree + ".git"), "the git directory is removed")
    }

    @Test func noHookRunsFromATemplateOrAGlobalHooksPath() async throws {
        let repo = try Repo()
        defer { repo.dir.remove() }
        let commit = try repo.commit(["a.txt": "one"])
        let marker = repo.dir.path + "/hook-ran"
        let hook = "#!/bin/sh\ntouch \(marker)\n"
        for dir in ["template/hooks", "hooks"] {
            try repo.dir.file(dir + "/post-checkout", hook)
            try repo.dir.file(dir + "/reference-transaction", hook)
            chmod(repo.dir.path + "/\(dir)/post-checkout", 0o755)
            chmod(repo.dir.path + "/\(dir)/reference-transaction", 0o755)
        }
        try repo.dir.file("home/.gitconfig", "[init]\n\ttemplateDir = \(repo.dir.path)/template\n[core]\n\thooksPath = \(repo.dir.path)/hooks\n")
        // The same settings do run hooks in a plain git checkout (so the test can fail).
        try repo.run(["clone", "-q", repo.origin, repo.dir.path + "/plain"])
        #expect(FileManager.default.fileExists(atPath: marker), "control: a plain clone runs the configured hook")
        try FileManager.default.removeItem(atPath: marker)

        let (outcome, _, _) = try await repo.checkout(commit, GitCheckout(home: repo.home))
        #expect(outcome.succeeded, "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: marker), "a hook ran during the checkout")
    }

    @Test func aTreeOverTheSizeLimitIsStopped() async throws {
        let repo = try Repo()
        defer { repo.dir.remove() }
        // 8 MiB of one repeated line compresses to a few KiB: the pack is small, the tree is not.
        let commit = try repo.commit(["big.txt": String(repeating: "0123456789abcdef\n", count: 512 * 1024)])
        let (outcome, _, _) = try await repo.checkout(commit, GitCheckout(maxBytes: 1 << 20, home: repo.home))
        #expect(!outcome.succeeded)
        #expect(outcome.failure?.contains("size limit") == true, "\(outcome)")
    }

    @Test func aStalledGitIsStoppedAtTheTimeLimit() async throws {
        let repo = try Repo()
        defer { repo.dir.remove() }
        let commit = try repo.commit(["a.txt": "one"])
        // A "git" that never answers stands in for a server that stalls; it records its pid.
        let pidFile = repo.dir.path + "/fetch.pid"
        try repo.dir.file("slow-git", "#!/bin/sh\ncase \"$*\" in *fetch*) echo $$ > \(pidFile); exec sleep 300;; esac\nexec /usr/bin/git \"$@\"\n")
        chmod(repo.dir.path + "/slow-git", 0o755)
        let (outcome, _, seconds) = try await repo.checkout(commit, GitCheckout(timeout: 1, program: repo.dir.path + "/slow-git", home: repo.home))
        #expect(outcome.failure?.contains("time limit") == true, "\(outcome)")
        // Killed, not waited for: the 300 s sleep is gone. (Wall time is only loosely bounded here:
        // tests running in parallel can keep this task from resuming for a while.)
        // (On a loaded machine `git init` may use up the whole second: then the fetch never starts.)
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8) {
            let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(eventually(5) { !Self.alive(pid) }, "the stalled git (pid \(pid)) is still running")
        }
        #expect(seconds < 90, "far below the stalled git's 300 s, with room for a loaded machine: \(seconds) s")
    }

    /// True while `pid` is a live (non-zombie) process.
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    @Test func aCommitTheRepositoryLacksFailsWithTheReason() async throws {
        let repo = try Repo()
        defer { repo.dir.remove() }
        _ = try repo.commit(["a.txt": "one"])
        let (outcome, _, _) = try await repo.checkout(String(repeating: "cd", count: 20), GitCheckout(home: repo.home))
        #expect(outcome.failure?.contains("is not on refs/heads/main") == true, "\(outcome)")
    }

    @Test func gitSourcesRoundTripAndHostileOnesAreRefused() throws {
        let commit = String(repeating: "ab", count: 20)
        let source = try GitSource(url: "https://git.example.test/a:b.git", commit: commit, ref: "refs/heads/release/1.0")
        #expect(GitSource(encoded: source.encoded) == source)
        #expect(GitSource(encoded: "/srv/src") == nil)
        for bad in [
            ("-uupload-pack=touch pwned", commit, "refs/heads/main"), ("https://x", String(repeating: "0", count: 40), "refs/heads/main"),
            ("https://x", "abc", "refs/heads/main"), ("https://x", commit, "refs/tags/v1"), ("https://x", commit, "refs/heads/a..b"),
            ("https://x\n", commit, "refs/heads/main"), ("https://x", commit, "refs/heads/-x"),
        ] {
            #expect(throws: SchedulerError.self) { try GitSource(url: bad.0, commit: bad.1, ref: bad.2) }
        }
        #expect(GitCheckout.redacted("https://ci:s3cret@git.example.test/r.git") == "https://ci:***@git.example.test/r.git")
    }
}

/// Push deliveries: recorded with their job in one transaction; a replay queues nothing; the log is bounded.
@Suite struct PushDeliveryLogTests {
    @Test func aReplayQueuesNothingAndOldDeliveriesAreForgotten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let source = try GitSource(url: dir.path, commit: String(repeating: "ab", count: 20), ref: "refs/heads/main")
        let request = JobRequest(app: "shop", buildType: "javascript_web", kind: .user_push, source: source.encoded)
        guard case .queued(let id) = try queue.enqueuePush(request, forge: "github", delivery: "d1", now: t0) else {
            Issue.record("not queued")
            return
        }
        #expect(try queue.enqueuePush(request, forge: "github", delivery: "d1", now: t0.addingTimeInterval(60)) == .replay(jobID: id))
        #expect(try queue.list(state: nil, app: nil, limit: 100).count == 1)
        // Same id from another forge is another delivery.
        #expect(try queue.enqueuePush(request, forge: "generic", delivery: "d1", now: t0) != .replay(jobID: id))
        // After the keep period the first delivery is forgotten (pruned by a later insert).
        let later = t0.addingTimeInterval(PushDeliveryLog.keepSeconds + 10)
        _ = try queue.enqueuePush(request, forge: "github", delivery: "d2", now: later)
        #expect(try queue.rememberedDeliveries() == 1)
    }
}

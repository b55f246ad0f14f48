import Foundation
import UVLoop

#if canImport(Glibc)
    import Glibc
#endif

/// Fetches one commit of a repository and checks it out into a build's workspace, with the
/// scheduler's own `git` and outside the build sandbox: fetching needs the network, which builds
/// do not get, and git here only moves data (the repository's content is never run). What keeps a
/// hostile repository from doing more:
///
/// - the URL comes from the registry (an admin's choice), never from a webhook body;
/// - the git directory is fresh, made with an empty template and kept outside the workspace
///   (removed afterwards), with `core.hooksPath=/dev/null`, so no hook runs, none from the
///   repository and none from a template; `protocol.ext.allow=never`; no submodules are fetched;
/// - git gets a minimal environment (no `GIT_*` of Wharf's, no prompts, no system config);
/// - each step has the time left of `timeout`, then its process group is killed, and the git
///   directory plus the workspace are measured every 200 ms and after each step, and the step
///   killed (or the checkout failed) past `maxBytes` (a small pack can check out into a huge tree).
///
/// Loop thread for the process work; `run` may be called from any task.
public struct GitCheckout: Sendable {
    /// Seconds for all steps together.
    public var timeout: Double
    /// Bytes the git directory and the workspace may hold together.
    public var maxBytes: Int
    /// The git program (a name looked up on `PATH`, or a path).
    public var program: String
    /// `HOME` for git: the operator's (ssh keys, credential settings for private repositories).
    public var home: String?

    public init(
        timeout: Double = 600, maxBytes: Int = 2 << 30, program: String = "git",
        home: String? = ProcessInfo.processInfo.environment["HOME"]
    ) {
        self.timeout = timeout
        self.maxBytes = maxBytes
        self.program = program
        self.home = home
    }

    /// How a checkout ended: notes for the build log, and a failure reason if it failed.
    public struct Outcome: Sendable, Equatable {
        public var notes: [String]
        public var failure: String?
        public var succeeded: Bool { failure == nil }
    }

    /// Fetches `source.commit` into `gitDirectory` (created) and checks it out into `workTree`
    /// (which must exist); removes `gitDirectory` before returning.
    public func run(_ source: GitSource, gitDirectory: String, workTree: String, on loop: EventLoop) async -> Outcome {
        defer { try? FileManager.default.removeItem(atPath: gitDirectory) }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var notes = ["fetching \(source.commit) (\(source.ref)) from \(Self.redacted(source.url))"]
        let base = [
            "-c", "core.hooksPath=/dev/null", "-c", "protocol.ext.allow=never", "-c", "core.fsmonitor=false",
            "-c", "submodule.recurse=false", "--git-dir=" + gitDirectory,
        ]
        let watched = [gitDirectory, workTree]
        let shown = Self.redacted(source.url)
        func step(_ arguments: [String]) async -> StepResult {
            var result = await Self.runStep(
                program: program, arguments: arguments, environment: environment, deadline: deadline,
                watch: watched, maxBytes: maxBytes, on: loop)
            // git may echo the URL: never its password.
            if shown != source.url { result.lines = result.lines.map { $0.replacingOccurrences(of: source.url, with: shown) } }
            // A step quicker than the watch's first look is measured once it ended.
            if result.stopped == nil, watched.reduce(0, { $0 + DirectoryUsage.bytes($1, stopAbove: maxBytes) }) > maxBytes {
                result.stopped = "size limit of \(maxBytes) bytes reached"
            }
            return result
        }
        let started = ContinuousClock.now
        var result = await step(["init", "--quiet", "--bare", "--template=", gitDirectory])
        guard result.succeeded else { return Outcome(notes: notes + result.lines, failure: "git init failed: \(result.summary)") }
        result = await step(base + ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--depth=1", "--", source.url, source.commit])
        if !result.succeeded {
            // A server that hands out only advertised refs: fetch the branch, then the commit must be in it.
            if result.stopped != nil { return Outcome(notes: notes + result.lines, failure: "git fetch: \(result.summary)") }
            notes.append("fetching the commit by id failed (\(result.summary)); fetching \(source.ref)")
            result = await step(base + ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--", source.url, source.ref])
            guard result.succeeded else { return Outcome(notes: notes + result.lines, failure: "git fetch failed: \(result.summary)") }
            result = await step(base + ["cat-file", "-e", source.commit + "^{commit}"])
            guard result.succeeded else {
                return Outcome(notes: notes, failure: "commit \(source.commit) is not on \(source.ref) of the repository")
            }
        }
        result = await step(base + ["--work-tree=" + workTree, "checkout", "--quiet", "--force", "--detach", source.commit])
        guard result.succeeded else { return Outcome(notes: notes + result.lines, failure: "git checkout failed: \(result.summary)") }
        let elapsed = ContinuousClock.now - started
        notes.append(
            String(
                format: "checked out %@ in %.2f s", source.commit, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        )
        return Outcome(notes: notes, failure: nil)
    }

    /// What git's processes get: nothing of Wharf's environment but `HOME` (the operator's ssh keys
    /// and credential settings for private repositories) and a fixed `PATH`.
    var environment: [String] {
        var out = [
            "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
            "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false", "GIT_SSH_COMMAND=ssh -o BatchMode=yes",
        ]
        if let home { out.append("HOME=" + home) }
        return out
    }

    /// The URL without a password (`https://user:secret@host/…` → `https://user:***@host/…`).
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    struct StepResult: Sendable {
        var exit: ProcessExit?
        /// Why Wharf stopped the step (time or size), if it did.
        var stopped: String?
        var lines: [String]
        var spawnError: String?

        var succeeded: Bool { stopped == nil && spawnError == nil && exit?.succeeded == true }
        var summary: String {
            if let stopped { return stopped }
            if let spawnError { return "could not start git: \(spawnError)" }
            guard let exit else { return "no exit status" }
            let tail = lines.last.map { ": " + $0 } ?? ""
            return exit.terminationSignal != 0 ? "killed by signal \(exit.terminationSignal)" : "exit status \(exit.exitStatus)\(tail)"
        }
    }

    /// Runs one git command on `loop`: output kept (the last 40 lines, each at most 500 bytes),
    /// killed at `deadline` or when the watched directories outgrow `maxBytes`.
    static func runStep(
        program: String, arguments: [String], environment: [String], deadline: ContinuousClock.Instant,
        watch: [String], maxBytes: Int, on loop: EventLoop
    ) async -> StepResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<StepResult, Never>) in
            let accepted = loop.execute {
                StepRun(
                    program: program, arguments: arguments, environment: environment, deadline: deadline, watch: watch,
                    maxBytes: maxBytes, loop: loop
                ) { continuation.resume(returning: $0) }.start()
            }
            if !accepted { continuation.resume(returning: StepResult(exit: nil, stopped: nil, lines: [], spawnError: "event loop stopped")) }
        }
    }
}

/// One git process on the loop, with its time and size watch. Loop thread only.
private final class StepRun {
    let program: String, arguments: [String], environment: [String]
    let deadline: ContinuousClock.Instant
    let watch: [String]
    let maxBytes: Int
    let loop: EventLoop
    var finish: ((GitCheckout.StepResult) -> Void)?
    var child: ChildProcess?
    var timers: [LoopTimer] = []
    var output: [UInt8] = []
    var stopped: String?
    var measuring = false
    var keepAlive: StepRun?

    init(
        program: String, arguments: [String], environment: [String], deadline: ContinuousClock.Instant, watch: [String],
        maxBytes: Int, loop: EventLoop, finish: @escaping (GitCheckout.StepResult) -> Void
    ) {
        self.program = program
        self.arguments = arguments
        self.environment = environment
        self.deadline = deadline
        self.watch = watch
        self.maxBytes = maxBytes
        self.loop = loop
        self.finish = finish
    }

    func start() {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return end(exit: nil, stopped: "time limit reached", spawnError: nil) }
        keepAlive = self
        do {
            child = try ChildProcess.spawn(
                on: loop, ProcessOptions(executable: program, arguments: arguments, environment: environment),
                onOutput: { [weak self] _, bytes in self?.received(bytes) },
                onExit: { [weak self] exit in self?.end(exit: exit, stopped: self?.stopped, spawnError: nil) })
        } catch {
            return end(exit: nil, stopped: nil, spawnError: "\(error)")
        }
        timers.append(LoopTimer.once(on: loop, after: remaining) { [weak self] in self?.stop("time limit reached") })
        let watchTimer = LoopTimer(loop: loop)
        watchTimer.start(after: .milliseconds(200), repeating: .milliseconds(200)) { [weak self] in self?.measure() }
        timers.append(watchTimer)
    }

    func received(_ bytes: [UInt8]) {
        output.append(contentsOf: bytes)
        if output.count > 64 * 1024 { output.removeFirst(output.count - 32 * 1024) }
    }

    func stop(_ reason: String) {
        guard stopped == nil, let child else { return }
        stopped = reason
        try? child.kill(SIGKILL)
        // The bound holds even if the exit is reported late (a process that blocks SIGCHLD in
        // every thread delays libuv's notice): after 2 s the step ends without waiting for it.
        timers.append(
            LoopTimer.once(on: loop, after: .seconds(2)) { [weak self] in
                guard let self, let child = self.child else { return }
                child.close()
                self.end(exit: nil, stopped: self.stopped, spawnError: nil)
            })
    }

    func measure() {
        guard !measuring, child != nil else { return }
        measuring = true
        let watch = self.watch
        let cap = maxBytes
        loop.runBlocking({ watch.reduce(0) { $0 + DirectoryUsage.bytes($1, stopAbove: cap) } }) { [weak self] result in
            guard let self else { return }
            self.measuring = false
            if case .success(let bytes) = result, bytes > cap { self.stop("size limit of \(cap) bytes reached") }
        }
    }

    func end(exit: ProcessExit?, stopped: String?, spawnError: String?) {
        guard finish != nil else { return }
        for timer in timers { timer.close() }
        timers.removeAll()
        child = nil
        let text = String(decoding: output, as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).suffix(40).map { String($0.prefix(500)) }
        let finish = self.finish
        self.finish = nil
        keepAlive = nil
        finish?(GitCheckout.StepResult(exit: exit, stopped: stopped, lines: lines, spawnError: spawnError))
    }
}

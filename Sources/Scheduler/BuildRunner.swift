import Foundation
import UVLoop
#if canImport(Glibc)
import Glibc
#endif

/// Optional resource limits for a build, applied with the shell's `ulimit` before the command runs.
/// (RLIMIT_NPROC does not bind root; run builds as an unprivileged user where that matters.)
public struct BuildResourceLimits: Sendable, Equatable {
    public var cpuSeconds: Int?
    public var addressSpaceBytes: Int?
    public var processes: Int?

    public init(cpuSeconds: Int? = nil, addressSpaceBytes: Int? = nil, processes: Int? = nil) {
        self.cpuSeconds = cpuSeconds
        self.addressSpaceBytes = addressSpaceBytes
        self.processes = processes
    }

    var shellPrefix: String {
        var parts: [String] = []
        if let cpuSeconds { parts.append("ulimit -t \(max(1, cpuSeconds))") }
        if let addressSpaceBytes { parts.append("ulimit -v \(max(1, addressSpaceBytes / 1024))") }
        if let processes { parts.append("ulimit -u \(max(1, processes))") }
        return parts.map { $0 + " || exit 126; " }.joined()
    }
}

/// One build to run: a shell command in a working directory, with its log and limits.
public struct BuildSpec: Sendable {
    public var jobID: Int64
    /// Run by `/bin/sh -c`.
    public var command: String
    public var workingDirectory: String
    /// Added to the scheduler's own environment.
    public var environment: [String: String]
    /// Also added to the environment; their values are replaced by `***` in the log.
    public var secrets: [String: String]
    public var logPath: String
    /// Seconds until the process group is killed and the attempt is `timed_out` (default 1800).
    public var timeout: Double
    /// Seconds until a warning event (default 1200).
    public var warningAfter: Double?
    /// Seconds between SIGTERM and SIGKILL (default 10).
    public var killGrace: Double
    /// Log bytes before the build is stopped (default 64 MiB).
    public var logCapBytes: Int
    public var limits: BuildResourceLimits

    public init(jobID: Int64, command: String, workingDirectory: String, environment: [String: String] = [:],
                secrets: [String: String] = [:], logPath: String, timeout: Double = 1800, warningAfter: Double? = 1200,
                killGrace: Double = 10, logCapBytes: Int = 64 << 20, limits: BuildResourceLimits = .init()) {
        self.jobID = jobID
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.secrets = secrets
        self.logPath = logPath
        self.timeout = timeout
        self.warningAfter = warningAfter
        self.killGrace = killGrace
        self.logCapBytes = logCapBytes
        self.limits = limits
    }
}

/// Something that happened during a build, reported as it happens.
public enum BuildEvent: Sendable, Equatable {
    case started(pid: Int32)
    case stage(String)
    /// The build has run `elapsed` seconds and approaches its timeout.
    case timeoutWarning(elapsed: Double)
    /// The process group is being stopped (SIGTERM, then SIGKILL after the grace period).
    case stopping(reason: String)
}

/// How a build ended.
public struct BuildResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case succeeded
        case failed(exitStatus: Int64, signal: Int32)
        case timedOut
        case cancelled
        case logCapExceeded
        /// The process could not start (missing working directory, no shell).
        case spawnFailed(String)
    }

    public var outcome: Outcome
    public var stageDurations: [String: Double]
    public var seconds: Double
    public var logBytes: Int

    /// The queue outcome for this result (`deploymentID` comes from publishing the output).
    public func jobOutcome(deploymentID: String?) -> JobOutcome {
        switch outcome {
        case .succeeded: .succeeded(deploymentID: deploymentID)
        case .failed(let status, let signal):
            .failed(exitCode: Int(status), error: signal == 0 ? "exit status \(status)" : "killed by signal \(signal)")
        case .timedOut: .timedOut(error: "timed out")
        case .cancelled: .cancelled
        case .logCapExceeded: .failed(exitCode: nil, error: "log cap exceeded", retryable: false)
        case .spawnFailed(let why): .failed(exitCode: nil, error: "could not start: \(why)", retryable: false)
        }
    }
}

/// Runs one build as a child process in its own process group, on one event loop: output to the log
/// line by line with timestamps, `::stage NAME` markers timed, a warning before the timeout, and on
/// timeout, cancel or log cap the whole group gets SIGTERM, then SIGKILL after the grace period.
/// When the build ends, whatever it left in its group is killed too (no orphans). Loop thread only,
/// except `requestCancel()`.
public final class BuildRunner: @unchecked Sendable {
    public let loop: EventLoop
    public let spec: BuildSpec
    private let onEvent: (BuildEvent) -> Void
    private var onFinish: ((BuildResult) -> Void)?
    private var child: ChildProcess?
    private var log: BuildLog?
    private var stages = BuildStages()
    private let started = ContinuousClock.now
    private var timers: [LoopTimer] = []
    private var stopReason: BuildResult.Outcome?
    /// Called on the loop right before `onFinish` (for the owner's own clean-up, e.g. a heartbeat timer).
    public var onEnd: (() -> Void)?
    /// The runner keeps itself alive from start until `onFinish` ran (callers may drop it).
    private var keepAlive: BuildRunner?

    /// Starts the build; `onFinish` runs exactly once, on the loop, after the process group ended.
    @discardableResult
    public static func start(on loop: EventLoop, spec: BuildSpec, clock: any SchedulerClock = SystemClock(),
                             onEvent: @escaping (BuildEvent) -> Void = { _ in },
                             onFinish: @escaping (BuildResult) -> Void) -> BuildRunner {
        let runner = BuildRunner(loop: loop, spec: spec, onEvent: onEvent, onFinish: onFinish)
        runner.begin(clock: clock)
        return runner
    }

    /// Starts the build from any thread and waits for its result.
    public static func run(on loop: EventLoop, spec: BuildSpec, clock: any SchedulerClock = SystemClock(),
                           onEvent: @escaping @Sendable (BuildEvent) -> Void = { _ in }) async -> BuildResult {
        await withCheckedContinuation { continuation in
            let accepted = loop.execute {
                start(on: loop, spec: spec, clock: clock, onEvent: onEvent) { continuation.resume(returning: $0) }
            }
            if !accepted {
                continuation.resume(returning: BuildResult(outcome: .spawnFailed("event loop stopped"), stageDurations: [:], seconds: 0, logBytes: 0))
            }
        }
    }

    private init(loop: EventLoop, spec: BuildSpec, onEvent: @escaping (BuildEvent) -> Void, onFinish: @escaping (BuildResult) -> Void) {
        self.loop = loop
        self.spec = spec
        self.onEvent = onEvent
        self.onFinish = onFinish
    }

    private func begin(clock: any SchedulerClock) {
        keepAlive = self
        do {
            log = try BuildLog(path: spec.logPath, capBytes: spec.logCapBytes, secrets: Array(spec.secrets.values), clock: clock)
        } catch {
            return finishSoon(.spawnFailed("cannot create log \(spec.logPath): \(error)"))
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(spec.environment) { $1 }
        environment.merge(spec.secrets) { $1 }
        // `sh -c SCRIPT NAME COMMAND`: the command arrives as $1, so it needs no quoting.
        let script = spec.limits.shellPrefix + "exec /bin/sh -c \"$1\""
        let options = ProcessOptions(
            executable: "/bin/sh", arguments: ["-c", script, "wharf-build", spec.command],
            environment: environment.map { "\($0.key)=\($0.value)" }.sorted(),
            workingDirectory: spec.workingDirectory, newProcessGroup: true)
        do {
            child = try ChildProcess.spawn(on: loop, options, onOutput: { [weak self] stream, bytes in
                self?.received(bytes, from: stream == .standardOutput ? .out : .err)
            }, onExit: { [weak self] exit in
                self?.exited(exit)
            })
        } catch {
            log?.note("could not start the build: \(error)")
            return finishSoon(.spawnFailed("\(error)"))
        }
        let pid = child?.pid ?? 0
        log?.note("started job \(spec.jobID) as process group \(pid) in \(spec.workingDirectory)")
        onEvent(.started(pid: pid))
        timers.append(LoopTimer.once(on: loop, after: .seconds(max(0, spec.timeout))) { [weak self] in
            self?.stop(.timedOut, reason: "timeout of \(self?.spec.timeout ?? 0) s reached")
        })
        if let warning = spec.warningAfter, warning < spec.timeout {
            timers.append(LoopTimer.once(on: loop, after: .seconds(max(0, warning))) { [weak self] in
                guard let self, self.child != nil else { return }
                self.log?.note("warning: running for \(warning) s; timeout at \(self.spec.timeout) s")
                self.onEvent(.timeoutWarning(elapsed: warning))
            })
        }
    }

    /// Cancels from any thread: the group is stopped and the result is `.cancelled`.
    public func requestCancel() {
        loop.execute { [self] in cancel() }
    }

    /// Cancels on the loop thread.
    public func cancel() {
        stop(.cancelled, reason: "cancelled")
    }

    private var elapsed: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private func received(_ bytes: [UInt8], from source: BuildLogSource) {
        guard let log else { return }
        let lines = log.append(bytes, from: source)
        if source == .out {
            for line in lines {
                if let name = BuildStages.marker(in: line) {
                    stages.begin(name, at: elapsed)
                    onEvent(.stage(name))
                }
            }
        }
        if log.capReached { stop(.logCapExceeded, reason: "log cap of \(spec.logCapBytes) bytes reached") }
    }

    /// SIGTERM to the group now, SIGKILL after the grace period. The first reason wins.
    private func stop(_ outcome: BuildResult.Outcome, reason: String) {
        guard stopReason == nil, let child else { return }
        stopReason = outcome
        log?.note("stopping: \(reason); SIGTERM to the process group, SIGKILL after \(spec.killGrace) s")
        onEvent(.stopping(reason: reason))
        try? child.kill(SIGTERM)
        timers.append(LoopTimer.once(on: loop, after: .seconds(max(0, spec.killGrace))) { [weak self] in
            guard let self, let child = self.child else { return }
            self.log?.note("grace period over: SIGKILL to the process group")
            try? child.kill(SIGKILL)
        })
    }

    private func exited(_ exit: ProcessExit) {
        // Whatever the build left behind in its group goes too.
        try? child?.kill(SIGKILL)
        child = nil
        stages.end(at: elapsed)
        log?.flush()
        let outcome: BuildResult.Outcome =
            stopReason ?? (exit.succeeded ? .succeeded : .failed(exitStatus: exit.exitStatus, signal: exit.terminationSignal))
        log?.note("ended: \(outcome) (exit status \(exit.exitStatus), signal \(exit.terminationSignal)) after \(String(format: "%.3f", elapsed)) s")
        finish(outcome)
    }

    private func finishSoon(_ outcome: BuildResult.Outcome) {
        loop.execute { [self] in finish(outcome) }
    }

    private func finish(_ outcome: BuildResult.Outcome) {
        for timer in timers { timer.close() }
        timers.removeAll()
        defer { keepAlive = nil }
        onEnd?()
        onEnd = nil
        guard let onFinish else { return }
        self.onFinish = nil
        onFinish(BuildResult(outcome: outcome, stageDurations: stages.durations, seconds: elapsed, logBytes: log?.bytesWritten ?? 0))
        log = nil
    }
}

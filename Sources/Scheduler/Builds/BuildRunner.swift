import Foundation
import UVLoop

#if canImport(Glibc)
    import Glibc
#endif

/// One build to run: a shell command in a working directory, with its log, environment, limits and
/// isolation.
public struct BuildSpec: Sendable {
    public var jobID: Int64
    /// Run by `/bin/sh -c`.
    public var command: String
    var workingDirectory: String
    /// The base of the build's environment (nothing of the scheduler's own is inherited but what it allows).
    var baseEnvironment: BuildEnvironment
    /// Variables for this build, on top of the base.
    public var environment: [String: String]
    /// Secrets for this build, on top of the base's; their values are replaced by `***` in the log.
    public var secrets: [String: String]
    /// Wharf's own variables for the build (`WHARF_JOB_ID`, `WHARF_DEPS_CACHE`).
    var wharfVariables: [String: String]
    var logPath: String
    public var limits: BuildLimits
    /// Seconds until the process group is killed and the attempt is `timed_out` (the limits' timeout).
    public var timeout: Double {
        get { limits.timeout }
        set { limits.timeout = newValue }
    }
    /// Seconds until a warning event (the limits' warning).
    public var warningAfter: Double? {
        get { limits.warningAfter }
        set { limits.warningAfter = newValue }
    }
    /// Seconds between SIGTERM and SIGKILL (default 10).
    var killGrace: Double
    /// Log bytes before the build is stopped (default 64 MiB).
    var logCapBytes: Int
    public var isolation: BuildIsolation
    /// The user the build runs as (nil: Wharf's own).
    var identity: BuildIdentity?
    /// More directories the build may write (bound into a sandbox): the slot's dependency cache.
    var extraWritable: [String]
    /// Where the build's cgroups go (nil: no cgroups; rlimits stand in).
    public var cgroups: CgroupRoots?
    /// Seconds between checks of the workspace's disk use and the process limit.
    var watchInterval: Double
    /// Notes written at the top of the log before the build starts (e.g. how its git source was fetched).
    var preamble: [String]

    init(
        jobID: Int64, command: String, workingDirectory: String, baseEnvironment: BuildEnvironment = BuildEnvironment(),
        environment: [String: String] = [:], secrets: [String: String] = [:], wharfVariables: [String: String] = [:],
        logPath: String, limits: BuildLimits = .unlimited(), timeout: Double? = nil, warningAfter: Double?? = nil,
        killGrace: Double = 10, logCapBytes: Int = 64 << 20, isolation: BuildIsolation = .none,
        identity: BuildIdentity? = nil, extraWritable: [String] = [], cgroups: CgroupRoots? = nil,
        watchInterval: Double = 2, preamble: [String] = []
    ) {
        self.jobID = jobID
        self.command = command
        self.workingDirectory = workingDirectory
        self.baseEnvironment = baseEnvironment
        self.environment = environment
        self.secrets = secrets
        self.wharfVariables = wharfVariables
        self.logPath = logPath
        self.limits = limits
        if let timeout { self.limits.timeout = timeout }
        if let warningAfter { self.limits.warningAfter = warningAfter }
        self.killGrace = killGrace
        self.logCapBytes = logCapBytes
        self.isolation = isolation
        self.identity = identity
        self.extraWritable = extraWritable
        self.cgroups = cgroups
        self.watchInterval = watchInterval
        self.preamble = preamble
    }

    /// The complete environment the build process gets.
    var resolvedEnvironment: [String: String] {
        var base = baseEnvironment
        base.variables.merge(environment) { $1 }
        var resolved = base.resolve(workspace: workingDirectory, wharf: wharfVariables, extraSecrets: secrets)
        if let identity { resolved["USER"] = identity.name }
        return resolved
    }

    /// Every secret value, for redaction.
    var secretValues: [String] { Array(baseEnvironment.secrets.values) + Array(secrets.values) }
}

/// Which limit a build ran into.
public enum BuildLimitKind: String, Sendable, Equatable, Codable {
    case memory, processes, disk
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
        /// The build exceeded a limit and was stopped (or killed by the kernel, for memory).
        case limitExceeded(BuildLimitKind, String)
        /// The process could not start (missing working directory, no shell).
        case spawnFailed(String)
    }

    public var outcome: Outcome
    var stageDurations: [String: Double]
    public var seconds: Double
    var logBytes: Int
    /// The most memory the build used at once (known with a memory cgroup).
    public var peakMemoryBytes: Int?
    /// The largest the workspace was seen (checked every `watchInterval`).
    public var peakDiskBytes: Int?

    /// The queue outcome for this result (`deploymentID` comes from publishing the output).
    func jobOutcome(deploymentID: String?) -> JobOutcome {
        switch outcome {
        case .succeeded: .succeeded(deploymentID: deploymentID)
        case .failed(let status, let signal):
            .failed(exitCode: Int(status), error: signal == 0 ? "exit status \(status)" : "killed by signal \(signal)")
        case .timedOut: .timedOut(error: "timed out")
        case .cancelled: .cancelled
        case .logCapExceeded: .failed(exitCode: nil, error: "log cap exceeded", retryable: false)
        case .limitExceeded(_, let why): .failed(exitCode: nil, error: why, retryable: false)
        case .spawnFailed(let why): .failed(exitCode: nil, error: "could not start: \(why)", retryable: false)
        }
    }
}

/// Runs one build as a child process in its own process group, on one event loop: output to the log
/// line by line with timestamps, `::stage NAME` markers timed, a warning before the timeout, and on
/// timeout, cancel or log cap the whole group gets SIGTERM, then SIGKILL after the grace period.
/// When the build ends, whatever it left in its group is killed too (no orphans). Loop thread only,
/// except `requestCancel()`.
final class BuildRunner: @unchecked Sendable {
    let loop: EventLoop
    let spec: BuildSpec
    private let onEvent: (BuildEvent) -> Void
    private var onFinish: ((BuildResult) -> Void)?
    private var child: ChildProcess?
    private var log: BuildLog?
    private var stages = BuildStages()
    private let started = ContinuousClock.now
    private var timers: [LoopTimer] = []
    private var stopReason: BuildResult.Outcome?
    private var cgroup: BuildCgroup?
    private var diskCheckRunning = false
    private var peakDiskBytes: Int?
    /// Called on the loop right before `onFinish` (for the owner's own clean-up, e.g. a heartbeat timer).
    var onEnd: (() -> Void)?
    /// The runner keeps itself alive from start until `onFinish` ran (callers may drop it).
    private var keepAlive: BuildRunner?

    /// Starts the build; `onFinish` runs exactly once, on the loop, after the process group ended.
    @discardableResult
    public static func start(
        on loop: EventLoop, spec: BuildSpec, clock: any SchedulerClock = SystemClock(),
        onEvent: @escaping (BuildEvent) -> Void = { _ in },
        onFinish: @escaping (BuildResult) -> Void
    ) -> BuildRunner {
        let runner = BuildRunner(loop: loop, spec: spec, onEvent: onEvent, onFinish: onFinish)
        runner.begin(clock: clock)
        return runner
    }

    /// Starts the build from any thread and waits for its result.
    public static func run(
        on loop: EventLoop, spec: BuildSpec, clock: any SchedulerClock = SystemClock(),
        onEvent: @escaping @Sendable (BuildEvent) -> Void = { _ in }
    ) async -> BuildResult {
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
            log = try BuildLog(path: spec.logPath, capBytes: spec.logCapBytes, secrets: spec.secretValues, clock: clock)
        } catch {
            return finishSoon(.spawnFailed("cannot create log \(spec.logPath): \(error)"))
        }
        for line in spec.preamble { log?.note(line) }
        var launch = BuildLaunch(
            command: spec.command, limits: spec.limits, isolation: spec.isolation, identity: spec.identity,
            writable: [spec.workingDirectory] + spec.extraWritable)
        if let roots = spec.cgroups {
            do {
                let group = try BuildCgroup(name: "\(spec.jobID)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", limits: spec.limits, roots: roots)
                cgroup = group
                launch.cgroupProcs = group.procsFiles
                launch.cgroupLimitsMemory = group.limitsMemory
                launch.cgroupLimitsProcesses = group.limitsProcesses
            } catch {
                log?.note("no cgroup for this build (\(error)); rlimits stand in")
            }
        }
        let options = launch.processOptions(environment: spec.resolvedEnvironment, workingDirectory: spec.workingDirectory)
        do {
            child = try ChildProcess.spawn(
                on: loop, options,
                onOutput: { [weak self] stream, bytes in
                    self?.received(bytes, from: stream == .standardOutput ? .out : .err)
                },
                onExit: { [weak self] exit in
                    self?.exited(exit)
                })
        } catch {
            log?.note("could not start the build: \(error)")
            cgroup?.remove()
            cgroup = nil
            return finishSoon(.spawnFailed("\(error)"))
        }
        let pid = child?.pid ?? 0
        log?.note("started job \(spec.jobID) as process group \(pid) in \(spec.workingDirectory)")
        log?.note(
            "isolation: \(spec.isolation.mode.rawValue)\(spec.identity.map { " as \($0.name) (uid \($0.uid))" } ?? " as Wharf's user"); "
                + "limits: \(spec.limits.summary); enforced by \(cgroup == nil ? "rlimits" : "cgroups and rlimits")")
        if spec.limits.diskBytes != nil || cgroup?.limitsProcesses == true {
            let interval = max(0.05, spec.watchInterval)
            let watch = LoopTimer(loop: loop)
            watch.start(after: .milliseconds(Int(interval * 1000)), repeating: .milliseconds(Int(interval * 1000))) { [weak self] in
                self?.watchLimits()
            }
            timers.append(watch)
        }
        onEvent(.started(pid: pid))
        timers.append(
            LoopTimer.once(on: loop, after: .seconds(max(0, spec.timeout))) { [weak self] in
                self?.stop(.timedOut, reason: "timeout of \(self?.spec.timeout ?? 0) s reached")
            })
        if let warning = spec.warningAfter, warning < spec.timeout {
            timers.append(
                LoopTimer.once(on: loop, after: .seconds(max(0, warning))) { [weak self] in
                    guard let self, self.child != nil else { return }
                    self.log?.note("warning: running for \(warning) s; timeout at \(self.spec.timeout) s")
                    self.onEvent(.timeoutWarning(elapsed: warning))
                })
        }
    }

    /// Cancels from any thread: the group is stopped and the result is `.cancelled`.
    func requestCancel() {
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
        timers.append(
            LoopTimer.once(on: loop, after: .seconds(max(0, spec.killGrace))) { [weak self] in
                guard let self, let child = self.child else { return }
                self.log?.note("grace period over: SIGKILL to the process group")
                try? child.kill(SIGKILL)
            })
    }

    /// Stops the build when it ran into its process limit (forks refused) or its workspace outgrew
    /// its disk limit (measured on the thread pool, one measurement at a time).
    private func watchLimits() {
        guard child != nil, stopReason == nil else { return }
        if let cgroup, cgroup.processLimitHits > 0 {
            return stop(
                .limitExceeded(.processes, "process limit of \(spec.limits.processes ?? 0) reached"),
                reason: "the build reached its process limit (\(spec.limits.processes ?? 0))")
        }
        guard let cap = spec.limits.diskBytes, !diskCheckRunning else { return }
        diskCheckRunning = true
        let workspace = spec.workingDirectory
        loop.runBlocking({ DirectoryUsage.bytes(workspace, stopAbove: cap) }) { [weak self] result in
            guard let self else { return }
            self.diskCheckRunning = false
            guard case .success(let bytes) = result else { return }
            self.peakDiskBytes = max(self.peakDiskBytes ?? 0, bytes)
            if bytes > cap, self.child != nil {
                self.stop(
                    .limitExceeded(.disk, "disk limit of \(cap) bytes exceeded by the workspace"),
                    reason: "the workspace holds more than its disk limit (\(cap) bytes)")
            }
        }
    }

    private func exited(_ exit: ProcessExit) {
        // Whatever the build left behind in its group goes too, and in its cgroups (even if it left the group).
        try? child?.kill(SIGKILL)
        child = nil
        cgroup?.killAll()
        stages.end(at: elapsed)
        log?.flush()
        var outcome: BuildResult.Outcome =
            stopReason ?? (exit.succeeded ? .succeeded : .failed(exitStatus: exit.exitStatus, signal: exit.terminationSignal))
        if case .failed = outcome {
            if let cgroup, cgroup.outOfMemoryKills > 0 {
                outcome = .limitExceeded(.memory, "out of memory: the build exceeded its memory limit of \(spec.limits.memoryBytes ?? 0) bytes")
            } else if exit.terminationSignal == SIGXFSZ || exit.exitStatus == 128 + Int64(SIGXFSZ), let cap = spec.limits.diskBytes {
                // A file reached the size limit (the shell reports its child's SIGXFSZ as 153).
                outcome = .limitExceeded(.disk, "disk limit of \(cap) bytes exceeded by a file")
            } else if let cgroup, cgroup.processLimitHits > 0 {
                outcome = .limitExceeded(.processes, "process limit of \(spec.limits.processes ?? 0) reached")
            }
        }
        let peakMemory = cgroup?.peakMemoryBytes
        cgroup?.remove()
        cgroup = nil
        if let peakMemory { log?.note("peak memory \(peakMemory) bytes") }
        if let peakDiskBytes { log?.note("peak workspace size \(peakDiskBytes) bytes") }
        log?.note("ended: \(outcome) (exit status \(exit.exitStatus), signal \(exit.terminationSignal)) after \(String(format: "%.3f", elapsed)) s")
        finish(outcome, peakMemory: peakMemory)
    }

    private func finishSoon(_ outcome: BuildResult.Outcome) {
        loop.execute { [self] in finish(outcome) }
    }

    private func finish(_ outcome: BuildResult.Outcome, peakMemory: Int? = nil) {
        for timer in timers { timer.close() }
        timers.removeAll()
        defer { keepAlive = nil }
        onEnd?()
        onEnd = nil
        guard let onFinish else { return }
        self.onFinish = nil
        onFinish(
            BuildResult(
                outcome: outcome, stageDurations: stages.durations, seconds: elapsed, logBytes: log?.bytesWritten ?? 0,
                peakMemoryBytes: peakMemory, peakDiskBytes: peakDiskBytes))
        log = nil
    }
}

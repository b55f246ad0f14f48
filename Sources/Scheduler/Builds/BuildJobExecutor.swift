import ArtifactStore
import Crypto
import Foundation
import Synchronization
import UVLoop

#if canImport(Glibc)
    import Glibc
#endif

/// Settings for running jobs on slots (the `scheduler.build.*`, `scheduler.limits.*` and
/// `scheduler.sandbox.*` configuration keys).
public struct BuildSettings: Sendable {
    /// Where per-attempt working directories are created (a copy of the source each). The build user
    /// must be able to reach it; nothing else of Wharf's belongs there.
    public var workRoot: String
    /// Where logs go: `<logRoot>/<job id>/attempt-<n>.log`.
    public var logRoot: String
    /// The build's output directory, relative to its working directory, published on success.
    var outputDirectory: String
    /// Used when a job has no command of its own.
    var defaultCommand: String
    var toolchainVersion: String
    var killGrace: Double
    var logCapBytes: Int
    /// The base of every build's environment: nothing of the scheduler's is inherited unless allowed.
    var buildEnvironment: BuildEnvironment
    /// Limits per build type and app.
    var limitPolicy: BuildLimitPolicy
    public var isolation: BuildIsolation
    /// Where builds' cgroups go (nil: rlimits only).
    public var cgroups: CgroupRoots?
    /// Where slots keep their dependency caches (`<root>/<slot>/deps/<hash>`); nil: no caches.
    public var slotCacheRoot: String?
    /// Bytes each slot's dependency cache may hold.
    var slotCacheBytes: Int
    /// Seconds a failed attempt's workspace is kept for inspection (0: removed at once).
    public var keepFailedWorkspaces: Double
    /// Seconds between heartbeats while a build runs (default: a third of the lease).
    var heartbeatInterval: Double?
    /// Seconds between checks of a running build's disk use and process limit.
    var watchInterval: Double
    /// How jobs whose source is a git commit (push webhooks) get it into their workspace.
    public var git = GitCheckout()

    public init(
        workRoot: String, logRoot: String, outputDirectory: String = "out", defaultCommand: String = "./build.sh",
        toolchainVersion: String = "", timeout: Double = 1800, warningAfter: Double? = 1200, killGrace: Double = 10,
        logCapBytes: Int = 64 << 20, environment: [String: String] = [:], secrets: [String: String] = [:],
        buildEnvironment: BuildEnvironment = BuildEnvironment(), limitPolicy: BuildLimitPolicy? = nil,
        isolation: BuildIsolation = .none, cgroups: CgroupRoots? = nil, slotCacheRoot: String? = nil,
        slotCacheBytes: Int = 5 << 30, keepFailedWorkspaces: Double = 0, heartbeatInterval: Double? = nil,
        watchInterval: Double = 2
    ) {
        self.workRoot = workRoot
        self.logRoot = logRoot
        self.outputDirectory = outputDirectory
        self.defaultCommand = defaultCommand
        self.toolchainVersion = toolchainVersion
        self.killGrace = killGrace
        self.logCapBytes = logCapBytes
        var base = buildEnvironment
        base.variables.merge(environment) { $1 }
        base.secrets.merge(secrets) { $1 }
        self.buildEnvironment = base
        var policy = limitPolicy ?? BuildLimitPolicy()
        if limitPolicy == nil {
            policy.defaults.timeout = timeout
            policy.defaults.warningAfter = warningAfter.flatMap { $0 < timeout ? $0 : nil }
        }
        self.limitPolicy = policy
        self.isolation = isolation
        self.cgroups = cgroups
        self.slotCacheRoot = slotCacheRoot
        self.slotCacheBytes = slotCacheBytes
        self.keepFailedWorkspaces = keepFailedWorkspaces
        self.heartbeatInterval = heartbeatInterval
        self.watchInterval = watchInterval
    }
}

/// Runs one claimed job to its end: a build-cache hit re-aliases the cached deployment and skips the
/// build; otherwise the source is copied to a fresh working directory, built by `BuildRunner`
/// (heartbeating the lease meanwhile; a cancel request or a lost lease stops the build), the output
/// published through the artifact store, and the result recorded in the cache. The job is finished
/// in the queue either way.
public struct BuildJobExecutor: Sendable {
    let queue: JobQueue
    let cache: BuildCache
    let store: Store
    let loop: EventLoop
    /// The lease owner that claimed the jobs.
    public let owner: String
    let settings: BuildSettings
    /// The process group of every build this executor is running, by job id (for shutdown).
    public let processes = BuildProcessTable()
    /// When set, a failed build whose failure was seen before on the same source is finished as
    /// `failed` at once instead of going back to the queue (the policy's detector).
    var failures: DeterministicFailureDetector?

    public init(
        queue: JobQueue, cache: BuildCache, store: Store, loop: EventLoop, owner: String, settings: BuildSettings,
        failures: DeterministicFailureDetector? = nil
    ) {
        self.queue = queue
        self.cache = cache
        self.store = store
        self.loop = loop
        self.owner = owner
        self.settings = settings
        self.failures = failures
    }

    /// Executes `job` (claimed by `owner`) and returns it as finished (or re-queued for a retry). An
    /// unexpected error (store or database trouble) fails the attempt with that error, so the job is
    /// never left running; only a lost lease is rethrown (the job belongs to someone else then).
    @discardableResult
    func execute(_ job: Job, clock: any SchedulerClock = SystemClock()) async throws -> Job {
        do {
            return try await attempt(job, clock: clock)
        } catch let error as SchedulerError {
            if case .leaseLost = error { throw error }
            return try queue.finish(jobID: job.id, owner: owner, outcome: .failed(exitCode: nil, error: "\(error)"), now: clock.now())
        } catch {
            return try queue.finish(jobID: job.id, owner: owner, outcome: .failed(exitCode: nil, error: "\(error)"), now: clock.now())
        }
    }

    private func attempt(_ job: Job, clock: any SchedulerClock) async throws -> Job {
        let command = job.command ?? settings.defaultCommand
        // The app's registry variables and secrets (`wharf apps set APP --env/--secret`); a secret
        // that cannot be opened fails the job rather than building without it.
        let appEnvironment: (variables: [String: String], secrets: [String: String])
        do {
            appEnvironment = try store.appBuildEnvironment(job.app)
        } catch {
            return try queue.finish(
                jobID: job.id, owner: owner,
                outcome: .failed(exitCode: nil, error: "cannot read the app's build environment: \(error)", retryable: false),
                now: clock.now())
        }
        let key = cacheKey(job, command: command, appEnvironment: appEnvironment)
        // An earlier attempt of this job may have published and then died (SIGKILL) before it could
        // record the result: record that deployment instead of building and publishing a second time.
        if let published = try store.deploymentID(app: job.app, metadata: publishIdentity(job)) {
            if let key { try cache.insert(key, app: job.app, deploymentID: published, now: clock.now()) }
            return try queue.finish(jobID: job.id, owner: owner, outcome: .succeeded(deploymentID: published), now: clock.now())
        }
        // A forced job skips the lookup (and still records its result below).
        if !job.force, let key, let hit = try cache.lookup(key, now: clock.now()) {
            if job.activate { try store.rollback(app: job.app, to: hit.deploymentID) }
            return try queue.finish(
                jobID: job.id, owner: owner, outcome: .succeeded(deploymentID: hit.deploymentID, cacheHit: true),
                now: clock.now())
        }
        let workDir = settings.workRoot + "/job-\(job.id)-attempt-\(job.attempt)"
        let logPath = settings.logRoot + "/\(job.id)/attempt-\(job.attempt).log"
        let limits = settings.limitPolicy.limits(app: job.app, buildType: job.buildType)
        let identity = settings.isolation.identity(forSlot: job.slotID)
        var keepWorkspace = false
        defer { if !keepWorkspace { try? FileManager.default.removeItem(atPath: workDir) } }
        let gitSource = GitSource(encoded: job.source)
        var preamble: [String] = []
        do {
            try? FileManager.default.removeItem(atPath: workDir)
            try FileManager.default.createDirectory(atPath: settings.workRoot, withIntermediateDirectories: true)
            if let gitSource {
                try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: false)
                let checkout = await settings.git.run(gitSource, gitDirectory: workDir + ".git", workTree: workDir, on: loop)
                preamble = checkout.notes
                if let failure = checkout.failure {
                    try? queue.attachLog(jobID: job.id, owner: owner, path: logPath)
                    if let log = try? BuildLog(path: logPath, capBytes: settings.logCapBytes, clock: clock) {
                        for line in checkout.notes + ["fetch failed: " + failure] { log.note(line) }
                    }
                    return try queue.finish(
                        jobID: job.id, owner: owner,
                        outcome: .failed(exitCode: nil, error: "fetch: " + failure, retryable: !failure.contains("is not on")),
                        report: AttemptReport(stageDurations: [:], logPath: logPath), now: clock.now())
                }
            } else {
                try FileManager.default.copyItem(atPath: job.source, toPath: workDir)
            }
            for private_ in [".home", ".tmp"] {
                try FileManager.default.createDirectory(atPath: workDir + "/" + private_, withIntermediateDirectories: true)
            }
            chmod(workDir, 0o700)
            if let identity { try Ownership.give(workDir, to: identity) }
        } catch {
            return try queue.finish(
                jobID: job.id, owner: owner,
                outcome: .failed(exitCode: nil, error: "cannot prepare the working directory: \(error)", retryable: false),
                now: clock.now())
        }
        try queue.attachLog(jobID: job.id, owner: owner, path: logPath)
        var wharfVariables = ["WHARF_JOB_ID": "\(job.id)", "WHARF_APP": job.app, "WHARF_BUILD_TYPE": job.buildType]
        var writable: [String] = []
        var dependencies: (cache: SlotDependencyCache, hash: String)?
        var depsState: String?
        if let root = settings.slotCacheRoot, let hash = job.dependencyHash, let slotID = job.slotID, !slotID.isEmpty {
            let cache = SlotDependencyCache(root: root, slotID: slotID, capacityBytes: settings.slotCacheBytes)
            if let (path, warm) = try? cache.prepare(hash, for: identity) {
                dependencies = (cache, hash)
                wharfVariables["WHARF_DEPS_CACHE"] = path
                writable.append(path)
                depsState = warm ? "warm" : "cold"
            }
        }
        try queue.recordSandbox(
            jobID: job.id, attempt: job.attempt,
            record: SandboxRecord(
                isolation: settings.isolation.mode.rawValue, user: identity?.name,
                limits: limits.summary, dependencyCache: depsState))
        let spec = BuildSpec(
            jobID: job.id, command: command, workingDirectory: workDir, baseEnvironment: settings.buildEnvironment,
            environment: appEnvironment.variables, secrets: appEnvironment.secrets, wharfVariables: wharfVariables, logPath: logPath, limits: limits,
            killGrace: settings.killGrace,
            logCapBytes: settings.logCapBytes, isolation: settings.isolation, identity: identity,
            extraWritable: writable, cgroups: settings.cgroups, watchInterval: settings.watchInterval,
            preamble: preamble)
        let result = await runWithHeartbeats(spec, jobID: job.id, clock: clock)
        let report = AttemptReport(stageDurations: result.stageDurations, logPath: logPath)
        if let (cache, hash) = dependencies {
            cache.touch(cache.path(for: hash))
            cache.evict(keep: hash)
        }
        try? queue.recordUsage(
            jobID: job.id, attempt: job.attempt, peakMemoryBytes: result.peakMemoryBytes,
            peakDiskBytes: result.peakDiskBytes)
        guard result.outcome == .succeeded else {
            keepWorkspace = settings.keepFailedWorkspaces > 0
            var outcome = result.jobOutcome(deploymentID: nil)
            if case .failed(let code, let error, true) = outcome, let failures,
                !failures.shouldRetry(source: key?.hex ?? job.source, signature: "exit \(code.map(String.init) ?? "-"): \(error)")
            {
                // Same source, same failure as an earlier attempt: a retry would only repeat it.
                outcome = .failed(
                    exitCode: code, error: error + " (deterministic: same source, same failure; not retried)",
                    retryable: false)
            }
            return try queue.finish(jobID: job.id, owner: owner, outcome: outcome, report: report, now: clock.now())
        }
        let deploymentID: String
        do {
            let published = try store.publish(
                PublishRequest(
                    app: job.app, directory: workDir + "/" + settings.outputDirectory, version: nil,
                    message: "job \(job.id)", metadata: publishIdentity(job).merging(["build_type": job.buildType]) { a, _ in a },
                    activate: job.activate))
            deploymentID = published.deployment.id
        } catch {
            return try queue.finish(
                jobID: job.id, owner: owner,
                outcome: .failed(exitCode: 0, error: "publish failed: \(error)", retryable: false),
                report: report, now: clock.now())
        }
        if let key { try cache.insert(key, app: job.app, deploymentID: deploymentID, now: clock.now()) }
        return try queue.finish(jobID: job.id, owner: owner, outcome: .succeeded(deploymentID: deploymentID), report: report, now: clock.now())
    }

    /// The metadata that ties a deployment to the job that published it: the job id plus its queue
    /// time, so a fresh scheduler database reusing ids never mistakes an old deployment for its own.
    func publishIdentity(_ job: Job) -> [String: String] {
        ["job": "\(job.id)", "job_queued_at": "\(Int64((job.queuedAt.timeIntervalSince1970 * 1000).rounded()))"]
    }

    /// The job's cache key, or nil when its source is not a directory (archives and git commits are not cached). The app
    /// is part of the build configuration: a deployment belongs to one app. So are the app's build variables and a digest
    /// of its secrets (a changed value builds again); an app without them keeps the key it had before they existed.
    func cacheKey(
        _ job: Job, command: String,
        appEnvironment: (variables: [String: String], secrets: [String: String]) = ([:], [:])
    ) -> BuildCacheKey? {
        // A git source is not on disk before the attempt fetches it: no key (it always builds).
        guard GitSource(encoded: job.source) == nil else { return nil }
        var config = ["app": job.app, "command": command, "build_type": job.buildType, "output": settings.outputDirectory]
        func canonical(_ map: [String: String]) -> String {
            map.sorted { $0.key < $1.key }.map { "\($0.key)\u{0}\($0.value)" }.joined(separator: "\u{0}")
        }
        if !appEnvironment.variables.isEmpty { config["app_env"] = canonical(appEnvironment.variables) }
        if !appEnvironment.secrets.isEmpty {
            config["app_secrets_sha256"] = SHA256.hash(data: Array(canonical(appEnvironment.secrets).utf8)).map { String(format: "%02x", $0) }
                .joined()
        }
        return try? BuildCacheKey(
            sourceDirectory: job.source,
            buildConfig: config,
            target: job.target, toolchainVersion: settings.toolchainVersion)
    }

    private func runWithHeartbeats(_ spec: BuildSpec, jobID: Int64, clock: any SchedulerClock) async -> BuildResult {
        let interval = settings.heartbeatInterval ?? queue.configuration.leaseDuration / 3
        let queue = self.queue
        let owner = self.owner
        return await withCheckedContinuation { continuation in
            let accepted = loop.execute { [loop] in
                let processes = self.processes
                let runner = BuildRunner.start(
                    on: loop, spec: spec, clock: clock,
                    onEvent: { event in
                        if case .started(let pid) = event { processes.insert(jobID: jobID, processGroup: pid) }
                    }
                ) { result in
                    processes.remove(jobID: jobID)
                    continuation.resume(returning: result)
                }
                let beat = LoopTimer(loop: loop)
                beat.start(after: .seconds(interval), repeating: .seconds(interval)) {
                    // A short SQLite write; a lost lease or a cancel request stops the build.
                    // (A busy database is retried at the next beat; the lease outlasts three beats.)
                    do {
                        if try queue.heartbeat(jobID: jobID, owner: owner, now: clock.now()) == .cancelRequested { runner.cancel() }
                    } catch SchedulerError.leaseLost {
                        runner.cancel()
                    } catch {}
                }
                runner.onEnd = { beat.close() }
            }
            if !accepted {
                continuation.resume(returning: BuildResult(outcome: .spawnFailed("event loop stopped"), stageDurations: [:], seconds: 0, logBytes: 0))
            }
        }
    }
}

/// The process groups of running builds, by job id: what a shutdown kills when it abandons them.
public final class BuildProcessTable: Sendable {
    private let groups = Mutex<[Int64: Int32]>([:])

    public init() {}

    func insert(jobID: Int64, processGroup: Int32) { groups.withLock { $0[jobID] = processGroup } }
    func remove(jobID: Int64) { _ = groups.withLock { $0.removeValue(forKey: jobID) } }

    /// Process group ids of the builds running now.
    var all: [Int32] { groups.withLock { Array($0.values) }.sorted() }
}

import Foundation

/// One autoscaling decision as it was applied, for `wharf slots --history`.
public struct ScalingEvent: Sendable, Equatable {
    public var time: Date
    public var policy: String
    public var decision: ScalingDecision
    public var requested: [String]
    public var released: [String]
}

/// The scheduler's control loop, one `tick(now:)` at a time (the wiring calls it every few seconds
/// from a timer): rescue expired leases, pick up jobs other processes queued, ask the policy's autoscaler
/// for a slot count and apply it, then fill idle slots (the warm batch within its share cap) and run
/// each assigned job with the executor. A failed build whose failure the policy's detector has seen
/// before on the same source gets no further automatic retry. The policy is the one the simulator
/// replays (`SchedulingPolicy.adaptive()` by default).
public actor SchedulerService {
    let queue: JobQueue
    nonisolated public let executor: BuildJobExecutor
    let provider: any SlotProvider
    let rescuer: LeaseRescuer
    private var autoscaler: any Autoscaler
    private let warmCap: WarmShareCap?
    private let placement: PlacementTieBreak
    private let warmWindow: Double
    private var pool: SlotPool
    private var history: [ScalingEvent] = []
    private var builds: [Int64: (job: Job, slotID: String, warm: Bool, task: Task<Void, Never>)] = [:]
    private var lastRescue: Date?
    static let historyLimit = 1000

    /// A service running `policy`'s autoscaler, warm cap and failure memory (the queue keeps its own
    /// priority weights and retry backoff, from its configuration).
    public init(
        queue: JobQueue, executor: BuildJobExecutor, provider: any SlotProvider,
        policy: SchedulingPolicy = .adaptive(), limits: SlotLimits = .default, rescueInterval: Double = 30
    ) {
        self.queue = queue
        var executor = executor
        if executor.failures == nil { executor.failures = policy.failures }
        self.executor = executor
        self.provider = provider
        self.autoscaler = policy.autoscaler
        self.warmCap = policy.warmCap
        self.placement = policy.placement
        self.warmWindow = policy.warmWindow
        self.pool = SlotPool(limits: limits)
        self.rescuer = LeaseRescuer(queue: queue, interval: rescueInterval)
    }

    /// A service with only an autoscaler (no warm cap, no failure memory).
    init(
        queue: JobQueue, executor: BuildJobExecutor, provider: any SlotProvider,
        autoscaler: any Autoscaler, limits: SlotLimits = .default, rescueInterval: Double = 30
    ) {
        self.init(
            queue: queue, executor: executor, provider: provider,
            policy: SchedulingPolicy(name: autoscaler.name, autoscaler: autoscaler), limits: limits,
            rescueInterval: rescueInterval)
    }

    /// The autoscaling policy's name (`wharf slots`).
    var policyName: String { autoscaler.name }

    /// What one tick did.
    public struct TickReport: Sendable, Equatable {
        public var rescued: RescueReport?
        public var decision: ScalingDecision
        public var started: [Int64]
        /// Set when ready jobs have waited over `stallSeconds` and this round started none: what the
        /// queue and the slots looked like, for the log (a dispatch that stops is otherwise silent).
        public var stall: String?
    }

    /// How long a ready job may wait with nothing started before a round reports a stall.
    static let stallSeconds = 10.0

    /// Runs one round of the control loop at `now`.
    @discardableResult
    public func tick(now: Date) throws -> TickReport {
        var rescued: RescueReport?
        if lastRescue.map({ now.timeIntervalSince($0) >= rescuer.interval }) ?? true {
            rescued = try rescuer.runOnce(now: now)
            lastRescue = now
        }
        try queue.syncNewJobs(now: now)
        pool.advance(now: now)
        if pool.active < pool.limits.min {
            // Like the simulator's start: the pool begins with `min` slots before any policy runs.
            try pool.scale(to: pool.limits.min, now: now, provider: provider)
        }
        let input = AutoscalerInput(
            now: now, queue: queue.snapshot(now: now),
            running: builds.values.map { build in
                RunningBuild(
                    jobID: build.job.id, app: build.job.app, buildType: build.job.buildType, kind: build.job.kind,
                    startedAt: build.job.startedAt ?? now,
                    expectedSeconds: queue.configuration.catalog.types[build.job.buildType]?.expectedSeconds ?? 0,
                    cold: build.job.dependencyHash != nil && !build.warm)
            },
            slots: pool.slots, limits: pool.limits, provisioningDelay: provider.provisioningDelay)
        let decision = autoscaler.decide(input)
        let applied = try pool.scale(to: decision.desiredSlots, now: now, provider: provider, prefer: decision.release)
        if !applied.requested.isEmpty || !applied.released.isEmpty {
            history.append(
                ScalingEvent(
                    time: now, policy: autoscaler.name, decision: decision,
                    requested: applied.requested, released: applied.released))
            if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
        }
        let dispatcher = Dispatcher(queue: queue, owner: executor.owner, tieBreak: placement, warmWindow: warmWindow)
        let assignments: [Assignment]
        if let warmCap {
            // Warm builds running now: those started earlier plus those claimed earlier in this round.
            let warmBefore = builds.values.count { $0.job.kind == .cache_warm }
            var warmClaimed = 0
            let maxSlots = pool.limits.max
            assignments = try dispatcher.dispatch(
                pool: &pool, now: now,
                kinds: { _ in
                    warmCap.allowedKinds(runningWarm: warmBefore + warmClaimed, maxSlots: maxSlots)
                }, claimed: { job in if job.kind == .cache_warm { warmClaimed += 1 } })
        } else {
            assignments = try dispatcher.dispatch(pool: &pool, now: now)
        }
        for assignment in assignments { start(assignment) }
        var stall: String?
        if assignments.isEmpty, let wait = input.queue.oldestReadyWait, wait > Self.stallSeconds {
            let phases = Dictionary(grouping: pool.slots, by: { "\($0.phase)" }).mapValues(\.count)
            stall =
                "\(input.queue.ready) ready jobs, the oldest waiting \(Int(wait)) s, none started; slots \(phases.sorted { $0.key < $1.key }), "
                + "desired \(decision.desiredSlots), builds running here \(builds.count)"
        }
        return TickReport(rescued: rescued, decision: decision, started: assignments.map(\.job.id), stall: stall)
    }

    private func start(_ assignment: Assignment) {
        let executor = self.executor
        let job = assignment.job
        let task = Task.detached { [weak self] in
            let finished = try? await executor.execute(job)
            await self?.buildEnded(jobID: job.id, finished: finished)
        }
        builds[job.id] = (job, assignment.slotID, assignment.warm, task)
    }

    private func buildEnded(jobID: Int64, finished: Job?) {
        guard let build = builds.removeValue(forKey: jobID) else { return }
        // (A deterministic failure was already finished as `failed`, not requeued, by the executor.)
        pool.jobEnded(
            slotID: build.slotID, now: Date(),
            expectedSeconds: queue.configuration.catalog.types[build.job.buildType]?.expectedSeconds)
        if let hashes = provider.dependencyHashes(slotID: build.slotID) {
            pool.replaceDependencyHashes(slotID: build.slotID, with: hashes)
        }
    }

    /// The live slots.
    public func slots() -> [Slot] { pool.slots }

    /// Applied scaling decisions, oldest first (at most `historyLimit`).
    public func scalingHistory() -> [ScalingEvent] { history }

    /// Ids of the jobs building now.
    public func runningJobs() -> [Int64] { builds.keys.sorted() }

    /// Waits until every build started so far has ended (for shutdown and tests).
    func waitForBuilds() async {
        while let (_, build) = builds.first {
            await build.task.value
            // buildEnded runs on this actor after the task; give it its turn.
            if builds[build.job.id] != nil { await Task.yield() }
        }
    }
}

/// Everything that makes one scheduling policy, bundled so that production and the simulator run the same
/// choice: the autoscaler (slot count), the priority weights (order), the retry policy (backoff), an
/// optional gate on which kinds may start (the warm batch's share of slots), and an optional memory of
/// failures that stops retrying deterministic ones.
public struct SchedulingPolicy: Sendable {
    public var name: String
    var autoscaler: any Autoscaler
    var weights: PriorityWeights
    var retry: RetryPolicy
    public var warmCap: WarmShareCap?
    /// Shared by reference: it learns across jobs.
    var failures: DeterministicFailureDetector?
    /// Queue a user's manual rebuild as a push (the seeds had only two classes: user builds and cache warm).
    var rebuildsArePushes = false
    /// How the dispatcher picks among equally suitable idle slots (the seed: pool order).
    public var placement: PlacementTieBreak = .poolOrder
    /// Score points a job that would start warm may be ahead of a better one that would start cold
    /// (`Dispatcher.warmWindow`; 0 = strict score order).
    public var warmWindow: Double = 0

    init(
        name: String, autoscaler: any Autoscaler, weights: PriorityWeights = .default, retry: RetryPolicy = .default,
        warmCap: WarmShareCap? = nil, failures: DeterministicFailureDetector? = nil
    ) {
        self.name = name
        self.autoscaler = autoscaler
        self.weights = weights
        self.retry = retry
        self.warmCap = warmCap
        self.failures = failures
    }

    /// The seeds' behaviour, kept as the baseline: the seed autoscaling rule, the seed comparator (user
    /// builds, pushes and rebuilds alike, before cache warming; first come first served within each by
    /// first queue time, so an automatic retry keeps its place), immediate blind retries (no backoff, no
    /// failure memory), no warm cap. Encoded as weights: only `kind` counts, and equal scores fall back
    /// to the queue's tie-break, earlier `queuedAt` first.
    public static func seed() -> SchedulingPolicy {
        var policy = SchedulingPolicy(
            name: "seed", autoscaler: SeedAutoscaler(),
            weights: PriorityWeights(agePerHour: 0, kind: 1000, hint: 0, popularity: 0, cost: 0, fairShare: 0, attempts: 0),
            retry: RetryPolicy(maxRetries: 3, baseDelay: 0, multiplier: 1, maxDelay: 0))
        policy.rebuildsArePushes = true
        return policy
    }

    /// The adaptive policy's warm-first window: 200 score points, less than the 250 between hint classes
    /// (release, normal, low) and between a push and a manual rebuild, so it cannot by itself lift a job
    /// over a whole class. Measured (`wharf simulate --warm-window`): dev-seed3 cold 56.5% -> 54.8%, p99 153.2 ->
    /// 148.1 s; a 1.5x heavier trace p95 69.7 -> 58.0 s, p99 281.6 -> 201.2 s.
    public static let defaultWarmWindow = 200.0

    /// Names `policy(named:)` accepts.
    public static let names = ["seed", "adaptive"]

    /// The policy called `name` (`seed` or `adaptive`), or nil.
    public static func named(_ name: String) -> SchedulingPolicy? {
        switch name {
        case "seed", "seed_rule": seed()
        case "adaptive", "default": adaptive()
        default: nil
        }
    }
}

extension SchedulingPolicy {
    /// The default policy: `AdaptiveAutoscaler`, the default priority weights (kind, hint, popularity,
    /// cost, fair share, retries, and age so nothing starves), retries with backoff, the warm batch capped
    /// at the autoscaler's warm share (30% of the maximum slots by default), no automatic retry of a
    /// failure already seen on the same source, and affinity placement (a cold build goes to its
    /// dependency hash's preferred idle slot, `SlotAffinity`), and a warm-first window: when the best
    /// job would start cold everywhere, one within `warmWindow` score points that an idle slot has the
    /// dependencies of goes first (`Dispatcher.warmWindow`).
    public static func adaptive(
        settings: AdaptiveAutoscaler.Settings = .init(), weights: PriorityWeights = .default,
        warmWindow: Double = defaultWarmWindow
    ) -> SchedulingPolicy {
        var policy = SchedulingPolicy(
            name: "adaptive", autoscaler: AdaptiveAutoscaler(settings: settings), weights: weights, retry: .default,
            warmCap: settings.warmCap, failures: DeterministicFailureDetector())
        policy.placement = .affinity
        policy.warmWindow = warmWindow
        return policy
    }
}

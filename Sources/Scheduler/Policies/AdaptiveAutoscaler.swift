import Foundation

/// The default autoscaling policy. Each tick it works out:
///
/// - **shortfall**: queued work (ready user builds, retries backing off, warm builds within the warm cap)
///   that no slot will take within the provisioning delay, counting idle slots, slots still provisioning
///   and running builds expected to end before a new slot would be ready (expected remaining time is
///   learned per app and build type). A shortfall is requested at once, so a build waits at most about
///   one provisioning delay for a new slot;
/// - **demand**: builds running plus queued (warm builds only up to the cap), with a little headroom that
///   grows with the square root of the recent load (a moving average), so a busy pool keeps a spare slot;
/// - **stabilised target**: the highest demand seen over the last `holdWindow` seconds. Slots are released
///   only down to it, all surplus in one step, and not within `holdWindow` of the last scale-up: slots
///   (and their dependency caches) are kept through short lulls instead of being churned.
///
/// Every decision carries its reason (`wharf slots --history`).
public struct AdaptiveAutoscaler: Autoscaler {
    public struct Settings: Sendable, Equatable {
        /// Seconds of demand history the scale-down looks at (and the quiet time after a scale-up).
        public var holdWindow: Double
        /// Idle headroom = ceil(headroomFactor × √load) while the load is at least `headroomMinLoad`.
        public var headroomFactor: Double
        public var headroomMinLoad: Double
        /// Time constant of the load moving average (seconds).
        public var loadTimeConstant: Double
        /// Share of `limits.max` the warm batch may occupy.
        public var warmCap: WarmShareCap

        public init(holdWindow: Double = 900, headroomFactor: Double = 0.5, headroomMinLoad: Double = 0.5,
                    loadTimeConstant: Double = 1200, warmCap: WarmShareCap = WarmShareCap()) {
            self.holdWindow = holdWindow
            self.headroomFactor = headroomFactor
            self.headroomMinLoad = headroomMinLoad
            self.loadTimeConstant = loadTimeConstant
            self.warmCap = warmCap
        }
    }

    public let name = "adaptive"
    public var settings: Settings
    public private(set) var durations = DurationEstimator()
    /// Smoothed user load (running + queued user builds).
    public private(set) var load = 0.0
    private var seen: [Int64: RunningBuild] = [:]
    private var demandHistory: [(time: Date, target: Int)] = []
    private var lastTick: Date?
    private var lastScaleUp: Date?

    public init(settings: Settings = Settings()) { self.settings = settings }

    public mutating func decide(_ input: AutoscalerInput) -> ScalingDecision {
        learn(from: input)
        let limits = input.limits
        let now = input.now
        let q = input.queue
        let warmReady = q.readyByKind[.cache_warm] ?? 0
        let warmRunning = input.running.count { $0.kind == .cache_warm }
        let userReady = q.ready - warmReady
        let userRunning = input.running.count - warmRunning
        let warmLimit = settings.warmCap.limit(maxSlots: limits.max)
        let warmWanted = min(warmRunning + warmReady, warmLimit)
        let warmStartable = max(0, warmWanted - warmRunning)

        // Load: a moving average of user work, for the headroom.
        let userLoad = Double(userRunning + userReady + q.delayed)
        if let last = lastTick {
            let dt = max(0, now.timeIntervalSince(last))
            let a = 1 - exp(-dt / settings.loadTimeConstant)
            load += a * (userLoad - load)
        } else {
            load = userLoad
        }
        lastTick = now
        let headroom = load >= settings.headroomMinLoad ? Int((settings.headroomFactor * load.squareRoot()).rounded(.up)) : 0

        // Shortfall: queued work nothing will pick up within the provisioning delay.
        let idle = input.slots.count { $0.phase == .idle }
        let provisioning = input.slots.count { $0.phase == .provisioning }
        let soonFree = input.running.count { build in
            let elapsed = now.timeIntervalSince(build.startedAt)
            let left = durations.remaining(app: build.app, buildType: build.buildType, elapsed: elapsed,
                                           fallback: build.expectedSeconds)
            return left <= input.provisioningDelay
        }
        let waiting = userReady + q.delayed + warmStartable
        let shortfall = max(0, waiting - idle - provisioning - soonFree)

        let demand = userRunning + userReady + q.delayed + warmWanted
        let target = limits.clamp(demand + headroom)
        demandHistory.append((now, target))
        demandHistory.removeAll { now.timeIntervalSince($0.time) > settings.holdWindow }
        let stabilised = limits.clamp(demandHistory.map(\.target).max() ?? target)

        let active = input.active
        if active < limits.min { return ScalingDecision(desiredSlots: limits.min, reason: "below min \(limits.min)") }
        if active > limits.max { return ScalingDecision(desiredSlots: limits.max, reason: "above max \(limits.max)") }

        let upTo = limits.clamp(max(active + shortfall, target))
        if upTo > active {
            lastScaleUp = now
            let why = shortfall > 0
                ? "\(waiting) queued (\(userReady) user, \(q.delayed) retrying, \(warmStartable) warm within cap \(warmLimit)); "
                    + "\(idle) idle, \(provisioning) provisioning, \(soonFree) ending within \(Int(input.provisioningDelay)) s: add \(upTo - active)"
                : "demand \(demand) + headroom \(headroom) (load \(String(format: "%.2f", load))) > \(active) slots: add \(upTo - active)"
            return ScalingDecision(desiredSlots: upTo, reason: why)
        }
        let quiet = lastScaleUp.map { now.timeIntervalSince($0) >= settings.holdWindow } ?? true
        if active > stabilised, quiet, waiting == 0 {
            return ScalingDecision(
                desiredSlots: stabilised,
                reason: "highest demand over \(Int(settings.holdWindow)) s is \(stabilised) (now \(demand) + headroom \(headroom)): release \(active - stabilised)")
        }
        return ScalingDecision(desiredSlots: active, reason: "hold: demand \(demand) + headroom \(headroom), window peak \(stabilised), \(active) slots")
    }

    /// Learns durations from builds that were running at the previous tick and are gone now.
    private mutating func learn(from input: AutoscalerInput) {
        var current: [Int64: RunningBuild] = [:]
        for build in input.running { current[build.jobID] = build }
        for (id, build) in seen {
            if let still = current[id], still.startedAt == build.startedAt { continue }
            durations.record(app: build.app, buildType: build.buildType, seconds: input.now.timeIntervalSince(build.startedAt))
        }
        seen = current
    }
}

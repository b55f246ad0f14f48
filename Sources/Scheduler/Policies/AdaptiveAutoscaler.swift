import Foundation

/// The default autoscaling policy. Each tick it works out:
///
/// - **shortfall**: queued work (ready user builds, retries backing off, warm builds within the warm cap)
///   that no slot will take within the provisioning delay, counting idle slots, slots still provisioning
///   and running builds expected to end before a new slot would be ready (expected remaining time is
///   learned per app and build type). A shortfall is requested at once, in one step, with a little padding
///   that grows with the square root of the recent load, so a build waits at most about one provisioning
///   delay for a new slot and a burst does not trigger one scale-up per build;
/// - **floor**: the slots the recent load needs (a moving average of running plus queued user builds,
///   plus warm builds within the cap);
/// - **release**: only slots idle for `idleTimeout` are released, only down to the floor, all in one step,
///   and never within `quietPeriod` of the previous scale event: slots, and their dependency caches, are
///   kept through short lulls instead of being churned.
///
/// Every decision carries its reason (`wharf slots --history`).
public struct AdaptiveAutoscaler: Autoscaler {
    public struct Settings: Sendable, Equatable {
        /// A slot idle this long (seconds) may be released.
        public var idleTimeout: Double
        /// No release within this many seconds of the previous scale-up or release.
        public var quietPeriod: Double
        /// Extra slots on a scale-up: padFactor × √load, rounded down.
        public var padFactor: Double
        /// The floor is ceil(floorFactor × load) + warm builds within the cap.
        public var floorFactor: Double
        /// Time constant of the load moving average (seconds).
        public var loadTimeConstant: Double
        /// Share of `limits.max` the warm batch may occupy.
        public var warmCap: WarmShareCap

        public init(idleTimeout: Double = 600, quietPeriod: Double = 900, padFactor: Double = 0, floorFactor: Double = 1,
                    loadTimeConstant: Double = 1200, warmCap: WarmShareCap = WarmShareCap()) {
            self.idleTimeout = idleTimeout
            self.quietPeriod = quietPeriod
            self.padFactor = padFactor
            self.floorFactor = floorFactor
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
    private var lastTick: Date?
    private var lastScaleUp: Date?
    private var lastRelease: Date?

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

        let userLoad = Double(userRunning + userReady + q.delayed)
        if let last = lastTick {
            let dt = max(0, now.timeIntervalSince(last))
            load += (1 - exp(-dt / settings.loadTimeConstant)) * (userLoad - load)
        } else {
            load = userLoad
        }
        lastTick = now

        let active = input.active
        if active < limits.min { return ScalingDecision(desiredSlots: limits.min, reason: "below min \(limits.min)") }
        if active > limits.max { return ScalingDecision(desiredSlots: limits.max, reason: "above max \(limits.max)") }

        // Shortfall: queued work nothing will pick up within the provisioning delay.
        let idle = input.slots.filter { $0.phase == .idle }
        let provisioning = input.slots.count { $0.phase == .provisioning }
        let soonFree = input.running.count { build in
            let left = durations.remaining(app: build.app, buildType: build.buildType,
                                           elapsed: now.timeIntervalSince(build.startedAt), fallback: build.expectedSeconds)
            return left <= input.provisioningDelay
        }
        let waiting = userReady + q.delayed + warmStartable
        let shortfall = max(0, waiting - idle.count - provisioning - soonFree)
        if shortfall > 0, active < limits.max {
            let pad = Int(settings.padFactor * max(0, load).squareRoot())
            let target = limits.clamp(active + shortfall + pad)
            lastScaleUp = now
            return ScalingDecision(
                desiredSlots: target,
                reason: "\(waiting) queued (\(userReady) user, \(q.delayed) retrying, \(warmStartable) warm within cap \(warmLimit)); "
                    + "\(idle.count) idle, \(provisioning) provisioning, \(soonFree) ending within \(Int(input.provisioningDelay)) s: "
                    + "add \(target - active)" + (pad > 0 ? " (\(pad) for load \(String(format: "%.1f", load)))" : ""))
        }

        let floor = limits.clamp(Int((settings.floorFactor * load).rounded(.up)) + warmWanted)
        let quiet = [lastScaleUp, lastRelease].allSatisfy { last in
            last.map { now.timeIntervalSince($0) >= settings.quietPeriod } ?? true
        }
        if active > floor, waiting == 0, quiet {
            let stale = idle.count { slot in now.timeIntervalSince(slot.idleSince ?? slot.readyAt) >= settings.idleTimeout }
            let release = min(stale, active - floor)
            if release > 0 {
                lastRelease = now
                return ScalingDecision(
                    desiredSlots: active - release,
                    reason: "\(stale) slots idle ≥ \(Int(settings.idleTimeout)) s, load \(String(format: "%.1f", load)) "
                        + "needs \(floor): release \(release)")
            }
        }
        return ScalingDecision(desiredSlots: active,
                               reason: "hold: \(waiting) waiting, load \(String(format: "%.1f", load)), floor \(floor), \(active) slots")
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

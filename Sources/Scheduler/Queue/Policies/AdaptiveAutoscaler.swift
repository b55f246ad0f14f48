import Foundation

/// The default autoscaling policy. Each tick it works out:
///
/// - **user shortfall**: queued user work (ready builds and retries backing off) that no slot will take
///   within the provisioning delay, counting idle slots, slots still provisioning, and running builds
///   expected to end within half the provisioning delay (`soonFreeShare`: an estimate that errs should
///   not leave a push waiting longer than a new slot would have). Expected time is learned per app and
///   build type from warm attempts, plus the type's learned cold penalty for a build that started on a
///   slot without its dependencies.
///   The shortfall is requested at once, in one step, so a build waits about one provisioning delay at
///   most for a new slot, and a burst does not cause one scale-up per build;
/// - **warm batch**: background cache-warm builds never scale the pool up on their own while the batch
///   will finish before its deadline (07:00 by default, with a margin) on the slots it may use; only when
///   the queued warm work, at the learned warm build duration, would overrun it does the pool grow, and
///   never beyond the warm share cap. So the nightly batch trickles through the slots kept anyway;
/// - **core**: a slow moving average of slots busy with user builds (time constant about an hour; the
///   warm batch does not count: it says nothing about the pushes to come). Slots above the core
///   are bursts: released after `burstIdleTimeout`. Core slots hold their dependency caches through
///   lulls and are released only after `coreIdleTimeout`;
/// - **release**: all due slots in one step, the least valuable first (fewest dependency hashes no other
///   slot has, then idle longest), never while user work waits, never within `quietPeriod` of the
///   previous scale event.
///
/// Every decision carries its reason (`wharf slots --history`).
public struct AdaptiveAutoscaler: Autoscaler {
    public struct Settings: Sendable, Equatable {
        /// A slot above the core idle this long (seconds) may be released.
        public var burstIdleTimeout: Double
        /// A core slot idle this long (seconds) may be released.
        public var coreIdleTimeout: Double
        /// No release within this many seconds of the previous scale-up or release.
        public var quietPeriod: Double
        /// Extra slots on a scale-up: padFactor × √(busy average), rounded down.
        public var padFactor: Double
        /// The core is ceil(coreFactor × busy average).
        public var coreFactor: Double
        /// Time constant of the busy-slot moving average (seconds).
        public var coreTimeConstant: Double
        /// Share of `limits.max` the warm batch may occupy.
        public var warmCap: WarmShareCap
        /// Warm builds should be done by this many seconds after (local) midnight.
        public var warmDeadline: Double
        /// Safety margin (seconds) before the warm deadline the batch should be done by.
        public var warmMargin: Double
        /// Local time = UTC + this many seconds (the simulator's clock is local already: 0).
        public var utcOffset: Double
        /// A running build counts as freeing its slot for queued work when it is expected to end within
        /// this share of the provisioning delay (estimates err, and an overrun costs the waiting build).
        public var soonFreeShare: Double = 0.5

        public init(
            burstIdleTimeout: Double = 60, coreIdleTimeout: Double = 3600, quietPeriod: Double = 300,
            padFactor: Double = 0, coreFactor: Double = 1.5, coreTimeConstant: Double = 3600,
            warmCap: WarmShareCap = WarmShareCap(share: 0.3), warmDeadline: Double = 7 * 3600,
            warmMargin: Double = 3600, utcOffset: Double = 0
        ) {
            self.burstIdleTimeout = burstIdleTimeout
            self.coreIdleTimeout = coreIdleTimeout
            self.quietPeriod = quietPeriod
            self.padFactor = padFactor
            self.coreFactor = coreFactor
            self.coreTimeConstant = coreTimeConstant
            self.warmCap = warmCap
            self.warmDeadline = warmDeadline
            self.warmMargin = warmMargin
            self.utcOffset = utcOffset
        }
    }

    public let name = "adaptive"
    var settings: Settings
    private(set) var durations = DurationEstimator()
    /// Smoothed count of slots busy with user builds (the core the pool keeps through lulls).
    private(set) var busyAverage = 0.0
    /// Learned duration of one cache-warm build (moving average), nil until one ended.
    private(set) var warmBuildSeconds: Double?
    private var seen: [Int64: RunningBuild] = [:]
    private var lastTick: Date?
    private var lastEvent: Date?

    init(settings: Settings = Settings()) { self.settings = settings }

    public mutating func decide(_ input: AutoscalerInput) -> ScalingDecision {
        learn(from: input)
        let limits = input.limits
        let now = input.now
        let q = input.queue
        // User builds only: the nightly warm batch says nothing about the pushes to come.
        let busy = input.running.count { $0.kind != .cache_warm }
        if let last = lastTick {
            let dt = max(0, now.timeIntervalSince(last))
            busyAverage += (1 - exp(-dt / max(1, settings.coreTimeConstant))) * (Double(busy) - busyAverage)
        } else {
            busyAverage = Double(busy)
        }
        lastTick = now

        let active = input.active
        if active < limits.min { return record(ScalingDecision(desiredSlots: limits.min, reason: "below min \(limits.min)"), now) }
        if active > limits.max { return record(ScalingDecision(desiredSlots: limits.max, reason: "above max \(limits.max)"), now) }

        let warmReady = q.readyByKind[.cache_warm] ?? 0
        let warmRunning = input.running.count { $0.kind == .cache_warm }
        let userWaiting = q.ready - warmReady + q.delayed
        let idle = input.slots.filter { $0.phase == .idle }
        let provisioning = input.slots.count { $0.phase == .provisioning }
        let soonFree = input.running.count { build in
            let left = durations.remaining(
                app: build.app, buildType: build.buildType,
                elapsed: now.timeIntervalSince(build.startedAt), fallback: build.expectedSeconds,
                cold: build.cold)
            return left <= settings.soonFreeShare * input.provisioningDelay
        }

        // User work nothing will take within the provisioning delay.
        let userShortfall = max(0, userWaiting - idle.count - provisioning - soonFree)
        // Warm work: slots it needs to be done before the deadline, beyond those it has or may take.
        let warm = warmNeed(input: input, ready: warmReady, running: warmRunning)
        let spare = max(0, idle.count + provisioning - userWaiting)
        let warmShortfall = max(0, warm.slots - warmRunning - spare)
        let shortfall = userShortfall + warmShortfall
        if shortfall > 0, active < limits.max {
            let pad = userShortfall > 0 ? Int(settings.padFactor * max(0, busyAverage).squareRoot()) : 0
            let target = limits.clamp(active + shortfall + pad)
            var reason =
                "\(userWaiting) user builds queued; \(idle.count) idle, \(provisioning) provisioning, "
                + "\(soonFree) ending within \(Int(input.provisioningDelay)) s"
            if warmShortfall > 0 { reason += "; \(warm.explanation)" }
            reason += ": add \(target - active)" + (pad > 0 ? " (\(pad) headroom)" : "")
            return record(ScalingDecision(desiredSlots: target, reason: reason), now)
        }

        let core = limits.clamp(max(Int((settings.coreFactor * busyAverage - 1e-9).rounded(.up)), warmReady > 0 ? warm.slots : 0))
        let quiet = lastEvent.map { now.timeIntervalSince($0) >= settings.quietPeriod } ?? true
        if userWaiting == 0, quiet, active > limits.min {
            var count = active
            var releasing: [Slot] = []
            for slot in Self.releaseOrder(idle, among: input.slots) where count > limits.min {
                let limit = count > core ? settings.burstIdleTimeout : settings.coreIdleTimeout
                if now.timeIntervalSince(slot.idleSince ?? slot.readyAt) >= limit {
                    releasing.append(slot)
                    count -= 1
                }
            }
            if !releasing.isEmpty {
                let f = { (x: Double) in String(format: "%.1f", x) }
                return record(
                    ScalingDecision(
                        desiredSlots: count,
                        reason: "no user build queued; busy average \(f(busyAverage)) keeps a core of \(core); release "
                            + "\(releasing.count) idle ≥ \(Int(settings.burstIdleTimeout)) s above the core"
                            + " / ≥ \(Int(settings.coreIdleTimeout)) s within it",
                        release: releasing.map(\.id)), now)
            }
        }
        return ScalingDecision(
            desiredSlots: active,
            reason: "hold: \(userWaiting) user and \(warmReady) warm queued, core \(core), \(active) slots")
    }

    /// Idle slots in the order they should go: fewest dependency hashes no other live slot has (the
    /// cache least worth keeping), then idle longest, then pool order.
    static func releaseOrder(_ idle: [Slot], among all: [Slot]) -> [Slot] {
        func unique(_ slot: Slot) -> Int {
            slot.dependencyCache.hashes.count { hash in
                !all.contains { $0.id != slot.id && $0.dependencyCache.contains(hash) }
            }
        }
        return idle.enumerated().map { (offset: $0.offset, slot: $0.element, value: unique($0.element)) }
            .sorted { a, b in
                if a.value != b.value { return a.value < b.value }
                let (x, y) = (a.slot.idleSince ?? a.slot.readyAt, b.slot.idleSince ?? b.slot.readyAt)
                return x != y ? x < y : a.offset < b.offset
            }.map(\.slot)
    }

    /// Slots the queued warm work needs to finish `warmMargin` before the next warm deadline, capped.
    private func warmNeed(input: AutoscalerInput, ready: Int, running: Int) -> (slots: Int, explanation: String) {
        guard ready > 0 else { return (0, "") }
        let cap = settings.warmCap.limit(maxSlots: input.limits.max)
        let each = warmBuildSeconds ?? input.running.map(\.expectedSeconds).max() ?? 300
        let work = Double(ready) * each
        let local = input.now.timeIntervalSince1970 + settings.utcOffset
        let midnight = (local / 86_400).rounded(.down) * 86_400
        var deadline = midnight + settings.warmDeadline
        if deadline <= local { deadline += 86_400 }
        let left = deadline - settings.warmMargin - local
        let needed = left <= 0 ? cap : min(cap, max(1, Int((work / left).rounded(.up))))
        return (
            needed,
            "\(ready) warm builds (~\(Int(work)) s of work) need \(needed) slots to end "
                + "\(Int(settings.warmMargin / 60)) min before the deadline (cap \(cap))"
        )
    }

    private mutating func record(_ decision: ScalingDecision, _ now: Date) -> ScalingDecision {
        lastEvent = now
        return decision
    }

    /// Learns durations from builds that were running at the previous tick and are gone now.
    private mutating func learn(from input: AutoscalerInput) {
        var current: [Int64: RunningBuild] = [:]
        for build in input.running { current[build.jobID] = build }
        // In job order: the type averages depend on the order samples arrive, and replays must be exact.
        for (id, build) in seen.sorted(by: { $0.key < $1.key }) {
            if let still = current[id], still.startedAt == build.startedAt { continue }
            let seconds = input.now.timeIntervalSince(build.startedAt)
            durations.record(app: build.app, buildType: build.buildType, seconds: seconds, cold: build.cold)
            if build.kind == .cache_warm, seconds > 0 {
                warmBuildSeconds = warmBuildSeconds.map { $0 + 0.2 * (seconds - $0) } ?? seconds
            }
        }
        seen = current
    }
}

import Foundation

/// A running build as the autoscaler sees it.
struct RunningBuild: Sendable, Equatable {
    public var jobID: Int64
    public var app: String
    public var buildType: String
    public var kind: JobKind
    var startedAt: Date
    /// How long this build is expected to take in all (learned or from the build type).
    var expectedSeconds: Double
    /// It started on a slot without its dependency hash installed (it installs them first: longer).
    var cold: Bool

    init(
        jobID: Int64, app: String, buildType: String, kind: JobKind, startedAt: Date, expectedSeconds: Double,
        cold: Bool = false
    ) {
        self.jobID = jobID
        self.app = app
        self.buildType = buildType
        self.kind = kind
        self.startedAt = startedAt
        self.expectedSeconds = expectedSeconds
        self.cold = cold
    }
}

/// Everything an autoscaling policy may look at. Time comes in as `now`: the same policy runs under the
/// system clock in production and under the simulator's virtual clock.
public struct AutoscalerInput: Sendable {
    public var now: Date
    var queue: QueueSnapshot
    var running: [RunningBuild]
    public var slots: [Slot]
    public var limits: SlotLimits
    /// Seconds a newly requested slot takes to become usable.
    var provisioningDelay: Double

    init(
        now: Date, queue: QueueSnapshot, running: [RunningBuild], slots: [Slot], limits: SlotLimits,
        provisioningDelay: Double
    ) {
        self.now = now
        self.queue = queue
        self.running = running
        self.slots = slots
        self.limits = limits
        self.provisioningDelay = provisioningDelay
    }

    /// Slots requested and not released.
    var active: Int { slots.count }
    /// Queued jobs, ready or backing off.
    var queued: Int { queue.ready + queue.delayed }
}

/// A policy's answer: how many slots there should be, and why (logged for `wharf slots --history`).
/// `release` names the idle slots to give back first when shrinking (the pool's own order otherwise).
public struct ScalingDecision: Sendable, Equatable {
    public var desiredSlots: Int
    public var reason: String
    var release: [String]

    init(desiredSlots: Int, reason: String, release: [String] = []) {
        self.desiredSlots = desiredSlots
        self.reason = reason
        self.release = release
    }
}

/// A pluggable autoscaling policy: observations in, desired slot count out. It may keep state (windows,
/// learned durations) across calls, hence `mutating`; it never touches slots itself — `SlotPool.scale`
/// applies the decision and never releases a busy slot.
public protocol Autoscaler: Sendable {
    var name: String { get }
    mutating func decide(_ input: AutoscalerInput) -> ScalingDecision
}

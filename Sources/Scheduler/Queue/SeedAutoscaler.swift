/// The seeds' rule, kept as the baseline to beat: when queued > 2 × active and active < max, add
/// min(queued − active, max − active) slots; when the queue is empty and active > min, remove one.
/// "active" counts every slot requested and not released (provisioning ones too); "queued" counts
/// ready and backing-off jobs. Stateless, so replays are exact.
struct SeedAutoscaler: Autoscaler {
    public let name = "seed"

    public init() {}

    public mutating func decide(_ input: AutoscalerInput) -> ScalingDecision {
        let queued = input.queued
        let active = input.active
        let limits = input.limits
        if active < limits.min {
            return ScalingDecision(desiredSlots: limits.min, reason: "below min \(limits.min)")
        }
        if active > limits.max {
            return ScalingDecision(desiredSlots: limits.max, reason: "above max \(limits.max)")
        }
        if queued > 2 * active, active < limits.max {
            let add = min(queued - active, limits.max - active)
            return ScalingDecision(
                desiredSlots: active + add,
                reason: "queued \(queued) > 2 × active \(active): add \(add)")
        }
        if queued == 0, active > limits.min {
            return ScalingDecision(desiredSlots: active - 1, reason: "queue empty, active \(active) > min \(limits.min): remove one")
        }
        return ScalingDecision(desiredSlots: active, reason: "hold: queued \(queued), active \(active)")
    }
}

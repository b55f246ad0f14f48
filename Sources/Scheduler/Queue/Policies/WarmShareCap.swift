/// Caps how many slots background cache-warm builds may hold at once, so the nightly batch (the largest
/// single burst) never fills every slot and a user push arriving at 02:05 finds room. The cap is a share
/// of the pool's maximum, at least one slot, so the batch always progresses.
public struct WarmShareCap: Sendable, Equatable {
    /// Share of `limits.max` that cache-warm builds may occupy (0...1).
    public var share: Double

    public init(share: Double = 0.5) { self.share = min(1, max(0, share)) }

    /// Most cache-warm builds that may run at once in a pool of at most `maxSlots`.
    func limit(maxSlots: Int) -> Int { max(1, Int((share * Double(maxSlots)).rounded(.down))) }

    /// Kinds that may start now: everything, or everything but `cache_warm` once the cap is reached.
    func allowedKinds(runningWarm: Int, maxSlots: Int) -> Set<JobKind>? {
        runningWarm < limit(maxSlots: maxSlots) ? nil : Set(JobKind.allCases).subtracting([.cache_warm])
    }
}

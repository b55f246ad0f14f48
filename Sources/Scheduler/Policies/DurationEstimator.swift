/// Learns how long builds take, per app and build type, from the attempts it sees end. A new app falls
/// back to its build type's average, and a new type to the caller's default (the catalog's figure).
/// Moving averages (weight `alpha` for the newest sample) follow drift without keeping history.
public struct DurationEstimator: Sendable, Equatable {
    public var alpha: Double
    private var byAppAndType: [String: Double] = [:]
    private var byType: [String: Double] = [:]
    /// Bounds memory: past this many app+type pairs, new pairs use the type average only.
    public var capacity: Int

    public init(alpha: Double = 0.3, capacity: Int = 50_000) {
        self.alpha = min(1, max(0.01, alpha))
        self.capacity = capacity
    }

    /// Records one observed attempt duration.
    public mutating func record(app: String, buildType: String, seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        let key = app + "\u{1F}" + buildType
        if let old = byAppAndType[key] {
            byAppAndType[key] = old + alpha * (seconds - old)
        } else if byAppAndType.count < capacity {
            byAppAndType[key] = seconds
        }
        let typeAlpha = alpha / 3
        byType[buildType] = byType[buildType].map { $0 + typeAlpha * (seconds - $0) } ?? seconds
    }

    /// Expected duration of a build of `app` and `buildType` (`fallback` when nothing was learned).
    public func expected(app: String, buildType: String, fallback: Double) -> Double {
        byAppAndType[app + "\u{1F}" + buildType] ?? byType[buildType] ?? fallback
    }

    /// Expected seconds left for a build that has run `elapsed` seconds: what the estimate says is left,
    /// but never less than a fifth of the estimate. A build past its estimate is late, not about to end:
    /// build times are long-tailed, so it is expected to run on for three quarters of its age again.
    public func remaining(app: String, buildType: String, elapsed: Double, fallback: Double) -> Double {
        let total = expected(app: app, buildType: buildType, fallback: fallback)
        if elapsed >= total { return max(0.2 * total, 0.75 * elapsed) }
        return max(total - elapsed, 0.2 * total)
    }
}

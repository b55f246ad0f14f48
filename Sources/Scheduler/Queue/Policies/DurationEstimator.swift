/// Learns how long builds take, per app and build type, from the attempts it sees end. A new app falls
/// back to its build type's average, and a new type to the caller's default (the catalog's figure).
/// Moving averages (weight `alpha` for the newest sample) follow drift without keeping history.
/// Warm and cold attempts are told apart: a build on a slot without its dependencies installed first
/// installs them, so the per-app figures learn from warm attempts, and each build type learns its cold
/// penalty (cold attempt − the app's warm estimate) on the side.
struct DurationEstimator: Sendable, Equatable {
    var alpha: Double
    private var byAppAndType: [String: Double] = [:]
    private var byType: [String: Double] = [:]
    private var coldExtraByType: [String: Double] = [:]
    /// Bounds memory: past this many app+type pairs, new pairs use the type average only.
    var capacity: Int

    init(alpha: Double = 0.3, capacity: Int = 50_000) {
        self.alpha = min(1, max(0.01, alpha))
        self.capacity = capacity
    }

    /// Records one observed attempt duration; a `cold` attempt (dependencies not installed on its slot)
    /// teaches the build type's cold penalty instead of the app's warm duration.
    mutating func record(app: String, buildType: String, seconds: Double, cold: Bool = false) {
        guard seconds.isFinite, seconds > 0 else { return }
        if cold, let warm = byAppAndType[app + "\u{1F}" + buildType] ?? byType[buildType] {
            let extra = max(0, seconds - warm)
            coldExtraByType[buildType] = coldExtraByType[buildType].map { $0 + alpha / 3 * (extra - $0) } ?? extra
            return
        }
        let key = app + "\u{1F}" + buildType
        if let old = byAppAndType[key] {
            byAppAndType[key] = old + alpha * (seconds - old)
        } else if byAppAndType.count < capacity {
            byAppAndType[key] = seconds
        }
        let typeAlpha = alpha / 3
        byType[buildType] = byType[buildType].map { $0 + typeAlpha * (seconds - $0) } ?? seconds
    }

    /// Expected duration of a build of `app` and `buildType` (`fallback` when nothing was learned); a
    /// `cold` one adds the type's learned cold penalty.
    func expected(app: String, buildType: String, fallback: Double, cold: Bool = false) -> Double {
        let warm = byAppAndType[app + "\u{1F}" + buildType] ?? byType[buildType] ?? fallback
        return cold ? warm + coldPenalty(buildType: buildType) : warm
    }

    /// Learned extra seconds of a cold attempt of `buildType` (0 until one was seen).
    func coldPenalty(buildType: String) -> Double { coldExtraByType[buildType] ?? 0 }

    /// Expected seconds left for a build that has run `elapsed` seconds: what the estimate says is left,
    /// but never less than a fifth of the estimate. A build past its estimate is late, not about to end:
    /// build times are long-tailed, so it is expected to run on for three quarters of its age again.
    func remaining(app: String, buildType: String, elapsed: Double, fallback: Double, cold: Bool = false) -> Double {
        let total = expected(app: app, buildType: buildType, fallback: fallback, cold: cold)
        if elapsed >= total { return max(0.2 * total, 0.75 * elapsed) }
        return max(total - elapsed, 0.2 * total)
    }
}

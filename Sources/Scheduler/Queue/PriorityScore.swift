import Foundation

/// Weights of the priority score's factors (Slurm multifactor style). Each factor is a number in 0...1
/// (age alone grows without bound), multiplied by its weight; the job with the highest sum runs first.
///
/// Defaults and what they mean:
/// - `agePerHour` 600: a job gains 10 points per minute it waits while eligible, without limit, so every
///   job eventually outranks fresh work: the other factors sum to at most 2,400, so four hours of waiting
///   beat any newcomer; a cache-warm job outranks a fresh normal user push after at most ~2.9 h.
/// - `kind` 1,000: user push 1.0, manual 0.75, retry 0.5, cache warm 0.
/// - `hint` 500: release 1.0, normal 0.5, low (draft, bot) 0.
/// - `popularity` 200: the app's popularity in 0...1 (decayed edge access counts; 0 when unknown).
/// - `cost` 200: 1 − expected duration / longest expected duration: cheap builds go first.
/// - `fairShare` 300: 1 / (1 + n), n = other queued or running jobs of the same fair-share group: the
///   job's owner when it has one (a user, a bot), else its app.
/// - `attempts` 200: 1 / (1 + attempts so far): retries yield to first attempts.
public struct PriorityWeights: Sendable, Equatable, Codable {
    public var agePerHour: Double
    public var kind: Double
    public var hint: Double
    public var popularity: Double
    public var cost: Double
    public var fairShare: Double
    public var attempts: Double

    init(
        agePerHour: Double = 600, kind: Double = 1000, hint: Double = 500, popularity: Double = 200,
        cost: Double = 200, fairShare: Double = 300, attempts: Double = 200
    ) {
        self.agePerHour = agePerHour
        self.kind = kind
        self.hint = hint
        self.popularity = popularity
        self.cost = cost
        self.fairShare = fairShare
        self.attempts = attempts
    }

    public static let `default` = PriorityWeights()

    /// Refuses negative or non-finite weights (a negative age weight would starve old jobs).
    public func validate() throws(SchedulerError) {
        let all = [agePerHour, kind, hint, popularity, cost, fairShare, attempts]
        guard all.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .invalidConfiguration("priority weights must be finite and ≥ 0")
        }
    }
}

/// Everything the score of one queued job depends on.
public struct ScoreInputs: Sendable, Equatable {
    public var kind: JobKind
    public var hint: PriorityHint
    var secondsWaiting: Double
    public var popularity: Double
    var expectedSeconds: Double
    /// Other queued or running jobs of the same fair-share group (the owner, else the app).
    var othersActive: Int
    var previousAttempts: Int

    init(
        kind: JobKind, hint: PriorityHint, secondsWaiting: Double, popularity: Double,
        expectedSeconds: Double, othersActive: Int, previousAttempts: Int
    ) {
        self.kind = kind
        self.hint = hint
        self.secondsWaiting = secondsWaiting
        self.popularity = popularity
        self.expectedSeconds = expectedSeconds
        self.othersActive = othersActive
        self.previousAttempts = previousAttempts
    }
}

/// One named factor of a score: its value, its weight and what it adds.
struct ScoreFactor: Sendable, Equatable {
    public var name: String
    public var value: Double
    var weight: Double
    var contribution: Double { value * weight }
}

/// A score taken apart, for `wharf jobs explain ID`.
public struct ScoreExplanation: Sendable, Equatable, CustomStringConvertible {
    var factors: [ScoreFactor]
    var total: Double { factors.reduce(0) { $0 + $1.contribution } }

    public var description: String {
        var lines = factors.map { f in
            "\(f.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(format(f.value)) × \(format(f.weight)) = \(format(f.contribution))"
        }
        lines.append("total       \(format(total))  (ties: earlier queue time first)")
        return lines.joined(separator: "\n")
    }

    private func format(_ x: Double) -> String {
        let scaled = (x * 1000).rounded() / 1000
        return "\(scaled)"
    }
}

/// The weighted sum of named factors. Pure: the queue's in-memory index and `explain` both use it.
struct PriorityScorer: Sendable {
    var weights: PriorityWeights
    public var catalog: BuildTypeCatalog

    init(weights: PriorityWeights = .default, catalog: BuildTypeCatalog = .default) {
        self.weights = weights
        self.catalog = catalog
    }

    static func kindValue(_ kind: JobKind) -> Double {
        switch kind {
        case .user_push: 1.0
        case .manual: 0.75
        case .retry: 0.5
        case .cache_warm: 0.0
        }
    }

    static func hintValue(_ hint: PriorityHint) -> Double {
        switch hint {
        case .release: 1.0
        case .normal: 0.5
        case .low: 0.0
        }
    }

    func costValue(expectedSeconds: Double) -> Double {
        max(0, 1 - expectedSeconds / catalog.maxExpectedSeconds)
    }

    static func fairShareValue(othersActive: Int) -> Double { 1 / (1 + Double(max(0, othersActive))) }
    static func attemptsValue(previousAttempts: Int) -> Double { 1 / (1 + Double(max(0, previousAttempts))) }
    static func popularityValue(_ p: Double) -> Double { p.isFinite ? min(1, max(0, p)) : 0 }

    /// The factors, in a fixed order: age, kind, hint, popularity, cost, fair share, attempts.
    public func explain(_ inputs: ScoreInputs) -> ScoreExplanation {
        ScoreExplanation(factors: [
            ScoreFactor(name: "age", value: max(0, inputs.secondsWaiting) / 3600, weight: weights.agePerHour),
            ScoreFactor(name: "kind", value: Self.kindValue(inputs.kind), weight: weights.kind),
            ScoreFactor(name: "hint", value: Self.hintValue(inputs.hint), weight: weights.hint),
            ScoreFactor(name: "popularity", value: Self.popularityValue(inputs.popularity), weight: weights.popularity),
            ScoreFactor(name: "cost", value: costValue(expectedSeconds: inputs.expectedSeconds), weight: weights.cost),
            ScoreFactor(name: "fair share", value: Self.fairShareValue(othersActive: inputs.othersActive), weight: weights.fairShare),
            ScoreFactor(name: "attempts", value: Self.attemptsValue(previousAttempts: inputs.previousAttempts), weight: weights.attempts),
        ])
    }

    public func score(_ inputs: ScoreInputs) -> Double { explain(inputs).total }

    // The fast path splits the sum into parts that change at different times.

    /// Kind, hint, cost, attempts and popularity: fixed while the job stays queued.
    func staticPart(kind: JobKind, hint: PriorityHint, expectedSeconds: Double, previousAttempts: Int, popularity: Double) -> Double {
        Self.kindValue(kind) * weights.kind + Self.hintValue(hint) * weights.hint
            + Self.popularityValue(popularity) * weights.popularity
            + costValue(expectedSeconds: expectedSeconds) * weights.cost
            + Self.attemptsValue(previousAttempts: previousAttempts) * weights.attempts
    }

    /// Fair share: the same for every queued job of one fair-share group.
    func fairSharePart(othersActive: Int) -> Double {
        Self.fairShareValue(othersActive: othersActive) * weights.fairShare
    }

    /// Points per second of waiting.
    var agePerSecond: Double { weights.agePerHour / 3600 }
}

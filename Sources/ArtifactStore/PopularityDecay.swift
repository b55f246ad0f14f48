import Foundation

/// Exponential decay with a half-life: a request counts 1 now, ½ one half-life later, ¼ after two.
/// Scores are stored with the time they were true and decayed on the way out.
public struct PopularityDecay: Sendable, Equatable {
    /// Seconds for a score to halve (default 24 h).
    public let halfLife: Double

    public init(halfLife: Double = 86400) throws(PopularityError) {
        guard halfLife.isFinite, halfLife >= 60, halfLife <= 365 * 86400 else { throw .invalidHalfLife(halfLife) }
        self.halfLife = halfLife
    }

    /// `score`, true at `from`, as seen at `to` (never grows: a clock going backwards keeps it).
    public func decayed(_ score: Double, from: Double, to: Double) -> Double {
        let elapsed = max(0, to - from)
        return score * exp2(-elapsed / halfLife)
    }

    /// The score after adding `requests` at `now` to `score` (true at `from`).
    public func adding(_ requests: Int, to score: Double, from: Double, now: Double) -> Double {
        decayed(score, from: from, to: now) + Double(max(0, requests))
    }
}

/// Why popularity input was refused.
public enum PopularityError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidHalfLife(Double)
    case invalidLimit(Int)

    public var description: String {
        switch self {
        case .invalidHalfLife(let h): "popularity half-life \(h) s is outside 60 s … 365 days"
        case .invalidLimit(let n): "limit \(n) must be 1 … 10000"
        }
    }
}

/// A cumulative histogram of durations in seconds (Prometheus style: each bucket counts observations
/// at or below its bound).
struct DurationHistogram: Sendable, Equatable {
    /// Bucket upper bounds in seconds, increasing; a build over the last one counts only in `count`.
    static let bounds: [Double] = [10, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600]

    /// Cumulative counts, one per bound.
    private(set) var cumulative = [Int](repeating: 0, count: DurationHistogram.bounds.count)
    public private(set) var count = 0
    private(set) var sum = 0.0

    public init() {}

    mutating func observe(_ seconds: Double) {
        count += 1
        sum += seconds
        for (i, bound) in Self.bounds.enumerated() where seconds <= bound { cumulative[i] += 1 }
    }
}

/// What the monitor counted since it started: per build type, a duration histogram (builds that ran:
/// no cache hits, no cancelled ones) and finished attempts by outcome.
struct BuildFigures: Sendable, Equatable {
    private(set) var durations: [String: DurationHistogram] = [:]
    /// Keyed by build type, then outcome (`succeeded`, `failed`, `timed_out`, `cancelled`, ...).
    private(set) var outcomes: [String: [String: Int]] = [:]
    private(set) var cacheHits = 0

    public init() {}

    mutating func add(_ record: BuildRecord) {
        outcomes[record.buildType, default: [:]][record.outcome, default: 0] += 1
        if record.cacheHit { cacheHits += 1 }
        if record.countsAsBuild { durations[record.buildType, default: DurationHistogram()].observe(record.seconds) }
    }
}

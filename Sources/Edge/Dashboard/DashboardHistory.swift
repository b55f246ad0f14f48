import Foundation
import Synchronization

/// The figures behind the dashboard's charts: a ring of per-10-second points sampled from the
/// edge's counters (and the scheduler's status when it runs), 360 points = the last hour, in
/// memory only. Each point holds rates over its interval (requests, bytes, 4xx, 5xx per second),
/// the cache hit ratio and p50/p99 latency of that interval (from the histogram's bucket deltas,
/// so a percentile is its bucket's upper bound), and gauges at the sample time.
public final class DashboardHistory: Sendable {
    /// Cumulative counters and gauges read at one instant.
    public struct Counters: Sendable, Equatable {
        public var requests = 0
        public var bytes = 0
        public var status4xx = 0
        public var status5xx = 0
        public var cacheHits = 0
        public var cacheMisses = 0
        public var connections = 0
        /// Cumulative counts per bucket upper bound (seconds), as `EdgeMetrics.requestDurations()`.
        public var durationBuckets: [(upperBoundSeconds: Double, cumulativeCount: Int)] = []
        public var scheduler: Scheduler?
        public init() {}

        public static func == (a: Counters, b: Counters) -> Bool {
            a.requests == b.requests && a.bytes == b.bytes && a.status4xx == b.status4xx && a.status5xx == b.status5xx
                && a.cacheHits == b.cacheHits && a.cacheMisses == b.cacheMisses && a.connections == b.connections
                && a.scheduler == b.scheduler && a.durationBuckets.map(\.cumulativeCount) == b.durationBuckets.map(\.cumulativeCount)
        }
    }

    /// The scheduler's gauges (from `/_wharf/api/status`'s `monitor` section).
    public struct Scheduler: Sendable, Equatable, Encodable {
        public var queued: Int
        public var running: Int
        public var slotsDesired: Int?
        public var slotsActive: Int?
        public var alertsFiring: Int
    }

    /// One point of the charts.
    public struct Point: Sendable, Equatable, Encodable {
        /// Unix seconds at the end of the interval.
        public var t: Double
        public var seconds: Double
        public var requestsPerSecond: Double
        public var bytesPerSecond: Double
        public var status4xxPerSecond: Double
        public var status5xxPerSecond: Double
        /// Hits / (hits + misses) over the interval; nil without lookups.
        public var cacheHitRatio: Double?
        /// Upper bound of the bucket holding the median / 99th percentile, milliseconds; nil without requests.
        public var p50Ms: Double?
        public var p99Ms: Double?
        public var connections: Int
        public var scheduler: Scheduler?
    }

    public static let intervalSeconds: Double = 10
    public static let capacity = 360

    private struct State {
        var points: [Point] = []
        var last: (counters: Counters, at: Double)?
    }
    private let state = Mutex(State())

    public init() {}

    /// Adds the point for the interval since the previous sample (the first sample only sets the
    /// baseline). Oldest points fall off past `capacity`.
    public func sample(_ counters: Counters, at now: Double) {
        state.withLock { s in
            if let last = s.last, let point = DashboardHistory.point(from: last.counters, at: last.at, to: counters, at: now) {
                s.points.append(point)
                if s.points.count > DashboardHistory.capacity { s.points.removeFirst(s.points.count - DashboardHistory.capacity) }
            }
            s.last = (counters, now)
        }
    }

    /// The stored points, then (when at least a second has passed) a partial one up to `current`,
    /// so a chart has a point at once and its right edge is live.
    public func points(current: Counters? = nil, at now: Double) -> [Point] {
        state.withLock { s in
            var out = s.points
            if let current, let last = s.last, now - last.at >= 1,
                let live = DashboardHistory.point(from: last.counters, at: last.at, to: current, at: now)
            {
                out.append(live)
            }
            return out
        }
    }

    /// The point for an interval; nil when the clock did not advance. A counter that went down
    /// (cannot happen within one process) counts as zero.
    static func point(from a: Counters, at t0: Double, to b: Counters, at t1: Double) -> Point? {
        let seconds = t1 - t0
        guard seconds > 0 else { return nil }
        func rate(_ x: Int, _ y: Int) -> Double { Double(max(0, y - x)) / seconds }
        let hits = max(0, b.cacheHits - a.cacheHits)
        let misses = max(0, b.cacheMisses - a.cacheMisses)
        return Point(
            t: t1, seconds: seconds, requestsPerSecond: rate(a.requests, b.requests),
            bytesPerSecond: rate(a.bytes, b.bytes), status4xxPerSecond: rate(a.status4xx, b.status4xx),
            status5xxPerSecond: rate(a.status5xx, b.status5xx),
            cacheHitRatio: hits + misses > 0 ? Double(hits) / Double(hits + misses) : nil,
            p50Ms: percentile(0.5, a.durationBuckets, b.durationBuckets),
            p99Ms: percentile(0.99, a.durationBuckets, b.durationBuckets),
            connections: b.connections, scheduler: b.scheduler)
    }

    /// The upper bound (ms) of the first bucket whose count over the interval reaches `q` of
    /// the interval's requests; past the last bound, the last bound. nil without requests or
    /// when the two histograms do not have the same buckets.
    static func percentile(
        _ q: Double, _ a: [(upperBoundSeconds: Double, cumulativeCount: Int)],
        _ b: [(upperBoundSeconds: Double, cumulativeCount: Int)]
    ) -> Double? {
        guard !b.isEmpty else { return nil }
        let before = a.count == b.count ? a.map(\.cumulativeCount) : Array(repeating: 0, count: b.count)
        let deltas = zip(before, b).map { max(0, $1.cumulativeCount - $0) }
        // The last cumulative count excludes the overflow bucket; the caller's total is the
        // largest cumulative delta, which is enough for a bucket bound.
        guard let total = deltas.last, total > 0 else { return nil }
        let wanted = q * Double(total)
        for (i, count) in deltas.enumerated() where Double(count) >= wanted {
            return (b[i].upperBoundSeconds * 1000 * 1000).rounded() / 1000
        }
        return b[b.count - 1].upperBoundSeconds * 1000
    }
}

extension DashboardHistory.Counters {
    /// The edge's counters now, with the scheduler's gauges from a status document if given.
    init(edge: EdgeServer, status: [String: Any]?) {
        self.init()
        let m = edge.metrics
        let byClass = Dictionary(uniqueKeysWithValues: m.responsesByClass())
        requests = byClass.values.reduce(0, +)
        status4xx = byClass["4xx"] ?? 0
        status5xx = byClass["5xx"] ?? 0
        bytes = m.bytesSent.load(ordering: .relaxed)
        let cache = edge.cache.statistics()
        cacheHits = cache.hits
        cacheMisses = cache.misses
        connections = m.connectionsOpen.load(ordering: .relaxed)
        durationBuckets = m.requestDurations().buckets
        scheduler = status.flatMap(DashboardHistory.scheduler(fromStatus:))
    }
}

extension DashboardHistory {
    /// The scheduler's gauges from a parsed `/_wharf/api/status` document; nil without `monitor`.
    static func scheduler(fromStatus status: [String: Any]) -> Scheduler? {
        guard let monitor = status["monitor"] as? [String: Any] else { return nil }
        let queue = monitor["queue"] as? [String: Any]
        let slots = monitor["slots"] as? [String: Any]
        let alerts = monitor["alerts"] as? [String: Any]
        return Scheduler(
            queued: queue?["queued"] as? Int ?? 0, running: queue?["running"] as? Int ?? 0,
            slotsDesired: slots?["desired"] as? Int, slotsActive: slots?["active"] as? Int,
            alertsFiring: alerts?["firing"] as? Int ?? 0)
    }
}

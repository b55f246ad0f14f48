import Glibc
import Synchronization

/// Process-wide edge counters (relaxed atomics: each is an independent tally), exposed as
/// Prometheus text by the admin API.
public final class EdgeMetrics: Sendable {
    public let connectionsOpen = Atomic<Int>(0)
    public let connectionsAccepted = Atomic<Int>(0)
    public let connectionsRefused = Atomic<Int>(0)
    public let headerTimeouts = Atomic<Int>(0)
    /// TLS handshakes (or records) that failed: garbage, old protocol versions, bad records.
    public let tlsHandshakeFailures = Atomic<Int>(0)
    /// TLS clients closed for not finishing their handshake in `edge.tls.handshake_timeout_ms`.
    public let tlsHandshakeTimeouts = Atomic<Int>(0)
    public let bytesSent = Atomic<Int>(0)
    /// Connections that switched to HTTP/2 (ALPN `h2`, or the cleartext preface).
    public let http2Connections = Atomic<Int>(0)
    /// HTTP/2 streams (requests) answered.
    public let http2Streams = Atomic<Int>(0)
    /// HTTP/2 connections ended with GOAWAY ENHANCE_YOUR_CALM (a budget ran out: rapid reset,
    /// control-frame flood, oversized header lists) or PROTOCOL_ERROR.
    public let http2AbuseClosures = Atomic<Int>(0)
    public let http2ProtocolErrors = Atomic<Int>(0)
    // Counters live inline in this object (no array of boxes): a request touches a few of them
    // without a retain or a pointer chase.
    /// Responses by status class index (1xx…5xx → 0…4).
    private let byClass = InlineArray<5, Atomic<Int>> { _ in Atomic(0) }
    /// Responses by content coding raw value (identity, gzip, zstd, br, dcz).
    private let byCoding = InlineArray<5, Atomic<Int>> { _ in Atomic(0) }
    private let statusCounts = InlineArray<600, Atomic<Int>> { _ in Atomic(0) }
    /// Response bytes by content coding raw value (full-body and range responses).
    private let bytesByCoding = InlineArray<5, Atomic<Int>> { _ in Atomic(0) }
    /// `dcz` responses (RFC 9842 deltas) and the body bytes they saved against the smallest
    /// br/zstd variant of the same file.
    public let dictionaryResponses = Atomic<Int>(0)
    public let dictionaryBytesSaved = Atomic<Int>(0)
    /// Request durations: counts per bucket of `durationBucketBounds` (not cumulative; the last
    /// one is "over the largest bound"), and the sum in nanoseconds.
    private let durationBuckets = InlineArray<17, Atomic<Int>> { _ in Atomic(0) }
    private let durationSumNanoseconds = Atomic<Int>(0)

    public init() {}

    func record(status: Int, bytes: Int, coding: UInt8) {
        if (100..<600).contains(status) {
            byClass[status / 100 - 1].add(1, ordering: .relaxed)
            statusCounts[status].add(1, ordering: .relaxed)
        }
        if Int(coding) < 5, status == 200 || status == 206 {
            byCoding[Int(coding)].add(1, ordering: .relaxed)
            bytesByCoding[Int(coding)].add(bytes, ordering: .relaxed)
        }
        bytesSent.add(bytes, ordering: .relaxed)
    }

    /// Counts a `dcz` response whose body was `bytes` where `baseline` bytes would have gone otherwise.
    func recordDelta(status: Int, bytes: Int, baseline: Int64) {
        guard status == 200 else { return }
        dictionaryResponses.add(1, ordering: .relaxed)
        dictionaryBytesSaved.add(max(0, Int(baseline) - bytes), ordering: .relaxed)
    }

    /// Responses per status code sent so far (codes with a non-zero count).
    public func responsesByStatus() -> [(Int, Int)] {
        (100..<600).compactMap { code in
            let n = statusCounts[code].load(ordering: .relaxed)
            return n > 0 ? (code, n) : nil
        }
    }

    /// Full-body and range responses per content coding token.
    public func responsesByCoding() -> [(String, Int)] {
        ["identity", "gzip", "zstd", "br", "dcz"].enumerated().map { ($0.element, byCoding[$0.offset].load(ordering: .relaxed)) }
    }
}

extension EdgeMetrics {
    /// Upper bounds of the request-duration histogram buckets, in nanoseconds (0.1 ms … 10 s).
    public static let durationBucketBounds: [UInt64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]

    /// Records one request's duration (first request byte received → response handed to the
    /// socket). Any thread, lock-free: a short scan of 16 bounds and two relaxed atomic adds.
    public func recordRequestDuration(nanoseconds: UInt64) {
        var i = 0
        let bounds = EdgeMetrics.durationBucketBounds
        while i < bounds.count && nanoseconds > bounds[i] { i &+= 1 }
        durationBuckets[i].add(1, ordering: .relaxed)
        durationSumNanoseconds.add(Int(clamping: nanoseconds), ordering: .relaxed)
    }

    /// The duration histogram: cumulative counts per bound (seconds), total count, sum (seconds).
    public func requestDurations() -> (buckets: [(upperBoundSeconds: Double, cumulativeCount: Int)], count: Int, sumSeconds: Double) {
        var cumulative = 0
        var buckets: [(Double, Int)] = []
        for (i, bound) in EdgeMetrics.durationBucketBounds.enumerated() {
            cumulative += durationBuckets[i].load(ordering: .relaxed)
            buckets.append((Double(bound) / 1e9, cumulative))
        }
        cumulative += durationBuckets[EdgeMetrics.durationBucketBounds.count].load(ordering: .relaxed)
        let sum = Double(durationSumNanoseconds.load(ordering: .relaxed)) / 1e9
        return (buckets, cumulative, sum)
    }

    /// Responses per status class ("1xx" … "5xx").
    public func responsesByClass() -> [(String, Int)] {
        (0..<5).map { ("\($0 + 1)xx", byClass[$0].load(ordering: .relaxed)) }
    }

    /// Response bytes of full-body and range responses per content coding token.
    public func responseBytesByCoding() -> [(String, Int)] {
        ["identity", "gzip", "zstd", "br", "dcz"].enumerated().map { ($0.element, bytesByCoding[$0.offset].load(ordering: .relaxed)) }
    }
}

/// Wall-clock seconds for Date headers.
enum EdgeClock {
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func unixSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return ts.tv_sec
    }
}

import Synchronization
import Glibc

/// Process-wide edge counters (relaxed atomics: each is an independent tally), exposed as
/// Prometheus text by the admin API.
public final class EdgeMetrics: Sendable {
    public let connectionsOpen = Atomic<Int>(0)
    public let connectionsAccepted = Atomic<Int>(0)
    public let connectionsRefused = Atomic<Int>(0)
    public let headerTimeouts = Atomic<Int>(0)
    public let bytesSent = Atomic<Int>(0)
    /// Responses by status class index (1xx…5xx → 0…4).
    private let byClass: [AtomicBox] = (0..<5).map { _ in AtomicBox() }
    /// Responses by content coding raw value (identity, gzip, zstd, br).
    private let byCoding: [AtomicBox] = (0..<4).map { _ in AtomicBox() }
    private let statusCounts: [AtomicBox] = (0..<600).map { _ in AtomicBox() }

    public init() {}

    func record(status: Int, bytes: Int, coding: UInt8) {
        if (100..<600).contains(status) {
            byClass[status / 100 - 1].value.add(1, ordering: .relaxed)
            statusCounts[status].value.add(1, ordering: .relaxed)
        }
        if Int(coding) < byCoding.count, status == 200 || status == 206 {
            byCoding[Int(coding)].value.add(1, ordering: .relaxed)
        }
        bytesSent.add(bytes, ordering: .relaxed)
    }

    /// Responses per status code sent so far (codes with a non-zero count).
    public func responsesByStatus() -> [(Int, Int)] {
        (100..<600).compactMap { code in
            let n = statusCounts[code].value.load(ordering: .relaxed)
            return n > 0 ? (code, n) : nil
        }
    }

    /// Full-body and range responses per content coding token.
    public func responsesByCoding() -> [(String, Int)] {
        ["identity", "gzip", "zstd", "br"].enumerated().map { ($0.element, byCoding[$0.offset].value.load(ordering: .relaxed)) }
    }
}

final class AtomicBox: Sendable {
    let value = Atomic<Int>(0)
}

/// Wall-clock seconds for Date headers.
enum EdgeClock {
    static func unixSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return ts.tv_sec
    }
}

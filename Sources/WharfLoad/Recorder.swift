import Histogram

/// Everything a run counts: latency histograms (nanoseconds, 3 significant digits), statuses,
/// errors by kind, bytes and verification results. Loop thread only.
struct Recorder {
    /// From the intended send time (open loop) or the actual send time (closed loop) to the last byte.
    var latency = Recorder.makeHistogram()
    /// From the actual send to the last byte (what a closed-loop tool would report).
    var service = Recorder.makeHistogram()
    /// How late each request left the generator relative to its intended time (open loop).
    var sendLag = Recorder.makeHistogram()

    var sent = 0
    var completed = 0
    var statuses: [Int: Int] = [:]
    var errors: [String: Int] = [:]
    var interimResponses = 0
    var bytesReceived = 0
    var bodyBytes = 0
    var verifiedOk = 0
    var verifyFailed = 0
    /// Revalidations answered 200 (content changed or no ETag) instead of 304.
    var revalidatedFull = 0
    var reconnects = 0
    /// Requests still queued or in flight when the run ended; their latency (a lower bound:
    /// end − intended time) is in `latency` too.
    var unfinished = 0

    static let highestTrackable: UInt64 = 600_000_000_000  // 10 minutes in ns

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable, numberOfSignificantValueDigits: .three)
    }

    static func record(_ value: UInt64, in histogram: inout Histogram<UInt64>) {
        _ = histogram.record(min(max(value, 1), highestTrackable))
    }

    mutating func error(_ kind: String) {
        errors[kind, default: 0] += 1
    }

    var errorCount: Int { errors.values.reduce(0, +) }
}

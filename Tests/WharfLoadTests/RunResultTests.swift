import Foundation
import Histogram
import Testing

@testable import WharfLoad

@Test func percentilesAreReportedInMilliseconds() {
    var h = Recorder.makeHistogram()
    for ms in 1...1000 { Recorder.record(UInt64(ms) * 1_000_000, in: &h) }
    let p = RunResult.Percentiles(h)
    #expect(p.count == 1000)
    #expect(abs(p.p50 - 500) <= 1)
    #expect(abs(p.p90 - 900) <= 1)
    #expect(abs(p.p99 - 990) <= 1)
    #expect(abs(p.p999 - 999) <= 1)
    #expect(abs(p.max - 1000) <= 1)
    #expect(abs(p.mean - 500.5) <= 1)
    let empty = RunResult.Percentiles(Recorder.makeHistogram())
    #expect(empty.count == 0 && empty.p99 == 0)
}

@Test func valuesOutsideTheTrackableRangeAreClampedNotLost() {
    var h = Recorder.makeHistogram()
    Recorder.record(0, in: &h)
    Recorder.record(.max, in: &h)
    #expect(h.totalCount == 2)
}

@Test func theResultJSONUsesSnakeCaseAndRoundTrips() throws {
    var h = Recorder.makeHistogram()
    Recorder.record(2_000_000, in: &h)
    let result = RunResult(
        scenario: "s", label: "wharf", target: "127.0.0.1:1", mode: "open", connections: 2, targetRate: 100, durationS: 1,
        startedAt: "2026-01-01T00:00:00Z", sent: 10, completed: 9, unfinished: 1, achievedRate: 9,
        latencyMs: .init(h), serviceMs: .init(h), sendLagMs: nil, statuses: ["200": 9], errors: ["timeout": 1], errorCount: 1,
        interimResponses: 0, bytesReceived: 100, bodyBytes: 50, verifiedOk: 3, verifyFailed: 0, revalidatedFull: 0, reconnects: 1,
        discovery: .init(variants: 1, verified: 1, failures: [], withoutETag: 0), background: nil, generatorCpuSeconds: 0.5,
        loadAverage: [1, 2, 3])
    let data = try result.encoded()
    let text = String(decoding: data, as: UTF8.self)
    for key in [
        "\"latency_ms\"", "\"p999\"", "\"achieved_rate\"", "\"verified_ok\"", "\"error_count\"", "\"generator_cpu_seconds\"", "\"target_rate\"",
    ] {
        #expect(text.contains(key), "missing \(key)")
    }
    #expect(try RunResult.decode(data) == result)
    #expect(result.summaryLine.contains("p99 2.0 ms"))
}

import Foundation
import Histogram

/// The JSON a run writes (`--out`): one scenario phase against one server.
struct RunResult: Codable, Sendable, Equatable {
    struct Percentiles: Codable, Sendable, Equatable {
        var p50: Double
        var p90: Double
        var p99: Double
        var p999: Double
        var max: Double
        var mean: Double
        var count: UInt64

        /// Percentiles of a nanosecond histogram, in milliseconds.
        init(_ histogram: Histogram<UInt64>) {
            func ms(_ ns: UInt64) -> Double { (Double(ns) / 1e6 * 1000).rounded() / 1000 }
            count = histogram.totalCount
            guard count > 0 else {
                p50 = 0
                p90 = 0
                p99 = 0
                p999 = 0
                max = 0
                mean = 0
                return
            }
            p50 = ms(histogram.valueAtPercentile(50))
            p90 = ms(histogram.valueAtPercentile(90))
            p99 = ms(histogram.valueAtPercentile(99))
            p999 = ms(histogram.valueAtPercentile(99.9))
            max = ms(histogram.max)
            mean = (histogram.mean / 1e6 * 1000).rounded() / 1000
        }
    }

    var scenario: String
    var label: String
    var target: String
    var mode: String
    var connections: Int
    /// Requested rate (open loop); nil for closed loop.
    var targetRate: Double?
    var durationS: Double
    var startedAt: String
    var sent: Int
    var completed: Int
    var unfinished: Int
    var achievedRate: Double
    var latencyMs: Percentiles
    var serviceMs: Percentiles
    var sendLagMs: Percentiles?
    var statuses: [String: Int]
    var errors: [String: Int]
    var errorCount: Int
    var interimResponses: Int
    var bytesReceived: Int
    var bodyBytes: Int
    var verifiedOk: Int
    var verifyFailed: Int
    var revalidatedFull: Int
    var reconnects: Int
    var discovery: Discovery
    var background: BackgroundReport?
    var generatorCpuSeconds: Double
    var loadAverage: [Double]

    struct Discovery: Codable, Sendable, Equatable {
        var variants: Int
        var verified: Int
        var failures: [String]
        var withoutETag: Int
    }

    struct BackgroundReport: Codable, Sendable, Equatable {
        var idleRequested: Int
        var idleOpened: Int
        var idleOpenAtEnd: Int
        var idleFailures: [String: Int]
        var slowlorisRequested: Int
        var slowlorisOpenAtEnd: Int
        var slowlorisClosedByServer: Int
        var slowlorisReconnects: Int
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    static func decode(_ data: Data) throws -> RunResult {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RunResult.self, from: data)
    }

    /// One line for the terminal.
    var summaryLine: String {
        let rate = String(format: "%.0f", achievedRate)
        return "\(scenario) \(label) \(mode) c=\(connections)\(targetRate.map { " rate=\(Int($0))" } ?? ""): "
            + "\(rate) req/s, p50 \(latencyMs.p50) ms, p99 \(latencyMs.p99) ms, p99.9 \(latencyMs.p999) ms, "
            + "max \(latencyMs.max) ms, errors \(errorCount), verified \(verifiedOk)/\(verifiedOk + verifyFailed)"
    }
}

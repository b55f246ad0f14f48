import Foundation

/// The builds of the rolling window in figures.
struct WindowSummary: Sendable, Equatable, Codable {
    /// Builds in the window (cache hits and cancelled builds excluded).
    var builds: Int
    /// Of those, failed, timed out or lease expired.
    var failures: Int
    /// Mean duration in seconds, 0 when there are none.
    var averageSeconds: Double
    public var windowSeconds: Double

    init(records: [BuildRecord], windowSeconds: Double) {
        let counted = records.filter(\.countsAsBuild)
        builds = counted.count
        failures = counted.filter(\.isFailure).count
        averageSeconds = counted.isEmpty ? 0 : counted.reduce(0) { $0 + $1.seconds } / Double(counted.count)
        self.windowSeconds = windowSeconds
    }

    /// Failures over builds, 0 when there are none.
    public var failureRate: Double { builds == 0 ? 0 : Double(failures) / Double(builds) }
}

/// The three window/queue conditions: each check has a fixed key and, when its condition holds now,
/// the alert to raise (nil means it does not hold and any firing alert with the key resolves).
struct RollingChecks {
    var configuration: MonitorConfiguration

    struct Check {
        var key: String
        var condition: AlertCondition?
    }

    func conditions(window: WindowSummary, queued: [JobKind: Int]) -> [Check] {
        [failureRate(window), averageDuration(window), backlog(queued)]
    }

    private var windowText: String {
        "the last \(configuration.windowBuilds) builds within \(Self.duration(configuration.windowSeconds))"
    }

    func failureRate(_ w: WindowSummary) -> Check {
        let key = AlertKind.failure_rate.rawValue
        guard w.builds >= configuration.minimumBuilds, w.failureRate > configuration.failureRate else { return Check(key: key) }
        return Check(
            key: key,
            condition: AlertCondition(
                key: key, kind: .failure_rate, severity: w.failureRate >= 0.5 ? .critical : .warning,
                summary: "failure rate \(SlowBuildAnalysis.percent(w.failureRate)) (\(w.failures) of \(w.builds) builds in \(windowText)) "
                    + "is over \(SlowBuildAnalysis.percent(configuration.failureRate))",
                details: [
                    "failureRate": .number(SlowBuildAnalysis.rounded(w.failureRate)), "failures": .number(Double(w.failures)),
                    "builds": .number(Double(w.builds)), "threshold": .number(configuration.failureRate),
                    "windowSeconds": .number(configuration.windowSeconds),
                ]))
    }

    func averageDuration(_ w: WindowSummary) -> Check {
        let key = AlertKind.average_duration.rawValue
        guard w.builds >= configuration.minimumBuilds, w.averageSeconds > configuration.averageDuration else { return Check(key: key) }
        return Check(
            key: key,
            condition: AlertCondition(
                key: key, kind: .average_duration,
                summary: "average build duration \(SlowBuildAnalysis.seconds(w.averageSeconds)) over \(w.builds) builds in \(windowText) "
                    + "is over \(SlowBuildAnalysis.seconds(configuration.averageDuration))",
                details: [
                    "averageSeconds": .number(SlowBuildAnalysis.rounded(w.averageSeconds)), "builds": .number(Double(w.builds)),
                    "thresholdSeconds": .number(configuration.averageDuration),
                    "windowSeconds": .number(configuration.windowSeconds),
                ]))
    }

    func backlog(_ queued: [JobKind: Int]) -> Check {
        let key = AlertKind.backlog.rawValue
        let total = queued.values.reduce(0, +)
        guard total > configuration.backlog else { return Check(key: key) }
        var byKind: [String: AlertValue] = [:]
        for (kind, n) in queued where n > 0 { byKind[kind.rawValue] = .number(Double(n)) }
        return Check(
            key: key,
            condition: AlertCondition(
                key: key, kind: .backlog,
                summary: "backlog: \(total) builds queued (over \(configuration.backlog))",
                details: ["queued": .number(Double(total)), "byKind": .object(byKind), "threshold": .number(Double(configuration.backlog))]))
    }

    static func duration(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600)) h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) min" }
        return "\(Int(seconds.rounded())) s"
    }
}

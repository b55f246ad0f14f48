import Foundation

/// When an app's error rate is an alert (`monitor.error_spike.*`): over the last `window` seconds the
/// app answered at least `minResponses`, and the share of 5xx (or of 404) is at least its threshold
/// and at least `multiple` times that share over the preceding baseline (so an app that always 404s a
/// lot is not an alert; one that starts to is).
public struct ErrorSpikeConfiguration: Sendable, Equatable {
    public var enabled = true
    public var window = 300.0
    public var baseline = 3600.0
    public var minResponses = 50
    public var serverErrorShare = 0.05
    public var notFoundShare = 0.25
    public var multiple = 3.0
    /// Apps tracked at once; beyond it the least recently active are forgotten.
    var maxApps = 10_000

    public init() {}

    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if !(window.isFinite && window >= 10 && window <= 86_400) { found.append(("monitor.error_spike.window_s", "must be 10...86400")) }
        if !(baseline.isFinite && baseline > window && baseline <= 7 * 86_400) {
            found.append(("monitor.error_spike.baseline_s", "must be more than window_s and at most 604800"))
        }
        if !(1...1_000_000).contains(minResponses) { found.append(("monitor.error_spike.min_responses", "must be 1...1000000")) }
        if !(serverErrorShare > 0 && serverErrorShare <= 1) { found.append(("monitor.error_spike.server_error_share", "must be in (0, 1]")) }
        if !(notFoundShare > 0 && notFoundShare <= 1) { found.append(("monitor.error_spike.not_found_share", "must be in (0, 1]")) }
        if !(multiple.isFinite && multiple >= 1 && multiple <= 1000) { found.append(("monitor.error_spike.multiple", "must be 1...1000")) }
        return found
    }
}

/// Watches the edge's per-app response outcomes (fed every few seconds by the wiring) and raises an
/// `error_spike` alert per app and kind (5xx, 404) through the alert store, so it is stored,
/// deduplicated, logged and posted to the webhook like every other alert; the alert resolves when the
/// rate falls back. Memory is bounded: buckets older than the baseline go, and at most `maxApps` apps
/// are tracked.
public final class ErrorSpikeMonitor: @unchecked Sendable {
    /// Responses of one app in one fed batch.
    public struct Counts: Sendable, Equatable {
        public var responses: Int
        public var notFound: Int
        public var serverErrors: Int

        public init(responses: Int, notFound: Int, serverErrors: Int) {
            self.responses = responses
            self.notFound = notFound
            self.serverErrors = serverErrors
        }

        static func + (a: Counts, b: Counts) -> Counts {
            Counts(responses: a.responses + b.responses, notFound: a.notFound + b.notFound, serverErrors: a.serverErrors + b.serverErrors)
        }
        static let zero = Counts(responses: 0, notFound: 0, serverErrors: 0)
    }

    public let configuration: ErrorSpikeConfiguration
    private let alerts: AlertStore
    private let lock = NSLock()
    private var buckets: [String: [(time: Date, counts: Counts)]] = [:]
    private var firing: Set<String> = []

    public init(alerts: AlertStore, configuration: ErrorSpikeConfiguration = .init()) {
        self.alerts = alerts
        self.configuration = configuration
    }

    /// Apps with counts in memory now.
    var trackedApps: Int { lock.withLock { buckets.count } }

    /// What one round did: alert keys raised and resolved.
    public struct Report: Sendable, Equatable {
        public var raised: [String] = []
        public var resolved: [String] = []
    }

    /// Adds the batch counted since the last round, then raises and resolves alerts for every app seen.
    @discardableResult
    public func runOnce(now: Date, counts: [String: Counts]) throws -> Report {
        let conditions = lock.withLock { () -> [AlertCondition] in
            for (app, batch) in counts where batch.responses > 0 { buckets[app, default: []].append((now, batch)) }
            let horizon = now.addingTimeInterval(-configuration.baseline)
            for app in Array(buckets.keys) {
                buckets[app]!.removeAll { $0.time <= horizon }
                if buckets[app]!.isEmpty { buckets[app] = nil }
            }
            if buckets.count > configuration.maxApps {
                let stale = buckets.sorted { ($0.value.last?.time ?? .distantPast) < ($1.value.last?.time ?? .distantPast) }
                for (app, _) in stale.prefix(buckets.count - configuration.maxApps) { buckets[app] = nil }
            }
            var conditions: [AlertCondition] = []
            for (app, list) in buckets {
                let windowStart = now.addingTimeInterval(-configuration.window)
                let recent = list.filter { $0.time > windowStart }.reduce(Counts.zero) { $0 + $1.counts }
                let before = list.filter { $0.time <= windowStart }.reduce(Counts.zero) { $0 + $1.counts }
                guard recent.responses >= configuration.minResponses else { continue }
                for (kind, errors, earlier, threshold) in [
                    ("5xx", recent.serverErrors, before.serverErrors, configuration.serverErrorShare),
                    ("404", recent.notFound, before.notFound, configuration.notFoundShare),
                ] {
                    let share = Double(errors) / Double(recent.responses)
                    let baseline = before.responses >= configuration.minResponses ? Double(earlier) / Double(before.responses) : 0
                    guard share >= threshold, share >= configuration.multiple * baseline else { continue }
                    conditions.append(
                        AlertCondition(
                            key: "error_spike:\(app):\(kind)", kind: .error_spike, severity: kind == "5xx" ? .critical : .warning,
                            summary: "\(app): \(Int((share * 100).rounded()))% of \(recent.responses) responses were \(kind) in the last "
                                + "\(Int(configuration.window)) s (baseline \(Int((baseline * 100).rounded()))%)",
                            details: [
                                "app": .string(app), "status": .string(kind), "share": .number(share), "baselineShare": .number(baseline),
                                "responses": .number(Double(recent.responses)), "errors": .number(Double(errors)),
                                "windowSeconds": .number(configuration.window),
                            ]))
                }
            }
            return conditions
        }
        var report = Report()
        let holding = Set(conditions.map(\.key))
        for condition in conditions {
            _ = try alerts.raise(condition, now: now)
            if lock.withLock({ firing.insert(condition.key).inserted }) { report.raised.append(condition.key) }
        }
        // What fired before and no longer holds resolves (also for an app that went quiet).
        let previously = lock.withLock { firing }
        for key in previously.subtracting(holding).sorted() {
            _ = try alerts.resolve(key: key, now: now)
            lock.withLock { _ = firing.remove(key) }
            report.resolved.append(key)
        }
        return report
    }
}

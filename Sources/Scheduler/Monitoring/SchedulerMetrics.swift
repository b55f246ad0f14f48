import Foundation
import GRDB

/// The slot pool as metrics see it (the wiring reads it from `SchedulerService`).
public struct SlotFigures: Sendable, Equatable, Codable {
    /// The autoscaler's last decision.
    var desired: Int
    /// Slots that exist (provisioning, idle or busy).
    var active: Int
    var busy: Int
    var provisioning: Int
    var min: Int
    var max: Int

    public init(desired: Int, active: Int, busy: Int = 0, provisioning: Int = 0, min: Int = 0, max: Int = 0) {
        self.desired = desired
        self.active = active
        self.busy = busy
        self.provisioning = provisioning
        self.min = min
        self.max = max
    }

    init(slots: [Slot], desired: Int, limits: SlotLimits) {
        self.init(
            desired: desired, active: slots.count, busy: slots.count { $0.phase == .busy },
            provisioning: slots.count { $0.phase == .provisioning }, min: limits.min, max: limits.max)
    }
}

/// The scheduler's Prometheus metrics as plain data (Scheduler does not import Edge): families of
/// samples that the wiring copies into the admin server's exposition, or renders alone with
/// `prometheusText`. Names follow Prometheus conventions: `wharf_` prefix, base units in the name
/// (`_seconds`), `_total` for counters.
///
/// | family | type | labels |
/// |---|---|---|
/// | `wharf_scheduler_queue_length` | gauge | `kind` (user_push, manual, retry, cache_warm) |
/// | `wharf_scheduler_running_builds` | gauge | |
/// | `wharf_scheduler_slots_desired`, `wharf_scheduler_slots_active`, `wharf_scheduler_slots_busy` | gauge | |
/// | `wharf_build_duration_seconds` | histogram | `type` |
/// | `wharf_builds_total` | counter | `type`, `outcome` |
/// | `wharf_build_cache_hits_total` | counter | |
/// | `wharf_build_window_failure_ratio`, `wharf_build_window_average_duration_seconds` | gauge | |
/// | `wharf_alerts_firing` | gauge | `kind` |
/// | `wharf_alert_webhook_pending`, `wharf_alert_webhook_attempts_total` | gauge, counter (`result`) | |
public struct SchedulerMetrics: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String
        init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// One line: the full sample name (with `_bucket`, `_sum`, `_count` for histograms), labels, value.
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [Label]
        public var value: Double
    }

    public struct Family: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var help: String
        public var samples: [Sample]
    }

    public private(set) var families: [Family] = []

    public init() {}

    /// Reads every figure now: queue and running counts from the database, build figures from the
    /// monitor, alert counts from its store, the webhook's backlog when one is configured.
    public static func collect(
        monitor: PerformanceMonitor, slots: SlotFigures?, webhook: WebhookDelivery? = nil,
        now: Date
    ) throws -> SchedulerMetrics {
        var m = SchedulerMetrics()
        let queued = try monitor.queuedCounts()
        m.gauge(
            "wharf_scheduler_queue_length", "Builds waiting in the queue, by kind.",
            JobKind.allCases.map { ([Label("kind", $0.rawValue)], Double(queued[$0] ?? 0)) })
        m.gauge("wharf_scheduler_running_builds", "Builds running now.", [([], Double(try monitor.runningCount()))])
        if let slots {
            m.gauge("wharf_scheduler_slots_desired", "Build slots the autoscaler wants.", [([], Double(slots.desired))])
            m.gauge("wharf_scheduler_slots_active", "Build slots that exist (provisioning, idle or busy).", [([], Double(slots.active))])
            m.gauge("wharf_scheduler_slots_busy", "Build slots running a build.", [([], Double(slots.busy))])
        }
        let figures = monitor.buildFigures()
        m.histogram(
            "wharf_build_duration_seconds", "Durations of builds that ran (no cache hits, none cancelled), by build type.",
            figures.durations.sorted { $0.key < $1.key }.map { ([Label("type", $0.key)], $0.value) })
        var outcomes: [([Label], Double)] = []
        for (type, byOutcome) in figures.outcomes.sorted(by: { $0.key < $1.key }) {
            for (outcome, n) in byOutcome.sorted(by: { $0.key < $1.key }) {
                outcomes.append(([Label("type", type), Label("outcome", outcome)], Double(n)))
            }
        }
        m.family(
            "wharf_builds_total", .counter, "Finished build attempts by build type and outcome.",
            outcomes.map { Sample(name: "wharf_builds_total", labels: $0.0, value: $0.1) })
        m.family(
            "wharf_build_cache_hits_total", .counter, "Jobs served from the build cache without building.",
            [Sample(name: "wharf_build_cache_hits_total", labels: [], value: Double(figures.cacheHits))])
        let window = try monitor.windowSummary(now: now)
        m.gauge("wharf_build_window_failure_ratio", "Share of failed builds in the monitor's rolling window.", [([], window.failureRate)])
        m.gauge(
            "wharf_build_window_average_duration_seconds", "Mean build duration in the monitor's rolling window.",
            [([], window.averageSeconds)])
        let firing = try monitor.alerts.firingCounts()
        m.gauge(
            "wharf_alerts_firing", "Alerts firing now, by kind.",
            AlertKind.allCases.map { ([Label("kind", $0.rawValue)], Double(firing[$0] ?? 0)) })
        if let webhook {
            m.gauge(
                "wharf_alert_webhook_pending", "Alert notifications not yet delivered to the webhook.",
                [([], Double(try webhook.pendingCount()))])
            m.family(
                "wharf_alert_webhook_attempts_total", .counter, "Webhook delivery attempts since start, by result.",
                [
                    Sample(name: "wharf_alert_webhook_attempts_total", labels: [Label("result", "delivered")], value: Double(webhook.deliveredCount)),
                    Sample(
                        name: "wharf_alert_webhook_attempts_total", labels: [Label("result", "failed")], value: Double(webhook.failedAttemptCount)),
                ])
        }
        return m
    }

    mutating func gauge(_ name: String, _ help: String, _ values: [([Label], Double)]) {
        family(name, .gauge, help, values.map { Sample(name: name, labels: $0.0, value: $0.1) })
    }

    mutating func histogram(_ name: String, _ help: String, _ series: [([Label], DurationHistogram)]) {
        var samples: [Sample] = []
        for (labels, h) in series {
            for (bound, count) in zip(DurationHistogram.bounds, h.cumulative) {
                samples.append(Sample(name: name + "_bucket", labels: labels + [Label("le", Self.format(bound))], value: Double(count)))
            }
            samples.append(Sample(name: name + "_bucket", labels: labels + [Label("le", "+Inf")], value: Double(h.count)))
            samples.append(Sample(name: name + "_sum", labels: labels, value: h.sum))
            samples.append(Sample(name: name + "_count", labels: labels, value: Double(h.count)))
        }
        family(name, .histogram, help, samples)
    }

    mutating func family(_ name: String, _ kind: Kind, _ help: String, _ samples: [Sample]) {
        families.append(Family(name: name, kind: kind, help: help, samples: samples))
    }

    /// The families as Prometheus text exposition format 0.0.4.
    var prometheusText: String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(Self.escape(family.help, quotes: false))\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            for sample in family.samples {
                out += sample.name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.name)=\"\(Self.escape($0.value, quotes: true))\"" }.joined(separator: ",") + "}"
                }
                out += " " + Self.format(sample.value) + "\n"
            }
        }
        return out
    }

    /// Integers without a fraction, otherwise the shortest round-trip form; `+Inf`, `-Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

import Configuration
import Foundation
import Scheduler

/// The `monitor.*` keys of wharf.yaml (`WHARF_MONITOR_…` variables override them): the performance
/// monitor's thresholds (read by `MonitorConfiguration.from`), the alert webhook (`monitor.webhook.*`,
/// read by `WebhookConfiguration.from`; no URL = no webhook), and how often the rolling checks run
/// (`monitor.evaluate_interval_ms`, 5000; 0 = after every scheduler tick).
struct MonitorSettings: Equatable {
    var configuration = MonitorConfiguration()
    var webhook: WebhookConfiguration?
    var evaluateIntervalMs = 5000
    /// `monitor.error_spike.*`: the edge's per-app 5xx and 404 rates.
    var errorSpike = ErrorSpikeConfiguration()

    /// Reads the keys from `loader`'s providers; `scheduler.warning_s` is the default of
    /// `monitor.timeout_warning` (0 there turns it off unless the monitor key sets it).
    static func read(_ loader: inout ConfigurationLoader, scheduler: SchedulerConfiguration) -> (MonitorSettings, [ConfigurationLoader.Problem]) {
        var settings = MonitorSettings()
        var problems: [ConfigurationLoader.Problem] = []
        let reader = loader.reader
        // The performance monitor's and the webhook's keys are read by the Scheduler: every value
        // is read as text (YAML scalars and environment values alike); the Scheduler's readers
        // parse and range-check it. The rest are `MonitorKeys` read from the table. A mapping or list where a value belongs is a problem.
        var found: [ConfigurationLoader.Problem] = []
        let lookup: (String) -> String? = { key in
            do { return try reader.requiredString(forKey: ConfigKey(key)) } catch {
                let text = String(describing: error)
                if !text.hasPrefix("Missing required config value") {
                    found.append(.init(key: key, reason: "expected a single value (\(text))"))
                }
                return nil
            }
        }
        let warning = scheduler.warningSeconds > 0 ? scheduler.warningSeconds : nil
        do {
            settings.configuration = try MonitorConfiguration.from(
                buildTypes: BuildTypeCatalog.default.types.keys, timeoutWarning: warning, lookup: lookup)
        } catch {
            problems.append(problem(error))
        }
        do { settings.webhook = try WebhookConfiguration.from(lookup: lookup) } catch { problems.append(problem(error)) }
        settings.evaluateIntervalMs = loader.present(MonitorKeys.evaluateIntervalMs) ?? settings.evaluateIntervalMs
        var spike = ErrorSpikeConfiguration()
        spike.enabled = loader.present(MonitorKeys.spikeEnabled) ?? spike.enabled
        spike.window = loader.present(MonitorKeys.spikeWindow) ?? spike.window
        spike.baseline = loader.present(MonitorKeys.spikeBaseline) ?? spike.baseline
        spike.minResponses = loader.present(MonitorKeys.spikeMinResponses) ?? spike.minResponses
        spike.serverErrorShare = loader.present(MonitorKeys.spikeServerErrorShare) ?? spike.serverErrorShare
        spike.notFoundShare = loader.present(MonitorKeys.spikeNotFoundShare) ?? spike.notFoundShare
        spike.multiple = loader.present(MonitorKeys.spikeMultiple) ?? spike.multiple
        for p in spike.problems() { problems.append(.init(key: p.key, reason: p.reason)) }
        settings.errorSpike = spike
        return (settings, found + problems)
    }

    /// A Scheduler configuration error as a problem under the key its message starts with.
    static func problem(_ error: SchedulerError) -> ConfigurationLoader.Problem {
        guard case .invalidConfiguration(let message) = error else { return .init(key: "monitor", reason: error.description) }
        let key = message.prefix { $0 != ":" && $0 != " " }
        guard key.hasPrefix("monitor."), key.count < message.count else { return .init(key: "monitor", reason: message) }
        let rest = message.dropFirst(key.count).drop { $0 == ":" || $0 == " " }
        return .init(key: String(key), reason: String(rest))
    }

    /// The thresholds as one line: "flutter_web 300 s, …, default 300 s".
    var thresholdsText: String {
        var parts: [String] = []
        for (type, seconds) in configuration.thresholds.sorted(by: { $0.key < $1.key }) {
            parts.append("\(type) \(Self.number(seconds)) s")
        }
        parts.append("default \(Self.number(configuration.defaultThreshold)) s")
        return parts.joined(separator: ", ")
    }

    /// The resolved values, one `key: value` line each (for `wharf check-config`).
    var lines: [String] {
        let c = configuration
        let warning: String = c.timeoutWarning.map { "\(Self.number($0)) s" } ?? "off"
        let cadence: String = evaluateIntervalMs == 0 ? " (every scheduler tick)" : ""
        var out: [String] = []
        out.append("monitor.thresholds: \(thresholdsText)")
        out.append("monitor.dominant_stage_share: \(Self.number(c.dominantStageShare))")
        out.append("monitor.failure_rate: \(Self.number(c.failureRate)), backlog: \(c.backlog), average_duration: \(Self.number(c.averageDuration)) s")
        out.append("monitor.window_seconds: \(Self.number(c.windowSeconds)), window_builds: \(c.windowBuilds), minimum_builds: \(c.minimumBuilds)")
        out.append("monitor.timeout_warning: \(warning), retention_days: \(Self.number(c.retentionDays)), evaluate_interval_ms: \(evaluateIntervalMs)\(cadence)")
        if let w = webhook {
            let timing = "timeout_seconds \(Self.number(w.timeout)), initial_backoff_seconds \(Self.number(w.initialBackoff)), max_backoff_seconds \(Self.number(w.maxBackoff))"
            out.append("monitor.webhook: \(w.url), \(timing)")
        } else {
            out.append("monitor.webhook: off (no monitor.webhook.url)")
        }
        let s = errorSpike
        out.append("monitor.error_spike: \(s.enabled ? "on" : "off"), window_s \(Self.number(s.window)), baseline_s \(Self.number(s.baseline)), "
                   + "min_responses \(s.minResponses), server_error_share \(Self.number(s.serverErrorShare)), "
                   + "not_found_share \(Self.number(s.notFoundShare)), multiple \(Self.number(s.multiple))")
        return out
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

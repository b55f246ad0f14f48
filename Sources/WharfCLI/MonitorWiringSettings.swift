import Configuration
import Foundation
import Scheduler

/// The `monitor.*` keys of wharf.yaml (`MonitorKeys`; `WHARF_MONITOR_…` variables override them):
/// the performance monitor's thresholds, the alert webhook (`monitor.webhook.*`; no URL = no
/// webhook), the edge's error-spike alert, and how often the rolling checks run
/// (`monitor.evaluate_interval_ms`, 5000; 0 = after every scheduler tick).
struct MonitorSettings: Equatable {
    var configuration = MonitorConfiguration()
    var webhook: WebhookConfiguration?
    var evaluateIntervalMs = 5000
    /// `monitor.error_spike.*`: the edge's per-app 5xx and 404 rates.
    var errorSpike = ErrorSpikeConfiguration()

    /// Reads the `MonitorKeys` into settings; every problem goes to `loader`. `scheduler.warning_s`
    /// is the default of `monitor.timeout_warning` (0 there turns it off unless the monitor key sets it).
    static func read(_ loader: inout ConfigurationLoader, scheduler: SchedulerConfiguration) -> MonitorSettings {
        var settings = MonitorSettings()
        var c = MonitorConfiguration(timeoutWarning: scheduler.warningSeconds > 0 ? scheduler.warningSeconds : nil)
        for type in ConfigKeyTable.defaultBuildTypes {
            if let seconds = loader.present(MonitorKeys.threshold.spelled("<type>", as: type)) { c.thresholds[type] = seconds }
        }
        c.defaultThreshold = loader.present(MonitorKeys.defaultThreshold) ?? c.defaultThreshold
        c.dominantStageShare = loader.present(MonitorKeys.dominantStageShare) ?? c.dominantStageShare
        c.failureRate = loader.present(MonitorKeys.failureRate) ?? c.failureRate
        c.backlog = loader.present(MonitorKeys.backlog) ?? c.backlog
        c.averageDuration = loader.present(MonitorKeys.averageDuration) ?? c.averageDuration
        c.windowSeconds = loader.present(MonitorKeys.windowSeconds) ?? c.windowSeconds
        c.windowBuilds = loader.present(MonitorKeys.windowBuilds) ?? c.windowBuilds
        c.minimumBuilds = loader.present(MonitorKeys.minimumBuilds) ?? c.minimumBuilds
        c.retentionDays = loader.present(MonitorKeys.retentionDays) ?? c.retentionDays
        if let text = loader.present(MonitorKeys.timeoutWarning)?.trimmingCharacters(in: .whitespaces) {
            if ["off", "none", "false", ""].contains(text.lowercased()) {
                c.timeoutWarning = nil
            } else if let seconds = Double(text), seconds.isFinite, seconds > 0 {
                c.timeoutWarning = seconds
            } else {
                loader.problems.append(.init(key: MonitorKeys.timeoutWarning.name, reason: "got \(text), allowed a number of seconds > 0, or off"))
            }
        }
        // Checks across keys (minimum_builds within window_builds); an inconsistent set is not kept.
        do {
            try c.validate()
            settings.configuration = c
        } catch {
            loader.problems.append(problem(error))
        }

        let url = loader.present(MonitorKeys.webhookURL)?.trimmingCharacters(in: .whitespaces) ?? ""
        let timeout = loader.value(MonitorKeys.webhookTimeout)
        let initialBackoff = loader.value(MonitorKeys.webhookInitialBackoff)
        let maxBackoff = loader.value(MonitorKeys.webhookMaxBackoff)
        if !url.isEmpty {
            do {
                let webhook = WebhookConfiguration(
                    url: try WebhookURL(parsing: url), timeout: timeout,
                    initialBackoff: initialBackoff, maxBackoff: maxBackoff)
                try webhook.validate()
                settings.webhook = webhook
            } catch let error as WebhookURL.ParseError {
                loader.problems.append(.init(key: MonitorKeys.webhookURL.name, reason: error.description))
            } catch let error as SchedulerError {
                loader.problems.append(problem(error))
            } catch {
                loader.problems.append(.init(key: MonitorKeys.webhookURL.name, reason: "\(error)"))
            }
        }

        settings.evaluateIntervalMs = loader.present(MonitorKeys.evaluateIntervalMs) ?? settings.evaluateIntervalMs
        var spike = ErrorSpikeConfiguration()
        spike.enabled = loader.present(MonitorKeys.spikeEnabled) ?? spike.enabled
        spike.window = loader.present(MonitorKeys.spikeWindow) ?? spike.window
        spike.baseline = loader.present(MonitorKeys.spikeBaseline) ?? spike.baseline
        spike.minResponses = loader.present(MonitorKeys.spikeMinResponses) ?? spike.minResponses
        spike.serverErrorShare = loader.present(MonitorKeys.spikeServerErrorShare) ?? spike.serverErrorShare
        spike.notFoundShare = loader.present(MonitorKeys.spikeNotFoundShare) ?? spike.notFoundShare
        spike.multiple = loader.present(MonitorKeys.spikeMultiple) ?? spike.multiple
        for p in spike.problems() { loader.problems.append(.init(key: p.key, reason: p.reason)) }
        settings.errorSpike = spike
        return settings
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
        out.append(
            "monitor.failure_rate: \(Self.number(c.failureRate)), backlog: \(c.backlog), average_duration: \(Self.number(c.averageDuration)) s")
        out.append("monitor.window_seconds: \(Self.number(c.windowSeconds)), window_builds: \(c.windowBuilds), minimum_builds: \(c.minimumBuilds)")
        out.append(
            "monitor.timeout_warning: \(warning), retention_days: \(Self.number(c.retentionDays)), evaluate_interval_ms: \(evaluateIntervalMs)\(cadence)"
        )
        if let w = webhook {
            let timing =
                "timeout_seconds \(Self.number(w.timeout)), initial_backoff_seconds \(Self.number(w.initialBackoff)), max_backoff_seconds \(Self.number(w.maxBackoff))"
            out.append("monitor.webhook: \(w.url), \(timing)")
        } else {
            out.append("monitor.webhook: off (no monitor.webhook.url)")
        }
        let s = errorSpike
        out.append(
            "monitor.error_spike: \(s.enabled ? "on" : "off"), window_s \(Self.number(s.window)), baseline_s \(Self.number(s.baseline)), "
                + "min_responses \(s.minResponses), server_error_share \(Self.number(s.serverErrorShare)), "
                + "not_found_share \(Self.number(s.notFoundShare)), multiple \(Self.number(s.multiple))")
        return out
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

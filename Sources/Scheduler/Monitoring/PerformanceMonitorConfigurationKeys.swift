import Foundation

extension MonitorConfiguration {
    /// The configuration from `monitor.*` values looked up by key (the wiring passes its config reader;
    /// values are strings as in the environment: `WHARF_MONITOR_BACKLOG=20`). Absent keys keep their
    /// defaults; `monitor.thresholds.<type>` is read for each of `buildTypes` and the seeds' four;
    /// `monitor.timeout_warning` may be `off`. A malformed or out-of-range value is refused with its key.
    /// - Parameter timeoutWarning: the default for `monitor.timeout_warning` (the build runner's warning point).
    public static func from(buildTypes: some Sequence<String>, timeoutWarning: Double? = 1200,
                            lookup: (String) -> String?) throws(SchedulerError) -> MonitorConfiguration {
        var config = MonitorConfiguration(timeoutWarning: timeoutWarning)
        for type in Set(buildTypes).union(defaultThresholds.keys).sorted() {
            if let seconds = try ConfigurationValues.seconds("monitor.thresholds.\(type)", lookup) { config.thresholds[type] = seconds }
        }
        config.defaultThreshold = try ConfigurationValues.seconds("monitor.thresholds.default", lookup) ?? config.defaultThreshold
        config.dominantStageShare = try ConfigurationValues.number("monitor.dominant_stage_share", lookup) ?? config.dominantStageShare
        config.failureRate = try ConfigurationValues.number("monitor.failure_rate", lookup) ?? config.failureRate
        config.backlog = try ConfigurationValues.integer("monitor.backlog", lookup) ?? config.backlog
        config.averageDuration = try ConfigurationValues.seconds("monitor.average_duration", lookup) ?? config.averageDuration
        config.windowSeconds = try ConfigurationValues.seconds("monitor.window_seconds", lookup) ?? config.windowSeconds
        config.windowBuilds = try ConfigurationValues.integer("monitor.window_builds", lookup) ?? config.windowBuilds
        config.minimumBuilds = try ConfigurationValues.integer("monitor.minimum_builds", lookup) ?? config.minimumBuilds
        config.retentionDays = try ConfigurationValues.number("monitor.retention_days", lookup) ?? config.retentionDays
        if let text = lookup("monitor.timeout_warning")?.trimmingCharacters(in: .whitespaces).lowercased() {
            config.timeoutWarning = ["off", "none", "false", ""].contains(text) ? nil : try ConfigurationValues.seconds("monitor.timeout_warning", lookup)
        }
        try config.validate()
        return config
    }
}

/// Typed reads of string configuration values, each failure naming its key.
enum ConfigurationValues {
    static func number(_ key: String, _ lookup: (String) -> String?) throws(SchedulerError) -> Double? {
        guard let text = lookup(key)?.trimmingCharacters(in: .whitespaces) else { return nil }
        guard let value = Double(text), value.isFinite else { throw .invalidConfiguration("\(key): '\(text)' is not a number") }
        return value
    }

    static func seconds(_ key: String, _ lookup: (String) -> String?) throws(SchedulerError) -> Double? {
        guard let value = try number(key, lookup) else { return nil }
        guard value > 0 else { throw .invalidConfiguration("\(key) must be a positive number of seconds") }
        return value
    }

    static func integer(_ key: String, _ lookup: (String) -> String?) throws(SchedulerError) -> Int? {
        guard let text = lookup(key)?.trimmingCharacters(in: .whitespaces) else { return nil }
        guard let value = Int(text) else { throw .invalidConfiguration("\(key): '\(text)' is not a whole number") }
        return value
    }
}

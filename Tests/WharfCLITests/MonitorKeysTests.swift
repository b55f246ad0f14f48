import Testing

@testable import Scheduler
@testable import WharfCLI

/// The `monitor.*` keys read through the key table (from `WHARF_MONITOR_…` variables here, as
/// strings, the way the environment gives them): every key applied, bad values refused with the
/// key named, checks across keys still made.
@Suite struct MonitorKeysTests {
    func monitor(_ environment: [String: String]) async throws -> (MonitorSettings, [ConfigurationLoader.Problem]) {
        var loader = try await ConfigurationLoader.load(configFile: nil, environment: environment)
        let settings = loader.settings()
        return (settings.monitor, loader.problems)
    }

    @Test func absentKeysKeepTheSeedDefaults() async throws {
        let (m, problems) = try await monitor([:])
        #expect(problems.isEmpty)
        #expect(m.configuration == MonitorConfiguration())
        #expect(m.webhook == nil)
        #expect(m.errorSpike == ErrorSpikeConfiguration())
        // scheduler.warning_s is timeout_warning's default, and 0 there turns it off.
        #expect(try await monitor(["WHARF_SCHEDULER_WARNING_S": "1500"]).0.configuration.timeoutWarning == 1500)
        #expect(try await monitor(["WHARF_SCHEDULER_WARNING_S": "0"]).0.configuration.timeoutWarning == nil)
    }

    @Test func everyKeyIsApplied() async throws {
        let (m, problems) = try await monitor([
            "WHARF_MONITOR_THRESHOLDS_FLUTTER_WEB": "200", "WHARF_MONITOR_THRESHOLDS_DEFAULT": "100",
            "WHARF_MONITOR_DOMINANT_STAGE_SHARE": "0.5", "WHARF_MONITOR_FAILURE_RATE": "0.2", "WHARF_MONITOR_BACKLOG": "25",
            "WHARF_MONITOR_AVERAGE_DURATION": "600", "WHARF_MONITOR_WINDOW_SECONDS": "1800", "WHARF_MONITOR_WINDOW_BUILDS": "20",
            "WHARF_MONITOR_MINIMUM_BUILDS": "3", "WHARF_MONITOR_RETENTION_DAYS": "7", "WHARF_MONITOR_TIMEOUT_WARNING": "900",
            "WHARF_MONITOR_WEBHOOK_URL": "http://127.0.0.1:9009/alerts", "WHARF_MONITOR_WEBHOOK_TIMEOUT_SECONDS": "3",
            "WHARF_MONITOR_WEBHOOK_INITIAL_BACKOFF_SECONDS": "1", "WHARF_MONITOR_WEBHOOK_MAX_BACKOFF_SECONDS": "60",
        ])
        #expect(problems.isEmpty, "\(problems)")
        let c = m.configuration
        #expect(c.threshold(for: "flutter_web") == 200 && c.threshold(for: "javascript_web") == 120 && c.threshold(for: "unknown") == 100)
        #expect(c.dominantStageShare == 0.5 && c.failureRate == 0.2 && c.backlog == 25 && c.averageDuration == 600)
        #expect(c.windowSeconds == 1800 && c.windowBuilds == 20 && c.minimumBuilds == 3 && c.retentionDays == 7 && c.timeoutWarning == 900)
        let webhook = try #require(m.webhook)
        #expect(webhook.url.port == 9009 && webhook.timeout == 3 && webhook.initialBackoff == 1 && webhook.maxBackoff == 60)
        #expect(try await monitor(["WHARF_MONITOR_TIMEOUT_WARNING": "off"]).0.configuration.timeoutWarning == nil)
    }

    @Test func badValuesAreRefusedNamingTheirKey() async throws {
        let cases: [(String, String, String)] = [
            ("WHARF_MONITOR_BACKLOG", "ten", "monitor.backlog: expected an integer"),
            ("WHARF_MONITOR_THRESHOLDS_FLUTTER_IOS", "-5", "monitor.thresholds.flutter_ios: got -5, allowed > 0"),
            ("WHARF_MONITOR_THRESHOLDS_FLUTTER_IOS", "nan", "monitor.thresholds.flutter_ios: got nan, allowed > 0"),
            ("WHARF_MONITOR_FAILURE_RATE", "1.5", "monitor.failure_rate: got 1.5, allowed ≥ 0 and < 1"),
            ("WHARF_MONITOR_WINDOW_BUILDS", "0", "monitor.window_builds: got 0, allowed 1...10000"),
            ("WHARF_MONITOR_DOMINANT_STAGE_SHARE", "1", "monitor.dominant_stage_share: got 1, allowed > 0 and < 1"),
            ("WHARF_MONITOR_TIMEOUT_WARNING", "soon", "monitor.timeout_warning: got soon, allowed a number of seconds > 0, or off"),
            ("WHARF_MONITOR_MINIMUM_BUILDS", "60", "monitor.minimum_builds: must be 1...monitor.window_builds"),
            ("WHARF_MONITOR_WEBHOOK_URL", "https://hooks.example.test/x", "monitor.webhook.url: https webhooks are not supported"),
            ("WHARF_MONITOR_EVALUATE_INTERVAL_MS", "-1", "monitor.evaluate_interval_ms: got -1, allowed 0...3600000"),
        ]
        for (variable, value, message) in cases {
            let (m, problems) = try await monitor([variable: value])
            let text = problems.map(\.description)
            #expect(text.contains { $0.hasPrefix(message) }, "\(variable)=\(value): \(text)")
            #expect(m.configuration.validateQuietly, "a refused value was applied: \(variable)=\(value)")
        }
        // Backoffs that contradict each other: caught across keys, the webhook not configured.
        let (m, problems) = try await monitor([
            "WHARF_MONITOR_WEBHOOK_URL": "http://h/", "WHARF_MONITOR_WEBHOOK_INITIAL_BACKOFF_SECONDS": "10",
            "WHARF_MONITOR_WEBHOOK_MAX_BACKOFF_SECONDS": "5",
        ])
        #expect(m.webhook == nil)
        #expect(problems.contains { $0.key == "monitor.webhook" || $0.key.hasPrefix("monitor.webhook.") }, "\(problems)")
    }
}

extension MonitorConfiguration {
    /// True when the configuration passes its own checks (what the loader kept is consistent).
    var validateQuietly: Bool { (try? validate()) != nil }
}

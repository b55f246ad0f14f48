import Testing

@testable import Scheduler

/// The monitor's and the webhook's configuration values: the seeds' defaults and the checks that
/// involve more than one key (the wiring reads each key through its table, WharfCLI's MonitorKeys).
@Suite struct PerformanceMonitorConfigurationTests {
    @Test func theDefaultsAreTheSeeds() {
        let config = MonitorConfiguration()
        #expect(config.threshold(for: "javascript_web") == 120)
        #expect(config.threshold(for: "flutter_web") == 300)
        #expect(config.threshold(for: "flutter_android") == 600)
        #expect(config.threshold(for: "flutter_ios") == 900)
        #expect(config.threshold(for: "rust_wasm") == 300)
        #expect(config.timeoutWarning == 1200)
        #expect(throws: Never.self) { try config.validate() }
    }

    @Test func inconsistentValuesAreRefusedNamingTheirKey() {
        var config = MonitorConfiguration()
        config.thresholds["flutter_ios"] = -5
        #expect(throws: SchedulerError.invalidConfiguration("monitor.thresholds.flutter_ios must be a positive number of seconds")) {
            try config.validate()
        }
        config = MonitorConfiguration()
        config.failureRate = 1.5
        #expect(throws: SchedulerError.invalidConfiguration("monitor.failure_rate must be in 0..<1")) { try config.validate() }
        config = MonitorConfiguration()
        config.minimumBuilds = 60
        #expect(throws: SchedulerError.invalidConfiguration("monitor.minimum_builds must be 1...monitor.window_builds")) {
            try config.validate()
        }
        config = MonitorConfiguration()
        config.dominantStageShare = 1
        #expect(throws: SchedulerError.invalidConfiguration("monitor.dominant_stage_share must be between 0 and 1")) { try config.validate() }
    }

    @Test func theWebhookTakesOnlyAnHTTPURLAndConsistentBackoffs() throws {
        let url = try WebhookURL(parsing: "http://127.0.0.1:9009/alerts")
        let config = WebhookConfiguration(url: url, timeout: 3, initialBackoff: 1, maxBackoff: 60)
        #expect(config.url.port == 9009)
        #expect(config.url.target == "/alerts")
        #expect(config.backoff(afterFailures: 8) == 60)
        #expect(throws: Never.self) { try config.validate() }
        #expect(throws: WebhookURL.ParseError.httpsNotSupported) { try WebhookURL(parsing: "https://hooks.example.test/x") }
        #expect(throws: SchedulerError.self) { try WebhookConfiguration(url: url, timeout: 0).validate() }
        #expect(throws: SchedulerError.self) { try WebhookConfiguration(url: url, initialBackoff: 10, maxBackoff: 5).validate() }
    }
}

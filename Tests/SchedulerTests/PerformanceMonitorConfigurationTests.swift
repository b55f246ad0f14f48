import Testing
@testable import Scheduler

@Suite struct PerformanceMonitorConfigurationTests {
    @Test func absentKeysKeepTheSeedDefaults() throws {
        let config = try MonitorConfiguration.from(buildTypes: ["javascript_web"]) { _ in nil }
        #expect(config == MonitorConfiguration())
        #expect(config.threshold(for: "javascript_web") == 120)
        #expect(config.threshold(for: "flutter_web") == 300)
        #expect(config.threshold(for: "flutter_android") == 600)
        #expect(config.threshold(for: "flutter_ios") == 900)
        #expect(config.threshold(for: "rust_wasm") == 300)
    }

    @Test func everyKeyIsReadFromItsStringValue() throws {
        let values = [
            "monitor.thresholds.rust_wasm": "450", "monitor.thresholds.flutter_web": " 200 ", "monitor.thresholds.default": "100",
            "monitor.dominant_stage_share": "0.5", "monitor.failure_rate": "0.2", "monitor.backlog": "25",
            "monitor.average_duration": "600", "monitor.window_seconds": "1800", "monitor.window_builds": "20",
            "monitor.minimum_builds": "3", "monitor.retention_days": "7", "monitor.timeout_warning": "900",
        ]
        let config = try MonitorConfiguration.from(buildTypes: ["rust_wasm"]) { values[$0] }
        #expect(config.threshold(for: "rust_wasm") == 450)
        #expect(config.threshold(for: "flutter_web") == 200)
        #expect(config.threshold(for: "javascript_web") == 120)
        #expect(config.threshold(for: "unknown") == 100)
        #expect(config.dominantStageShare == 0.5)
        #expect(config.failureRate == 0.2)
        #expect(config.backlog == 25)
        #expect(config.averageDuration == 600)
        #expect(config.windowSeconds == 1800)
        #expect(config.windowBuilds == 20)
        #expect(config.minimumBuilds == 3)
        #expect(config.retentionDays == 7)
        #expect(config.timeoutWarning == 900)
        #expect(try MonitorConfiguration.from(buildTypes: [], timeoutWarning: 1500) { _ in nil }.timeoutWarning == 1500)
        #expect(try MonitorConfiguration.from(buildTypes: []) { $0 == "monitor.timeout_warning" ? "off" : nil }.timeoutWarning == nil)
    }

    @Test func malformedValuesAreRefusedNamingTheirKey() {
        let cases: [(String, String, String)] = [
            ("monitor.backlog", "ten", "monitor.backlog: 'ten' is not a whole number"),
            ("monitor.thresholds.flutter_ios", "-5", "monitor.thresholds.flutter_ios must be a positive number of seconds"),
            ("monitor.thresholds.flutter_ios", "nan", "monitor.thresholds.flutter_ios: 'nan' is not a number"),
            ("monitor.failure_rate", "1.5", "monitor.failure_rate must be in 0..<1"),
            ("monitor.window_builds", "0", "monitor.window_builds must be 1...10000"),
            ("monitor.dominant_stage_share", "2", "monitor.dominant_stage_share must be between 0 and 1"),
            ("monitor.timeout_warning", "soon", "monitor.timeout_warning: 'soon' is not a number"),
        ]
        for (key, value, message) in cases {
            #expect(throws: SchedulerError.invalidConfiguration(message), "\(key)=\(value)") {
                try MonitorConfiguration.from(buildTypes: []) { $0 == key ? value : nil }
            }
        }
    }

    @Test func theWebhookIsConfiguredOnlyByAnHTTPURL() throws {
        #expect(try WebhookConfiguration.from { _ in nil } == nil)
        #expect(try WebhookConfiguration.from { $0 == "monitor.webhook.url" ? "" : nil } == nil)
        let values = ["monitor.webhook.url": "http://127.0.0.1:9009/alerts", "monitor.webhook.timeout_seconds": "3",
                      "monitor.webhook.initial_backoff_seconds": "1", "monitor.webhook.max_backoff_seconds": "60"]
        let config = try #require(try WebhookConfiguration.from { values[$0] })
        #expect(config.url.port == 9009)
        #expect(config.url.target == "/alerts")
        #expect(config.timeout == 3)
        #expect(config.backoff(afterFailures: 8) == 60)
        #expect(throws: SchedulerError.invalidConfiguration(
            "monitor.webhook.url: https webhooks are not supported: use an http:// URL (e.g. a local relay)")) {
            try WebhookConfiguration.from { $0 == "monitor.webhook.url" ? "https://hooks.example.test/x" : nil }
        }
        #expect(throws: SchedulerError.self) {
            try WebhookConfiguration.from { ["monitor.webhook.url": "http://h/", "monitor.webhook.timeout_seconds": "0"][$0] }
        }
    }
}

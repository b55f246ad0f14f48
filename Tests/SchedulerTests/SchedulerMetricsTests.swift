import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

/// The scheduler's metrics checked by an independent parser: the `prometheus_client` Python package's
/// text parser (the Makefile's deps step installs it).
@Suite struct SchedulerMetricsTests {
    typealias Family = PrometheusExposition.Family

    static func parse(_ text: String) throws -> [Family] { try PrometheusExposition.parse(text) }

    func value(_ families: [Family], _ sample: String, _ labels: [String: String] = [:]) -> Double? {
        PrometheusExposition.value(families, sample, labels)
    }

    @Test func theSchedulerMetricsParseAsPrometheusTextWithTheQueueSlotsBuildsAndAlerts() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let monitor = try makeMonitor(dir)
        var time = t0
        for (type, seconds) in [("flutter_web", 45.0), ("flutter_web", 400), ("javascript_web", 5)] {
            let job = try runBuild(monitor, dir, app: "shop", type: type, start: time, seconds: seconds)
            try monitor.buildFinished(job: job, now: time.addingTimeInterval(seconds))
            time = time.addingTimeInterval(seconds + 1)
        }
        let failed = try runBuild(
            monitor, dir, type: "javascript_web", start: time, seconds: 3,
            outcome: .failed(exitCode: 1, error: "exit status 1"))
        try monitor.buildFinished(job: failed, now: time.addingTimeInterval(3))
        time = time.addingTimeInterval(4)
        for i in 0..<3 { try monitor.queue.enqueue(request(dir, app: "q\(i)"), now: time) }
        try monitor.queue.enqueue(request(dir, app: "warm", kind: .cache_warm), now: time)
        _ = try #require(try monitor.queue.claim(owner: "worker", now: time))

        let metrics = try SchedulerMetrics.collect(monitor: monitor, slots: SlotFigures(desired: 4, active: 2, busy: 1), now: time)
        let families = try Self.parse(metrics.prometheusText)

        #expect(value(families, "wharf_scheduler_queue_length", ["kind": "user_push"]) == 2)
        #expect(value(families, "wharf_scheduler_queue_length", ["kind": "cache_warm"]) == 1)
        #expect(value(families, "wharf_scheduler_queue_length", ["kind": "retry"]) == 0)
        #expect(value(families, "wharf_scheduler_running_builds") == 1)
        #expect(value(families, "wharf_scheduler_slots_desired") == 4)
        #expect(value(families, "wharf_scheduler_slots_active") == 2)
        #expect(families.first { $0.name == "wharf_build_duration_seconds" }?.type == "histogram")
        #expect(value(families, "wharf_build_duration_seconds_bucket", ["type": "flutter_web", "le": "60"]) == 1)
        #expect(value(families, "wharf_build_duration_seconds_bucket", ["type": "flutter_web", "le": "450"]) == 2)
        #expect(value(families, "wharf_build_duration_seconds_bucket", ["type": "flutter_web", "le": "+Inf"]) == 2)
        #expect(value(families, "wharf_build_duration_seconds_sum", ["type": "flutter_web"]) == 445)
        #expect(value(families, "wharf_build_duration_seconds_count", ["type": "javascript_web"]) == 2)
        #expect(families.first { $0.name == "wharf_builds" }?.type == "counter")
        #expect(value(families, "wharf_builds_total", ["type": "javascript_web", "outcome": "failed"]) == 1)
        #expect(value(families, "wharf_builds_total", ["type": "flutter_web", "outcome": "succeeded"]) == 2)
        #expect(value(families, "wharf_alerts_firing", ["kind": "slow_build"]) == 1)
        #expect(value(families, "wharf_alerts_firing", ["kind": "backlog"]) == 0)
        #expect(value(families, "wharf_build_window_failure_ratio") == 0.25)
    }

    @Test func metricsWithWebhookFiguresAndHostileLabelValuesStayParseable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let monitor = try makeMonitor(dir, configuration: MonitorConfiguration(thresholds: ["x": 1]))
        let webhook = try WebhookDelivery(
            database: monitor.queue.database,
            configuration: WebhookConfiguration(url: try WebhookURL(parsing: "http://127.0.0.1:\(try TestReceiver.closedPort())/")))
        var metrics = try SchedulerMetrics.collect(monitor: monitor, slots: nil, webhook: webhook, now: t0)
        metrics.family(
            "wharf_test_labels", .gauge, "Help with \\ backslash\nand newline.",
            [.init(name: "wharf_test_labels", labels: [.init("v", "quote \" back \\ nl \n 🚢")], value: 0.125)])
        let families = try Self.parse(metrics.prometheusText)
        #expect(value(families, "wharf_alert_webhook_pending") == 0)
        #expect(value(families, "wharf_alert_webhook_attempts_total", ["result": "failed"]) == 0)
        #expect(value(families, "wharf_test_labels", ["v": "quote \" back \\ nl \n 🚢"]) == 0.125)
        #expect(families.first { $0.name == "wharf_scheduler_slots_desired" } == nil)
        // An empty histogram family is still valid text.
        #expect(families.first { $0.name == "wharf_build_duration_seconds" }?.samples.isEmpty == true)
    }

    @Test func theStatusCarriesTheSameFiguresAsJSON() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let monitor = try makeMonitor(dir)
        let job = try runBuild(monitor, dir, type: "javascript_web", start: t0, seconds: 200)
        try monitor.buildFinished(job: job, now: t0.addingTimeInterval(200))
        for i in 0..<2 { try monitor.queue.enqueue(request(dir, app: "q\(i)"), now: t0.addingTimeInterval(201)) }
        let status = try SchedulerStatus.collect(monitor: monitor, slots: SlotFigures(desired: 1, active: 1), now: t0.addingTimeInterval(202))
        #expect(status.queue.queued == 2)
        #expect(status.queue.queuedByKind["user_push"] == 2)
        #expect(status.builds.window.builds == 1)
        #expect(status.builds.window.averageSeconds == 200)
        #expect(status.alerts.firing == 1)
        #expect(status.alerts.firingByKind["slow_build"] == 1)
        #expect(status.alerts.webhookPending == nil)
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any])
        #expect((json["queue"] as? [String: Any])?["queuedByKind"] is [String: Any])
        #expect(((json["builds"] as? [String: Any])?["window"] as? [String: Any])?["averageSeconds"] as? Double == 200)
    }
}

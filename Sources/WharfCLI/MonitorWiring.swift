import Edge
import Foundation
import Scheduler
import Synchronization

/// The performance monitor beside a running scheduler (`wharf serve` and `wharf scheduler`): alerts in
/// the scheduler's database, posted to the webhook by its own thread when one is configured, and the
/// rolling checks evaluated every `monitor.evaluate_interval_ms` (every `scheduler.tick_ms` when 0).
/// Evaluation only touches SQLite, on a Dispatch worker, so neither the control loop nor an edge loop
/// ever waits for it. `register(on:)` adds `/_wharf/api/alerts`, the scheduler's metric families and
/// the status section `monitor` to the admin API.
final class MonitorWiring: Sendable {
    let monitor: PerformanceMonitor
    let webhook: WebhookDelivery?
    let settings: MonitorSettings
    private let runner: SchedulerRunner
    private let log: @Sendable (String) -> Void
    /// The autoscaler's last decision (-1 before the first tick).
    private let desiredSlots = LatestValue()
    private let evaluation = Mutex<PeriodicRunner?>(nil)

    init(settings: MonitorSettings, runner: SchedulerRunner, logger log: @escaping @Sendable (String) -> Void) throws {
        let database = runner.queue.database
        let webhook = try settings.webhook.map { try WebhookDelivery(database: database, configuration: $0, log: log) }
        var wake: (@Sendable () -> Void)?
        if let webhook { wake = { webhook.wake() } }
        monitor = try PerformanceMonitor(
            queue: runner.queue, alerts: AlertStore(database: database, onDeliveryQueued: wake),
            configuration: settings.configuration, log: log)
        self.webhook = webhook
        self.settings = settings
        self.runner = runner
        self.log = log
        let desired = desiredSlots
        runner.observeTicks { report in desired.value.store(report.decision.desiredSlots, ordering: .relaxed) }
    }

    /// Starts the webhook thread (which first sends what an earlier process left undelivered) and the evaluation loop.
    func start() async {
        webhook?.start()
        let monitor = self.monitor
        let interval = settings.evaluateIntervalMs == 0 ? runner.settings.tickMs : settings.evaluateIntervalMs
        // Evaluation only touches SQLite, on a Dispatch worker.
        let periodic = PeriodicRunner(
            tasks: [
                PeriodicTask(name: "monitor evaluation", interval: Double(interval) / 1000) { now in
                    _ = try await OffPool.run { try monitor.evaluate(now: now) }
                }
            ], log: log)
        self.evaluation.withLock { $0 = periodic }
        await periodic.start()
        let cadence = settings.evaluateIntervalMs == 0 ? "every scheduler tick (\(interval) ms)" : "every \(interval) ms"
        let target = webhook.map { "\($0.configuration.url)" } ?? "off"
        log("performance monitor: \(settings.thresholdsText); evaluated \(cadence); webhook \(target)")
    }

    /// Ends the evaluation loop and the webhook thread (undelivered alerts stay in the outbox for the next start).
    func stop() async {
        if let periodic = self.evaluation.withLock({ r in
            defer { r = nil }
            return r
        }) {
            await periodic.stop()
        }
        if let webhook { _ = try? await OffPool.run { webhook.stop() } }
    }

    /// The slot pool from the control loop's latest report, with the autoscaler's latest decision.
    func slotFigures() -> SlotFigures? {
        guard let report = runner.api.slotsReport() else { return nil }
        let desired = desiredSlots.value.load(ordering: .relaxed)
        return SlotFigures(
            desired: desired >= 0 ? desired : report.slots.count, active: report.slots.count,
            busy: report.slots.count { $0.phase == "busy" },
            provisioning: report.slots.count { $0.phase == "provisioning" },
            min: report.minSlots, max: report.maxSlots)
    }

    /// `GET /_wharf/api/alerts` (`?all=1`, `?kind=`, `?limit=`; the admin server checks the token), the
    /// scheduler's families on `/_wharf/metrics`, and `monitor` on `/_wharf/api/status`.
    func register(on admin: AdminServer) throws {
        let alerts = monitor.alerts
        try admin.routes.register("GET", "/_wharf/api/alerts") { request in
            let response = AlertsAPI.handle(store: alerts, query: request.queryItems)
            return AdminResponse(status: response.status, body: response.body)
        }
        let failures = Mutex<String?>(nil)
        admin.addMetrics { [self] text in
            do {
                let metrics = try SchedulerMetrics.collect(monitor: monitor, slots: slotFigures(), webhook: webhook, now: Date())
                Self.copy(metrics, into: &text)
                failures.withLock { $0 = nil }
            } catch {
                // The edge's families are still served; the scrape shows the scheduler's as absent.
                let message = "\(error)"
                if failures.withLock({ last in
                    defer { last = message }
                    return last != message
                }) {
                    log("scheduler metrics unavailable: \(message)")
                }
            }
        }
        admin.addStatusSection("monitor") { [self] in
            try SchedulerStatus.collect(monitor: monitor, slots: slotFigures(), webhook: webhook, now: Date())
        }
    }

    /// Copies the scheduler's families into the admin server's exposition (which checks names and escapes values).
    static func copy(_ metrics: SchedulerMetrics, into text: inout PrometheusText) {
        for family in metrics.families {
            let kind = PrometheusText.Kind(rawValue: family.kind.rawValue) ?? .untyped
            text.family(family.name, kind, family.help) { out in
                for sample in family.samples { out.sample(sample.name, sample.labels.map { ($0.name, $0.value) }, sample.value) }
            }
        }
    }
}

/// One integer shared between threads (the control loop writes, metric scrapes read).
final class LatestValue: Sendable {
    let value = Atomic<Int>(-1)
}

/// The `monitor.*` keys: the performance monitor's thresholds, the edge's error-spike alert and the
/// alert webhook, read by `MonitorSettings` into the Scheduler's `MonitorConfiguration`,
/// `ErrorSpikeConfiguration` and `WebhookConfiguration` (whose `validate()` checks what involves
/// two keys). Defaults are those types' (a test checks). Values are seconds unless noted.
enum MonitorKeys {
    /// `monitor.thresholds.<type>`: the per-build-type slow-build threshold (defaults per type in
    /// `MonitorConfiguration.defaultThresholds`; other types take `monitor.thresholds.default`).
    static let threshold = SettingKey<Double>(
        "monitor.thresholds.<type>", 300, .above(0),
        "a build of this type running longer raises slow_build (javascript_web 120, flutter_web 300, flutter_android 600, flutter_ios 900)")
    static let defaultThreshold = SettingKey<Double>("monitor.thresholds.default", 300, .above(0), "the slow_build threshold of any other build type")
    static let dominantStageShare = SettingKey<Double>(
        "monitor.dominant_stage_share", 0.4, .between(0, 1),
        "a slow build's stages over this share of its time are named")
    static let failureRate = SettingKey<Double>(
        "monitor.failure_rate", 0.1, .from(0, below: 1), "failure_rate alert: share of the window's builds failed")
    static let backlog = SettingKey<Int>("monitor.backlog", 10, .atLeast(0), "backlog alert: more than this many builds queued")
    static let averageDuration = SettingKey<Double>("monitor.average_duration", 300, .above(0), "average_duration alert: the window's average")
    static let windowSeconds = SettingKey<Double>("monitor.window_seconds", 3600, .above(0), "the rolling window: builds finished within this long")
    static let windowBuilds = SettingKey<Int>("monitor.window_builds", 50, .within(1, 10_000), "… at most this many of the newest")
    static let minimumBuilds = SettingKey<Int>(
        "monitor.minimum_builds", 5, .within(1, 10_000), "failure_rate and average_duration need this many builds (at most window_builds)")
    static let timeoutWarning = SettingKey<String>(
        "monitor.timeout_warning", "", .any,
        "timeout_warning alert after this many seconds (> 0); unset = scheduler.warning_s; off = none")
    static let retentionDays = SettingKey<Double>(
        "monitor.retention_days", 30, .above(0), "build records and resolved alerts older than this are pruned")
    static let evaluateIntervalMs = SettingKey<Int>(
        "monitor.evaluate_interval_ms", 5000, .within(0, 3_600_000),
        "how often the rolling checks run; 0 = every scheduler tick")
    static let spikeEnabled = SettingKey<Bool>("monitor.error_spike.enabled", true, .any, "the edge's per-app 5xx and 404 rate alerts")
    static let spikeWindow = SettingKey<Double>("monitor.error_spike.window_s", 300, .within(10, 86_400), "the recent window")
    static let spikeBaseline = SettingKey<Double>(
        "monitor.error_spike.baseline_s", 3600, .within(10, 604_800),
        "the window is compared with the share over this (more than window_s)")
    static let spikeMinResponses = SettingKey<Int>(
        "monitor.error_spike.min_responses", 50, .within(1, 1_000_000), "fewer responses in the window: no alert")
    static let spikeServerErrorShare = SettingKey<Double>(
        "monitor.error_spike.server_error_share", 0.05, .above(0, atMost: 1), "5xx share that fires (critical)")
    static let spikeNotFoundShare = SettingKey<Double>(
        "monitor.error_spike.not_found_share", 0.25, .above(0, atMost: 1), "404 share that fires (warning)")
    static let spikeMultiple = SettingKey<Double>(
        "monitor.error_spike.multiple", 3, .within(1, 1000), "… when also this many times the baseline's share")
    static let webhookURL = SettingKey<String>("monitor.webhook.url", "", .any, "alerts are POSTed as JSON to this http:// URL; empty = no webhook")
    static let webhookTimeout = SettingKey<Double>("monitor.webhook.timeout_seconds", 10, .above(0, atMost: 300), "per delivery attempt")
    static let webhookInitialBackoff = SettingKey<Double>(
        "monitor.webhook.initial_backoff_seconds", 2, .above(0), "wait after a failed delivery; doubles")
    static let webhookMaxBackoff = SettingKey<Double>(
        "monitor.webhook.max_backoff_seconds", 600, .above(0), "… up to this (at least initial_backoff_seconds)")

    static let keys: [KeyDescriptor] = [
        threshold.descriptor, defaultThreshold.descriptor, dominantStageShare.descriptor, failureRate.descriptor, backlog.descriptor,
        averageDuration.descriptor, windowSeconds.descriptor, windowBuilds.descriptor, minimumBuilds.descriptor,
        timeoutWarning.descriptor, retentionDays.descriptor, evaluateIntervalMs.descriptor,
        spikeEnabled.descriptor, spikeWindow.descriptor, spikeBaseline.descriptor, spikeMinResponses.descriptor,
        spikeServerErrorShare.descriptor, spikeNotFoundShare.descriptor, spikeMultiple.descriptor,
        webhookURL.descriptor, webhookTimeout.descriptor, webhookInitialBackoff.descriptor, webhookMaxBackoff.descriptor,
    ]
}

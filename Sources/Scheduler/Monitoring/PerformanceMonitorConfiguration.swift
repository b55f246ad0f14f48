/// Thresholds of the performance monitor (the `monitor.*` configuration keys, read by the wiring
/// from its key table; seconds unless noted). The defaults here are the seeds'.
///
/// The rolling window is the last `windowBuilds` builds that finished within the last `windowSeconds`;
/// cache hits and cancelled builds are not builds for it. The failure-rate and average-duration alerts
/// need at least `minimumBuilds` builds in the window (one failure out of one build is not a rate).
public struct MonitorConfiguration: Sendable, Equatable {
    /// Slow-build thresholds by build type.
    public var thresholds: [String: Double]
    /// The threshold of a build type not in `thresholds`.
    public var defaultThreshold: Double
    /// A stage taking more than this share of a slow build's time is named in its alert.
    public var dominantStageShare: Double
    /// Alert when more than this share of the window's builds failed or timed out.
    public var failureRate: Double
    /// Alert when more than this many builds are queued.
    public var backlog: Int
    /// Alert when the window's builds took longer than this on average.
    public var averageDuration: Double
    public var windowSeconds: Double
    public var windowBuilds: Int
    public var minimumBuilds: Int
    /// A running build older than this raises `timeout_warning`; nil turns the check off.
    public var timeoutWarning: Double?
    /// Build records and resolved alerts older than this are pruned.
    public var retentionDays: Double

    /// The seeds' thresholds per build type.
    public static let defaultThresholds: [String: Double] = [
        "javascript_web": 120, "flutter_web": 300, "flutter_android": 600, "flutter_ios": 900,
    ]

    public init(
        thresholds: [String: Double] = MonitorConfiguration.defaultThresholds, defaultThreshold: Double = 300,
        dominantStageShare: Double = 0.4, failureRate: Double = 0.10, backlog: Int = 10,
        averageDuration: Double = 300, windowSeconds: Double = 3600, windowBuilds: Int = 50,
        minimumBuilds: Int = 5, timeoutWarning: Double? = 1200, retentionDays: Double = 30
    ) {
        self.thresholds = thresholds
        self.defaultThreshold = defaultThreshold
        self.dominantStageShare = dominantStageShare
        self.failureRate = failureRate
        self.backlog = backlog
        self.averageDuration = averageDuration
        self.windowSeconds = windowSeconds
        self.windowBuilds = windowBuilds
        self.minimumBuilds = minimumBuilds
        self.timeoutWarning = timeoutWarning
        self.retentionDays = retentionDays
    }

    /// The slow-build threshold of `buildType`.
    func threshold(for buildType: String) -> Double {
        thresholds[buildType] ?? defaultThreshold
    }

    /// Refuses values that would make an alert meaningless (each problem names its key).
    public func validate() throws(SchedulerError) {
        func positive(_ value: Double, _ key: String) throws(SchedulerError) {
            guard value.isFinite, value > 0 else { throw .invalidConfiguration("\(key) must be a positive number of seconds") }
        }
        for (type, seconds) in thresholds.sorted(by: { $0.key < $1.key }) { try positive(seconds, "monitor.thresholds.\(type)") }
        try positive(defaultThreshold, "monitor.thresholds.default")
        try positive(averageDuration, "monitor.average_duration")
        try positive(windowSeconds, "monitor.window_seconds")
        try positive(retentionDays, "monitor.retention_days")
        if let timeoutWarning { try positive(timeoutWarning, "monitor.timeout_warning") }
        guard dominantStageShare > 0, dominantStageShare < 1 else {
            throw .invalidConfiguration("monitor.dominant_stage_share must be between 0 and 1")
        }
        guard failureRate >= 0, failureRate < 1 else { throw .invalidConfiguration("monitor.failure_rate must be in 0..<1") }
        guard backlog >= 0 else { throw .invalidConfiguration("monitor.backlog must be 0 or more") }
        guard (1...10_000).contains(windowBuilds) else { throw .invalidConfiguration("monitor.window_builds must be 1...10000") }
        guard (1...windowBuilds).contains(minimumBuilds) else {
            throw .invalidConfiguration("monitor.minimum_builds must be 1...monitor.window_builds")
        }
    }
}

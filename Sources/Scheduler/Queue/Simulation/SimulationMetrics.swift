import Foundation

/// What a replay measured: the figures TRACE-FORMAT.md asks for, named like `sim.py --json` prints them.
public struct SimulationMetrics: Sendable, Equatable, Codable {
    public var policy: String
    var userPushes: Int
    var userWaitP50: Double?
    var userWaitP95: Double?
    var userWaitP99: Double?
    var userWaitMean: Double?
    var userTurnaroundP95: Double?
    var humanWaitP95: Double?
    var botWaitP95: Double?
    var warmBuilds: Int
    var warmWaitP95: Double?
    /// Share of cache-warm requests finished (success or final failure) by the 07:00 after their arrival.
    var warmDoneBy0700: Double?
    /// When the last warm build of each night finished, as seconds after that night's midnight.
    var warmLastDoneByNight: [Double]
    var slotSeconds: Double
    var busySeconds: Double
    var peakSlots: Int
    var scaleEvents: Int
    var scaleUps: Int
    var scaleDowns: Int
    var slotsStarted: Int
    public var attempts: Int
    var coldAttemptShare: Double?
    var slowBuildAlerts: Int
    var timeouts: Int
    var automaticRetries: Int
    /// Jobs whose failures were judged deterministic, so their retries were skipped.
    var retriesSkipped: Int
    var failedAttemptSeconds: Double
    var unfinished: Int
    var endTime: Double

    enum CodingKeys: String, CodingKey {
        case policy
        case userPushes = "n_user_push"
        case userWaitP50 = "user_wait_p50_s"
        case userWaitP95 = "user_wait_p95_s"
        case userWaitP99 = "user_wait_p99_s"
        case userWaitMean = "user_wait_mean_s"
        case userTurnaroundP95 = "user_turnaround_p95_s"
        case humanWaitP95 = "human_push_wait_p95_s"
        case botWaitP95 = "bot_push_wait_p95_s"
        case warmBuilds = "n_cache_warm"
        case warmWaitP95 = "warm_wait_p95_s"
        case warmDoneBy0700 = "warm_done_by_0700_frac"
        case warmLastDoneByNight = "warm_last_done_s_after_midnight"
        case slotSeconds = "slot_seconds"
        case busySeconds = "busy_seconds"
        case peakSlots = "peak_slots"
        case scaleEvents = "scale_events"
        case scaleUps = "scale_ups"
        case scaleDowns = "scale_downs"
        case slotsStarted = "slots_provisioned"
        case attempts
        case coldAttemptShare = "cold_attempt_frac"
        case slowBuildAlerts = "slow_build_alerts"
        case timeouts
        case automaticRetries = "auto_retries"
        case retriesSkipped = "retries_skipped_deterministic"
        case failedAttemptSeconds = "failed_attempt_seconds"
        case unfinished
        case endTime = "sim_end_s"
    }

    /// Nearest-rank percentile (`p` in 0...100), nil for no values: the definition `sim.py` uses.
    static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    /// The 07:00 that follows `time` (same day if earlier than 07:00, else the next day's).
    public static func warmDeadline(after time: Double) -> Double {
        let deadline = (time / 86_400).rounded(.down) * 86_400 + 7 * 3600
        return time < deadline ? deadline : deadline + 86_400
    }

    /// A human-readable table, one figure per line.
    public var text: String {
        func f(_ x: Double?, _ digits: Int = 1) -> String {
            guard let x else { return "-" }
            return String(format: "%.\(digits)f", x)
        }
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
        let nights = warmLastDoneByNight.map { s in
            String(format: "%02d:%02d", Int(s) / 3600, (Int(s) % 3600) / 60) + (s >= 86_400 ? "+1d" : "")
        }
        let rows: [(String, String)] = [
            ("policy", policy),
            ("user pushes", "\(userPushes)"),
            ("user wait p50/p95/p99 s", "\(f(userWaitP50)) / \(f(userWaitP95)) / \(f(userWaitP99))"),
            ("user wait mean s", f(userWaitMean)),
            ("human / bot wait p95 s", "\(f(humanWaitP95)) / \(f(botWaitP95))"),
            ("user turnaround p95 s", f(userTurnaroundP95)),
            ("warm builds", "\(warmBuilds)"),
            ("warm wait p95 s", f(warmWaitP95)),
            ("warm done by 07:00", pct(warmDoneBy0700)),
            ("last warm build done", nights.isEmpty ? "-" : nights.joined(separator: ", ")),
            ("cost slot-seconds", f(slotSeconds, 0)),
            ("busy slot-seconds", f(busySeconds, 0)),
            ("peak slots", "\(peakSlots)"),
            ("scale events (up/down)", "\(scaleEvents) (\(scaleUps)/\(scaleDowns))"),
            ("slots provisioned", "\(slotsStarted)"),
            ("attempts", "\(attempts)"),
            ("cold attempts", pct(coldAttemptShare)),
            ("slow-build alerts", "\(slowBuildAlerts)"),
            ("timeouts", "\(timeouts)"),
            ("automatic retries", "\(automaticRetries)"),
            ("retries skipped (deterministic)", "\(retriesSkipped)"),
            ("failed-attempt seconds", f(failedAttemptSeconds, 0)),
            ("unfinished", "\(unfinished)"),
            ("end of run s", f(endTime, 0)),
        ]
        return rows.map { $0.0.padding(toLength: 32, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }
}

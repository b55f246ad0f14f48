import Foundation
import GRDB
import Synchronization

/// Watches build performance. The wiring calls `buildFinished(job:now:)` with each job the executor
/// returns (final or re-queued for a retry) and `evaluate(now:)` every few seconds for the rolling
/// checks; both only touch SQLite (webhook posts happen on `WebhookDelivery`'s own thread), so they
/// never wait on the network. Alerts are raised, deduplicated and resolved in `AlertStore`, and each
/// firing and resolution is logged through `log`.
public final class PerformanceMonitor: Sendable {
    let queue: JobQueue
    public let alerts: AlertStore
    public let configuration: MonitorConfiguration
    private let log: @Sendable (String) -> Void
    private let figures = Mutex(BuildFigures())
    private let lastPrune = Mutex<Date?>(nil)
    /// The end time (seconds since 1970) up to which finished attempts were collected.
    private let collectedUpTo = Mutex<Double?>(nil)

    /// - Parameter log: receives one line per alert fired or resolved.
    public init(
        queue: JobQueue, alerts: AlertStore, configuration: MonitorConfiguration = .init(),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(SchedulerError) {
        try configuration.validate()
        self.queue = queue
        self.alerts = alerts
        self.configuration = configuration
        self.log = log
    }

    /// What one call changed.
    public struct Report: Sendable, Equatable {
        /// Alerts that started firing.
        var fired: [Alert] = []
        /// Alerts already firing whose count went up.
        var repeated: [Alert] = []
        var resolved: [Alert] = []
    }

    // MARK: - One build

    /// Records the attempt `job` just finished (total and per-stage durations), checks it against its
    /// type's threshold (a slow build raises `slow_build`; a build within it resolves its app's
    /// `slow_build`), and resolves the job's `timeout_warning`. Calling it twice for the same attempt
    /// records it once (and `evaluate` finds attempts nobody reported). Returns nil when `job` has not
    /// finished an attempt.
    @discardableResult
    func buildFinished(job: Job, now: Date) throws -> (record: BuildRecord, report: Report)? {
        let attempt = try queue.attempts(of: job.id).last { $0.attempt == job.attempt }
        guard let record = BuildRecord.of(job: job, attempt: attempt, now: now) else { return nil }
        var report = Report()
        try check(record, now: now, into: &report)
        return (record, report)
    }

    /// Records and checks every attempt that ended (in this process or another: the `job_attempt`
    /// table) and was not reported through `buildFinished`, including attempts whose lease expired.
    /// `evaluate` calls it first; at most 1000 per call, oldest first.
    @discardableResult
    func collectFinishedAttempts(now: Date) throws -> Report {
        let since = collectedUpTo.withLock { $0 } ?? now.timeIntervalSince1970 - configuration.windowSeconds
        let found = try queue.database.writer.read { db -> [(JobAttempt, Job?)] in
            let attempts = try JobAttempt.fetchAll(
                db,
                sql: """
                    SELECT a.* FROM job_attempt a
                    WHERE a.ended_at IS NOT NULL AND a.ended_at > ? AND a.outcome IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM build_record r WHERE r.job_id = a.job_id AND r.attempt = a.attempt)
                    ORDER BY a.ended_at, a.job_id LIMIT 1000
                    """, arguments: [since - Self.collectionSlack])
            return try attempts.map { a in (a, try Job.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [a.jobID])) }
        }
        var report = Report()
        for (attempt, job) in found {
            guard let job, let record = BuildRecord.of(attempt: attempt, job: job) else { continue }
            try check(record, now: now, into: &report)
        }
        if let last = found.last?.0.endedAt?.timeIntervalSince1970, found.count == 1000 {
            collectedUpTo.withLock { $0 = last }
        } else {
            collectedUpTo.withLock { $0 = max($0 ?? 0, now.timeIntervalSince1970) }
        }
        return report
    }

    /// Attempts may end with a time slightly before one already seen (another process's clock, a
    /// transaction that committed late): collection looks this far back, and skips what it recorded.
    static let collectionSlack = 120.0

    private func check(_ record: BuildRecord, now: Date, into report: inout Report) throws {
        let inserted = try queue.database.writer.write { db in try record.insert(db) }
        guard inserted else { return }
        figures.withLock { $0.add(record) }
        if let job = try? queue.get(record.jobID), job.state != .running {
            try resolve(TimeoutWarning.key(jobID: record.jobID), now: now, into: &report)
        }
        if let slow = SlowBuildAnalysis.analyse(
            record, threshold: configuration.threshold(for: record.buildType),
            dominantShare: configuration.dominantStageShare)
        {
            try raise(slow.condition, now: now, into: &report)
        } else if record.outcome == "succeeded", !record.cacheHit {
            try resolve(SlowBuildAnalysis.key(app: record.app, buildType: record.buildType), now: now, into: &report)
        }
    }

    /// The build runner's timeout-warning event for a running job: raises its `timeout_warning` at once
    /// (`evaluate` finds the same condition from the job's start time, under the same key).
    @discardableResult
    public func timeoutWarning(job: Job, elapsed: Double, now: Date) throws -> Report {
        var report = Report()
        try raise(TimeoutWarning.condition(job: job, elapsed: elapsed, warningAfter: configuration.timeoutWarning), now: now, into: &report)
        return report
    }

    // MARK: - Rolling checks

    /// Collects unreported finished attempts, then runs the rolling checks at `now`: failure rate and
    /// average duration over the window, backlog, and running builds past their timeout warning. Each condition that holds is raised, each that
    /// no longer holds is resolved. Also prunes old records once an hour.
    @discardableResult
    public func evaluate(now: Date) throws -> Report {
        var report = try collectFinishedAttempts(now: now)
        let window = try windowSummary(now: now)
        for check in RollingChecks(configuration: configuration).conditions(window: window, queued: try queuedCounts()) {
            if let condition = check.condition {
                try raise(condition, now: now, into: &report)
            } else {
                try resolve(check.key, now: now, into: &report)
            }
        }
        try evaluateTimeoutWarnings(now: now, into: &report)
        try pruneIfDue(now: now)
        return report
    }

    /// The builds of the rolling window ending at `now`, newest first.
    func window(now: Date) throws -> [BuildRecord] {
        let time = now.timeIntervalSince1970
        return try queue.database.writer.read { db in
            try BuildRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM build_record
                    WHERE finished_at > ? AND finished_at <= ? AND cache_hit = 0 AND outcome <> 'cancelled'
                    ORDER BY finished_at DESC, job_id DESC LIMIT ?
                    """, arguments: [time - configuration.windowSeconds, time, configuration.windowBuilds])
        }
    }

    /// Counts and averages of the window ending at `now`.
    func windowSummary(now: Date) throws -> WindowSummary {
        WindowSummary(records: try window(now: now), windowSeconds: configuration.windowSeconds)
    }

    /// Queued jobs by kind, from the queue's storage (so jobs other processes queued count too).
    func queuedCounts() throws -> [JobKind: Int] {
        var counts = Dictionary(uniqueKeysWithValues: JobKind.allCases.map { ($0, 0) })
        for (name, n) in try queue.storage.queuedCountsByKind() { if let kind = JobKind(rawValue: name) { counts[kind] = n } }
        return counts
    }

    /// Jobs running now, from the queue's storage (every scheduler sharing it).
    func runningCount() throws -> Int {
        try queue.storage.runningCount()
    }

    /// Recorded builds, newest first (at most `limit`), optionally of one job.
    func records(jobID: Int64? = nil, limit: Int = 100) throws -> [BuildRecord] {
        try queue.database.writer.read { db in
            if let jobID {
                return try BuildRecord.fetchAll(
                    db, sql: "SELECT * FROM build_record WHERE job_id = ? ORDER BY attempt DESC LIMIT ?",
                    arguments: [jobID, max(0, min(limit, 10_000))])
            }
            return try BuildRecord.fetchAll(
                db, sql: "SELECT * FROM build_record ORDER BY finished_at DESC LIMIT ?",
                arguments: [max(0, min(limit, 10_000))])
        }
    }

    /// Builds finished since this monitor started: duration histograms by type and counts by outcome.
    func buildFigures() -> BuildFigures { figures.withLock { $0 } }

    private func evaluateTimeoutWarnings(now: Date, into report: inout Report) throws {
        var over: Set<String> = []
        if let warningAfter = configuration.timeoutWarning {
            let cutoff = now.timeIntervalSince1970 - warningAfter
            let running = try queue.storage.runningJobs(startedAtOrBefore: cutoff)
            for job in running {
                let elapsed = now.timeIntervalSince(job.startedAt ?? now)
                try raise(TimeoutWarning.condition(job: job, elapsed: elapsed, warningAfter: warningAfter), now: now, into: &report)
                over.insert(TimeoutWarning.key(jobID: job.id))
            }
        }
        for alert in try alerts.firing(kind: .timeout_warning) where !over.contains(alert.key) {
            // Still running but raised by the runner's own event (an earlier warning point): keep it.
            if let id = TimeoutWarning.jobID(fromKey: alert.key), (try? queue.get(id))?.state == .running { continue }
            try resolve(alert.key, now: now, into: &report)
        }
    }

    private func raise(_ condition: AlertCondition, now: Date, into report: inout Report) throws {
        switch try alerts.raise(condition, now: now) {
        case .fired(let alert):
            log("alert firing [\(alert.kind.rawValue)] \(alert.summary)")
            report.fired.append(alert)
        case .repeated(let alert):
            report.repeated.append(alert)
        }
    }

    private func resolve(_ key: String, now: Date, into report: inout Report) throws {
        guard let alert = try alerts.resolve(key: key, now: now) else { return }
        log("alert resolved [\(alert.kind.rawValue)] \(alert.key) after \(alert.count) observation(s)")
        report.resolved.append(alert)
    }

    private func pruneIfDue(now: Date) throws {
        let due = lastPrune.withLock { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) < 3600 }) != true else { return false }
            last = now
            return true
        }
        guard due else { return }
        let cutoff = now.timeIntervalSince1970 - max(configuration.retentionDays * 86_400, configuration.windowSeconds)
        try queue.database.writer.write { db in
            try db.execute(sql: "DELETE FROM build_record WHERE finished_at < ?", arguments: [cutoff])
            try db.execute(
                sql: """
                    DELETE FROM alert WHERE state = 'resolved' AND resolved_at < ?
                    AND NOT EXISTS (SELECT 1 FROM alert_delivery d WHERE d.alert_id = alert.id AND d.delivered_at IS NULL)
                    """, arguments: [cutoff])
            try db.execute(sql: "DELETE FROM alert_delivery WHERE delivered_at IS NOT NULL AND delivered_at < ?", arguments: [cutoff])
        }
    }
}

/// The `timeout_warning` alert of one running job.
enum TimeoutWarning {
    static func key(jobID: Int64) -> String { "timeout_warning:\(jobID)" }

    static func jobID(fromKey key: String) -> Int64? {
        guard key.hasPrefix("timeout_warning:") else { return nil }
        return Int64(key.dropFirst("timeout_warning:".count))
    }

    static func condition(job: Job, elapsed: Double, warningAfter: Double?) -> AlertCondition {
        var details: [String: AlertValue] = [
            "jobId": .number(Double(job.id)), "app": .string(job.app), "buildType": .string(job.buildType),
            "elapsedSeconds": .number(elapsed.rounded()),
        ]
        if let warningAfter { details["warningAfterSeconds"] = .number(warningAfter) }
        return AlertCondition(
            key: key(jobID: job.id), kind: .timeout_warning, severity: .critical,
            summary: "job \(job.id) (\(job.app), \(job.buildType)) has run \(Int(elapsed.rounded())) s"
                + (warningAfter.map { ", past its timeout warning at \(Int($0.rounded())) s" } ?? ", past its timeout warning"),
            details: details)
    }
}

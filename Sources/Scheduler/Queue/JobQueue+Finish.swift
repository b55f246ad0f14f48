import Foundation
import Synchronization

/// How one attempt ended, as the runner reports it.
public enum JobOutcome: Sendable, Equatable {
    case succeeded(deploymentID: String?, cacheHit: Bool = false)
    /// `retryable: false` for failures that would repeat (same source, same failure).
    case failed(exitCode: Int?, error: String, retryable: Bool = true)
    case timedOut(error: String = "timed out")
    case cancelled

    var attemptOutcome: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .timedOut: "timed_out"
        case .cancelled: "cancelled"
        }
    }
}

/// What the runner measured during an attempt.
public struct AttemptReport: Sendable, Equatable {
    var stageDurations: [String: Double]
    var logPath: String?

    public init(stageDurations: [String: Double] = [:], logPath: String? = nil) {
        self.stageDurations = stageDurations
        self.logPath = logPath
    }
}

/// Jobs the rescuer found with an expired lease.
public struct RescueReport: Sendable, Equatable {
    /// Put back in the queue (attempts were left).
    public var requeued: [Int64]
    /// Ended for good: `failed` (the lease expired on their last allowed attempt), or `cancelled` when a
    /// cancel was pending.
    public var failed: [Int64]
}

extension JobQueue {
    /// Ends the running attempt held by `owner`. A failure or timeout with attempts left (and not
    /// cancelled) goes back to `queued` after the retry policy's backoff; otherwise the job ends in the
    /// outcome's final state. Throws `leaseLost` if `owner` no longer holds the job.
    @discardableResult
    public func finish(jobID: Int64, owner: String, outcome: JobOutcome, report: AttemptReport = .init(), now: Date) throws -> Job {
        let time = now.timeIntervalSince1970
        let stages = try String(decoding: JSONEncoder().encode(report.stageDurations), as: UTF8.self)
        let retry = configuration.retry
        let job = try storage.finish(jobID: jobID) { job throws -> FinishUpdate in
            guard job.state == .running, job.leaseOwner == owner else { throw SchedulerError.leaseLost(job: jobID, owner: owner) }
            var next = "queued"
            var availableAt = time
            var exitCode: Int?
            var error: String?
            var deployment: String?
            var cacheHit = false
            switch outcome {
            case .succeeded(let id, let hit):
                next = "succeeded"
                deployment = id
                cacheHit = hit
            case .cancelled:
                next = "cancelled"
                error = "cancelled"
            case .failed(let code, let message, let retryable):
                exitCode = code
                error = message
                if !retryable || job.cancelRequested || job.attempt >= job.maxAttempts { next = "failed" }
            case .timedOut(let message):
                error = message
                if job.cancelRequested || job.attempt >= job.maxAttempts { next = "timed_out" }
            }
            if next == "queued" { availableAt = time + retry.backoff(afterAttempt: job.attempt) }
            let final = next != "queued"
            return FinishUpdate(
                state: next, availableAt: final ? job.availableAt.timeIntervalSince1970 : availableAt, finishedAt: final ? time : nil,
                exitCode: exitCode, error: error, deploymentID: deployment, cacheHit: cacheHit, stageDurations: stages,
                logPath: report.logPath, attempt: job.attempt, endedAt: time, outcome: outcome.attemptOutcome)
        }
        index.withLock { idx in
            idx.endRunning(id: jobID)
            if job.state == .queued { requeue(job, into: &idx, now: time) }
        }
        return job
    }

    /// Cancels a job: a queued one ends `cancelled` at once; a running one is flagged, and its runner
    /// learns it at the next heartbeat. A finished job cannot be cancelled (`invalidTransition`).
    @discardableResult
    public func cancel(jobID: Int64, now: Date) throws -> Job {
        let time = now.timeIntervalSince1970
        let job = try storage.cancel(jobID: jobID, time: time) { job throws -> CancelAction in
            switch job.state {
            case .queued: return .endQueued
            case .running: return .flagRunning
            default: throw SchedulerError.invalidTransition(job: jobID, from: job.state, operation: "cancel")
            }
        }
        if job.state == .cancelled { index.withLock { _ = $0.removeQueued(id: jobID) } }
        return job
    }

    /// Returns running jobs whose lease expired before `now` to the queue (their owner crashed or
    /// hung). The lost attempt counts: a job whose last allowed attempt was lost ends `failed`.
    /// Used by `LeaseRescuer`.
    func rescueExpiredLeases(now: Date) throws -> RescueReport {
        let time = now.timeIntervalSince1970
        let rescued = try storage.rescueExpired(before: time) { job in
            let cancelled = job.cancelRequested
            let final = cancelled || job.attempt >= job.maxAttempts
            return RescueUpdate(
                state: final ? (cancelled ? "cancelled" : "failed") : "queued", availableAt: time,
                finishedAt: final ? time : nil,
                error: "lease of '\(job.leaseOwner ?? "")' expired (owner crashed or hung)")
        }
        var requeued: [Job] = []
        var failed: [Int64] = []
        for (job, update) in rescued {
            if update.state != "queued" {
                failed.append(job.id)
            } else {
                var back = job
                back.state = .queued
                back.availableAt = now
                requeued.append(back)
            }
        }
        index.withLock { idx in
            for id in failed { idx.endRunning(id: id) }
            for job in requeued {
                idx.endRunning(id: job.id)
                requeue(job, into: &idx, now: time)
            }
        }
        return RescueReport(requeued: requeued.map(\.id), failed: failed)
    }

    private func requeue(_ job: Job, into idx: inout QueueIndex, now: Double) {
        idx.insertQueued(
            id: job.id, app: job.app, owner: job.owner, kind: job.kind, hint: job.priorityHint,
            buildType: job.buildType, dependencyHash: job.dependencyHash, expectedSeconds: expectedSeconds(job.buildType),
            previousAttempts: job.attempt,
            queuedAt: job.queuedAt.timeIntervalSince1970, availableAt: job.availableAt.timeIntervalSince1970, now: now)
    }
}

extension JobQueue {
    /// Deletes jobs that reached a final state before `cutoff` (with their attempt rows); queued and
    /// running jobs are never touched. Returns how many were deleted. Finished jobs are kept 30 days by
    /// default (the build cache's retention), then pruned by the service.
    @discardableResult
    func pruneFinished(before cutoff: Date) throws -> Int {
        try storage.pruneFinished(before: cutoff.timeIntervalSince1970)
    }
}

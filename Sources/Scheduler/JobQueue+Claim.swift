import Foundation
import GRDB
import Synchronization

/// What a lease holder should do after a heartbeat.
public enum LeaseDirective: Sendable, Equatable {
    case keepRunning
    /// A user cancelled the job: stop the build and finish it as `.cancelled`.
    case cancelRequested
}

extension JobQueue {
    /// Picks the best ready job and leases it to `owner` in one conditional UPDATE (`WHERE state =
    /// 'queued'`): if another process took it first, the next best is tried. Returns nil when nothing is
    /// ready. `kinds` restricts the choice (e.g. no `cache_warm` while the warm batch is at its cap).
    public func claim(owner: String, slotID: String? = nil, now: Date, kinds: Set<JobKind>? = nil) throws -> Job? {
        try claim(owner: owner, now: now, kinds: kinds, chooseSlot: { _ in slotID ?? "" }).map(\.job)
    }

    /// Claims the best ready job for the slot `chooseSlot` picks for it (given the job's placement needs);
    /// when it returns nil no slot suits the best job, and nothing is claimed. The slot is recorded with
    /// the lease, in the same transaction (an empty string records none).
    public func claim(owner: String, now: Date, kinds: Set<JobKind>? = nil,
                      chooseSlot: (PlacementRequest) -> String?) throws -> (job: Job, slotID: String)? {
        let time = now.timeIntervalSince1970
        let leaseEnd = time + configuration.leaseDuration
        return try index.withLock { idx throws -> (job: Job, slotID: String)? in
            while let choice = idx.best(now: time, kinds: kinds) {
                let id = choice.entry.id
                let placement = PlacementRequest(
                    dependencyHash: choice.entry.dependencyHash,
                    requiredTools: configuration.catalog.types[choice.entry.buildType]?.requiredTools ?? [])
                guard let chosen = chooseSlot(placement) else { return nil }
                let slotID: String? = chosen.isEmpty ? nil : chosen
                let claimed = try database.writer.write { db -> Job? in
                    guard let job = try Job.fetchOne(db, sql: """
                        UPDATE job SET state = 'running', attempt = attempt + 1, lease_owner = ?, heartbeat_at = ?,
                               lease_expires_at = ?, started_at = ?, slot_id = ?, claim_score = ?, cancel_requested = 0
                        WHERE id = ? AND state = 'queued' AND available_at <= ? AND attempt < max_attempts
                        RETURNING *
                        """, arguments: [owner, time, leaseEnd, time, slotID, choice.score, id, time])
                    else { return nil }
                    try db.execute(sql: """
                        INSERT INTO job_attempt (job_id, attempt, owner, slot_id, started_at) VALUES (?, ?, ?, ?, ?)
                        """, arguments: [id, job.attempt, owner, slotID, time])
                    return job
                }
                if let claimed {
                    idx.markRunning(id: id, app: claimed.app, owner: claimed.owner, kind: claimed.kind)
                    return (claimed, chosen)
                }
                idx.removeQueued(id: id)  // another process claimed or cancelled it: forget it
            }
            return nil
        }
    }

    /// The job the next claim would take and its score, without claiming it (the decision alone).
    public func peekBest(now: Date, kinds: Set<JobKind>? = nil) -> (id: Int64, score: Double)? {
        index.withLock { idx in
            idx.best(now: now.timeIntervalSince1970, kinds: kinds).map { ($0.entry.id, $0.score) }
        }
    }

    /// Extends the lease of a running job; throws `leaseLost` if `owner` no longer holds it (then the
    /// build must stop: the job may already run elsewhere).
    public func heartbeat(jobID: Int64, owner: String, now: Date) throws -> LeaseDirective {
        let time = now.timeIntervalSince1970
        let cancel = try database.writer.write { db -> Bool? in
            try Bool.fetchOne(db, sql: """
                UPDATE job SET heartbeat_at = ?, lease_expires_at = ?
                WHERE id = ? AND state = 'running' AND lease_owner = ?
                RETURNING cancel_requested
                """, arguments: [time, time + configuration.leaseDuration, jobID, owner])
        }
        guard let cancel else {
            _ = try get(jobID)  // unknownJob if it does not exist
            throw SchedulerError.leaseLost(job: jobID, owner: owner)
        }
        return cancel ? .cancelRequested : .keepRunning
    }

    /// Records where the running attempt writes its log (so `wharf logs --follow` can find it).
    public func attachLog(jobID: Int64, owner: String, path: String) throws {
        let changed = try database.writer.write { db -> Int in
            try db.execute(sql: "UPDATE job SET log_path = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                           arguments: [path, jobID, owner])
            return db.changesCount
        }
        if changed == 0 {
            _ = try get(jobID)
            throw SchedulerError.leaseLost(job: jobID, owner: owner)
        }
    }
}

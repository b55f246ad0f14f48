import Foundation
import Synchronization

/// What a lease holder should do after a heartbeat.
enum LeaseDirective: Sendable, Equatable {
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
    public func claim(
        owner: String, now: Date, kinds: Set<JobKind>? = nil,
        chooseSlot: (PlacementRequest) -> String?
    ) throws -> (job: Job, slotID: String)? {
        let time = now.timeIntervalSince1970
        return try index.withLock { idx throws -> (job: Job, slotID: String)? in
            while let choice = idx.best(now: time, kinds: kinds) {
                guard let chosen = chooseSlot(placement(of: choice.entry)) else { return nil }
                if let claimed = try lease(choice, slotID: chosen, owner: owner, time: time) {
                    idx.markRunning(id: choice.entry.id, app: claimed.app, owner: claimed.owner, kind: claimed.kind)
                    return (claimed, chosen)
                }
                idx.removeQueued(id: choice.entry.id)  // another process claimed or cancelled it: forget it
            }
            return nil
        }
    }

    /// Claims for one of `idleSlots`, cache-aware on the job side too: when the best job would start
    /// cold on every idle slot, the best job that some idle slot has the dependencies of goes first,
    /// if its score is within `warmWindow` of the best one's (a warm start is shorter, so the slot
    /// frees sooner for everyone, the skipped job included). The window bounds how far it can be
    /// passed over: age raises its score, so after `warmWindow / agePerSecond` seconds no newer job
    /// is within reach. Otherwise the best job goes to `SlotPlacement`'s choice.
    public func claim(
        owner: String, now: Date, kinds: Set<JobKind>? = nil, idleSlots: [Slot], warmWindow: Double,
        tieBreak: PlacementTieBreak
    ) throws -> (job: Job, slotID: String)? {
        let time = now.timeIntervalSince1970
        return try index.withLock { idx throws -> (job: Job, slotID: String)? in
            while let best = idx.best(now: time, kinds: kinds) {
                var choice = best
                var slotID: String?
                let runsWarm = best.entry.dependencyHash.map { hash in idleSlots.contains { $0.dependencyCache.contains(hash) } } ?? true
                if !runsWarm, warmWindow > 0 {
                    for slot in idleSlots {
                        guard let candidate = idx.bestWithHash(in: slot.dependencyCache.hashes, now: time, kinds: kinds),
                            candidate.score >= best.score - warmWindow,
                            placement(of: candidate.entry).requiredTools.isSubset(of: slot.tools),
                            slotID == nil || candidate.score > choice.score
                        else { continue }
                        (choice, slotID) = (candidate, slot.id)
                    }
                }
                guard
                    let chosen = slotID
                        ?? SlotPlacement.bestSlot(
                            for: placement(of: choice.entry), among: idleSlots,
                            tieBreak: tieBreak)?.id
                else { return nil }
                if let claimed = try lease(choice, slotID: chosen, owner: owner, time: time) {
                    idx.markRunning(id: choice.entry.id, app: claimed.app, owner: claimed.owner, kind: claimed.kind)
                    return (claimed, chosen)
                }
                idx.removeQueued(id: choice.entry.id)
            }
            return nil
        }
    }

    private func placement(of entry: QueueIndex.Entry) -> PlacementRequest {
        PlacementRequest(
            dependencyHash: entry.dependencyHash,
            requiredTools: configuration.catalog.types[entry.buildType]?.requiredTools ?? [])
    }

    /// Leases the queued job `choice` to `owner` on `slotID` (empty: none) in one conditional UPDATE;
    /// nil when it is no longer queued and ready (another process took it, or it was cancelled).
    private func lease(_ choice: QueueIndex.Choice, slotID chosen: String, owner: String, time: Double) throws -> Job? {
        try storage.lease(
            LeaseGrant(
                jobID: choice.entry.id, owner: owner, slotID: chosen.isEmpty ? nil : chosen,
                score: choice.score, time: time, leaseEnd: time + configuration.leaseDuration))
    }

    /// The job the next claim would take and its score, without claiming it (the decision alone).
    public func peekBest(now: Date, kinds: Set<JobKind>? = nil) -> (id: Int64, score: Double)? {
        index.withLock { idx in
            idx.best(now: now.timeIntervalSince1970, kinds: kinds).map { ($0.entry.id, $0.score) }
        }
    }

    /// Extends the lease of a running job; throws `leaseLost` if `owner` no longer holds it (then the
    /// build must stop: the job may already run elsewhere).
    func heartbeat(jobID: Int64, owner: String, now: Date) throws -> LeaseDirective {
        let time = now.timeIntervalSince1970
        let cancel = try storage.heartbeat(jobID: jobID, owner: owner, time: time, leaseEnd: time + configuration.leaseDuration)
        guard let cancel else {
            _ = try get(jobID)  // unknownJob if it does not exist
            throw SchedulerError.leaseLost(job: jobID, owner: owner)
        }
        return cancel ? .cancelRequested : .keepRunning
    }

    /// Records where the running attempt writes its log (so `wharf logs --follow` can find it).
    func attachLog(jobID: Int64, owner: String, path: String) throws {
        if try !storage.attachLog(jobID: jobID, owner: owner, path: path) {
            _ = try get(jobID)
            throw SchedulerError.leaseLost(job: jobID, owner: owner)
        }
    }

    /// Records how an attempt is sandboxed (before it starts).
    func recordSandbox(jobID: Int64, attempt: Int, record: SandboxRecord) throws {
        try storage.recordSandbox(jobID: jobID, attempt: attempt, record: record)
    }

    /// Records what an attempt used at most (after it ended).
    func recordUsage(jobID: Int64, attempt: Int, peakMemoryBytes: Int?, peakDiskBytes: Int?) throws {
        try storage.recordUsage(jobID: jobID, attempt: attempt, peakMemoryBytes: peakMemoryBytes, peakDiskBytes: peakDiskBytes)
    }
}

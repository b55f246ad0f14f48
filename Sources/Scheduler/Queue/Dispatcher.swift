import Foundation

/// A job placed on a slot by the dispatcher.
struct Assignment: Sendable, Equatable {
    public var job: Job
    var slotID: String
    /// The slot had the job's dependency hash installed before this build (no dependency install).
    var warm: Bool = false
}

/// Fills idle slots: the best job (priority score) goes to the best idle slot for it (`SlotPlacement`),
/// until no slot is idle or nothing is ready. The same code runs in production and in the simulator.
struct Dispatcher: Sendable {
    let queue: JobQueue
    /// The lease owner recorded on every claim (one per scheduler process).
    public let owner: String
    /// How equally suitable idle slots are told apart (`.affinity` in the adaptive policy).
    let tieBreak: PlacementTieBreak
    /// When the best job would start cold on every idle slot, a job within this many score points of it
    /// that an idle slot has the dependencies of goes first (0: strictly by score, as the seeds did).
    public let warmWindow: Double

    init(queue: JobQueue, owner: String, tieBreak: PlacementTieBreak = .poolOrder, warmWindow: Double = 0) {
        self.queue = queue
        self.owner = owner
        self.tieBreak = tieBreak
        self.warmWindow = warmWindow
    }

    /// Claims and assigns jobs to idle slots of `pool`. `kinds` (when given) is asked before each claim
    /// which kinds may start now, e.g. to cap the share of slots the warm batch takes; `claimed` hears
    /// of each claimed job as it is placed.
    @discardableResult
    func dispatch(
        pool: inout SlotPool, now: Date, kinds: ((SlotPool) -> Set<JobKind>?)? = nil,
        claimed: ((Job) -> Void)? = nil
    ) throws -> [Assignment] {
        pool.advance(now: now)
        var assignments: [Assignment] = []
        while pool.idleCount > 0 {
            let idle = pool.idleSlots
            let allowed = kinds?(pool)
            if let allowed, allowed.isEmpty { break }
            let taken =
                warmWindow > 0
                ? try queue.claim(owner: owner, now: now, kinds: allowed, idleSlots: idle, warmWindow: warmWindow, tieBreak: tieBreak)
                : try queue.claim(
                    owner: owner, now: now, kinds: allowed,
                    chooseSlot: { placement in
                        SlotPlacement.bestSlot(for: placement, among: idle, tieBreak: tieBreak)?.id
                    })
            guard let (job, slotID) = taken else { break }
            let warm = job.dependencyHash.map { hash in idle.first { $0.id == slotID }?.dependencyCache.contains(hash) ?? false } ?? false
            try pool.assign(jobID: job.id, dependencyHash: job.dependencyHash, to: slotID, now: now)
            assignments.append(Assignment(job: job, slotID: slotID, warm: warm))
            claimed?(job)
        }
        return assignments
    }
}

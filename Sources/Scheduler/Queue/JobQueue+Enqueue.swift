import Foundation
import GRDB
import Synchronization

extension JobQueue {
    /// Validates and queues one job; returns it as stored.
    @discardableResult
    public func enqueue(_ request: JobRequest, now: Date) throws -> Job {
        let ids = try enqueue(batch: [request], now: now)
        return try get(ids[0])
    }

    /// Validates every request, then queues them all in one transaction (all or nothing); returns their ids
    /// in order. Batching is what makes durable enqueue fast: one commit per batch, not per job.
    @discardableResult
    public func enqueue(batch requests: [JobRequest], now: Date) throws -> [Int64] {
        try enqueue(batch: requests, now: now, sameTransaction: nil)
    }

    /// As `enqueue(batch:now:)`; `sameTransaction` runs inside the insert's transaction with the new
    /// ids (an error from it rolls the whole batch back), for records that must commit with the jobs.
    func enqueue(batch requests: [JobRequest], now: Date, sameTransaction: ((Database, [Int64]) throws -> Void)?) throws -> [Int64] {
        guard !requests.isEmpty else { return [] }
        for request in requests {
            try request.validate(catalog: configuration.catalog, checkSourceExists: configuration.checkSourceExists)
        }
        let time = now.timeIntervalSince1970
        let defaultAttempts = configuration.retry.maxAttempts
        let ids = try storage.insert(requests, defaultAttempts: defaultAttempts, time: time, sameTransaction: sameTransaction)
        index.withLock { idx in
            for (request, id) in zip(requests, ids) {
                idx.insertQueued(
                    id: id, app: request.app, owner: request.owner, kind: request.kind, hint: request.priorityHint,
                    buildType: request.buildType, dependencyHash: request.dependencyHash, expectedSeconds: expectedSeconds(request.buildType),
                    previousAttempts: 0, queuedAt: time, availableAt: time, now: time)
            }
        }
        return ids
    }
}

import Foundation
import Synchronization

/// Moves access counts (the edge's, handed over by every loop each second, through `drain`) into
/// the popularity table: one transaction per flush, never one write per request. Counts a failed
/// write could not store are kept and retried with the next flush (up to `maxPending` keys, then the
/// coldest are dropped rather than growing without bound).
public final class PopularityFlush: Sendable {
    public let popularity: Popularity
    public let maxPending: Int
    private let drain: @Sendable () -> [Popularity.Count]
    private let pending = Mutex<[Popularity.Count]>([])

    public init(popularity: Popularity, maxPending: Int = 100_000, drain: @escaping @Sendable () -> [Popularity.Count]) {
        self.popularity = popularity
        self.maxPending = maxPending
        self.drain = drain
    }

    /// Counts waiting for a retry after a failed flush.
    public var pendingCount: Int { pending.withLock { $0.count } }

    /// Drains the counts and records them (plus anything left from a failed flush).
    @discardableResult
    public func runOnce(now: Date) throws -> Popularity.RecordReport {
        let drained = drain()
        let batch = pending.withLock { held in
            defer { held = [] }
            return held + drained
        }
        do {
            return try popularity.record(batch, now: now)
        } catch {
            let kept = batch.count > maxPending ? Array(batch.sorted { $0.requests > $1.requests }.prefix(maxPending)) : batch
            pending.withLock { $0 = kept + $0 }
            throw error
        }
    }
}

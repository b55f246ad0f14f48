import ArtifactStore
import Edge
import Foundation
import Synchronization

/// Moves the edge's access counts (handed over by every loop each second) into the popularity
/// table: one transaction per flush, never one write per request. Counts a failed write could not
/// store are kept and retried with the next flush (up to `maxPending` keys, then the coldest are
/// dropped rather than growing without bound).
final class PopularityFlush: Sendable {
    let stats: AccessStats
    let popularity: Popularity
    let maxPending: Int
    private let pending = Mutex<[Popularity.Count]>([])

    init(stats: AccessStats, popularity: Popularity, maxPending: Int = 100_000) {
        self.stats = stats
        self.popularity = popularity
        self.maxPending = maxPending
    }

    /// Drains the edge's counts and records them (plus anything left from a failed flush).
    @discardableResult
    func flush(now: Date) throws -> Popularity.RecordReport {
        let drained = stats.drain().map { key, count in
            Popularity.Count(app: key.app, path: key.path, requests: count.requests, bytes: count.bytes)
        }
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

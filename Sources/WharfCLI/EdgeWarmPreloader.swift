import Edge
import Foundation
import HTTPCore
import Scheduler

/// The scheduler's `Preloader` over the edge's `CacheWarmer`: loads each path's representations one
/// at a time, hottest path first, and keeps a running count of what the inserts evicted so the
/// whole preload stays within `maxEvictedBytes`. Evicted bytes are measured as the cache's held
/// bytes before, plus what was inserted, minus held bytes after — exact on a quiet cache, an
/// underestimate while traffic inserts at the same moment. CacheWarmer blocks on disk, so the work
/// runs on a Dispatch worker: never on an edge loop, and never holding a cooperative-pool thread.
struct EdgeWarmPreloader: Preloader {
    let edge: EdgeServer
    /// Where each app's preload is noted for the dashboard's Apps page ("last warmed"), if anywhere.
    var warmLog: DashboardWarmLog? = nil

    var cacheBudgetBytes: Int { edge.cache.budget }

    func preload(app: String, paths: [String], maxEvictedBytes: Int) async throws -> PreloadResult {
        let result = try await OffPool.run { try preloadBlocking(app: app, paths: paths, maxEvictedBytes: maxEvictedBytes) }
        if let warmLog, !result.deployment.isEmpty {
            warmLog.record(
                app: app,
                .init(
                    at: Date().timeIntervalSince1970, deployment: result.deployment, paths: paths.count,
                    loaded: result.loaded, skipped: result.skipped, bytes: result.bytes))
        }
        return result
    }

    func preloadBlocking(app: String, paths: [String], maxEvictedBytes: Int) throws -> PreloadResult {
        let warmer = CacheWarmer(edge: edge)
        var result = PreloadResult(deployment: "", loaded: 0, skipped: 0, bytes: 0, evictedBytes: 0)
        for path in paths {
            for coding in ContentCoding.allCases {
                let remaining = max(0, maxEvictedBytes - result.evictedBytes)
                let before = edge.cache.statistics().bytesHeld
                let report = try warmer.warm(app: app, paths: [path], codings: [coding], maxEvictedBytesPerEntry: remaining)
                let after = edge.cache.statistics().bytesHeld
                result.deployment = report.deployment
                if report.items.first?.outcome == "not_found" {
                    result.skipped += 1
                    break
                }
                var inserted = 0
                for item in report.items {
                    switch item.outcome {
                    case "loaded":
                        result.loaded += 1
                        if !item.sendfile { result.bytes += item.bytes }
                        inserted += (item.sendfile ? 4096 : item.bytes) + ResponseCache.entryOverhead
                    case "no_variant":
                        break
                    default:
                        result.skipped += 1
                    }
                }
                result.evictedBytes += max(0, before + inserted - after)
            }
        }
        return result
    }
}

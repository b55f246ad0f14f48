import ArtifactStore
import Foundation
import Testing

@testable import Edge

/// Real requests through the edge's loops end up, batched, in the store's popularity table.
@Suite struct PopularityFlushTests {
    @Test func requestsServedByTheEdgeAreFlushedIntoPopularityInBatches() async throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let popularity = try Popularity(store: h.store)
        let stats = h.server.accessStats
        let flush = PopularityFlush(popularity: popularity) { stats.drainCounts() }
        let client = try TestClient(port: h.port)
        for _ in 0..<5 { #expect(try client.get("/apps/demo/assets/app.1a2b3c4d.js").status == 200) }
        for _ in 0..<2 { #expect(try client.get("/apps/demo/robots.txt").status == 200) }
        #expect(try client.get("/apps/demo/no-such-file.txt").status == 404)
        // Loops hand their counts over once a second; flush until everything arrived (bounded).
        var recorded = 0
        for _ in 0..<40 where recorded < 2 {
            recorded += try flush.runOnce(now: Date()).recorded
            if recorded < 2 { try await Task.sleep(for: .milliseconds(100)) }
        }
        let paths = try popularity.hotPaths(app: "demo", limit: 10, now: Date())
        #expect(paths.map(\.path) == ["/assets/app.1a2b3c4d.js", "/robots.txt"])
        #expect(paths.map(\.requests) == [5, 2])
        #expect(try popularity.topApps(limit: 5, now: Date()).map(\.app) == ["demo"])
        // Nothing left: a further flush records nothing.
        #expect(try flush.runOnce(now: Date()).recorded == 0)
    }
}

import Foundation
import Testing

@testable import ArtifactStore

/// The one-app lookups the dashboard's Apps page uses give exactly what `topApps` and `hotPaths`
/// give, on a real store whose paths were recorded at many different times (so ranking by the
/// stored score alone would be wrong), and refuse the same limits.
@Suite struct PopularityLookupTests {
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func theRankingInSQLiteMatchesTheDecayedRankingPathForPath() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let popularity = try Popularity(store: store, halfLifeHours: 1)
        // 600 paths over 10 hours: old heavy paths against recent light ones, some exact ties.
        var generator = SystemRandomNumberGenerator()
        for batch in 0..<10 {
            let counts = (0..<60).map { i in
                Popularity.Count(
                    app: "shop", path: "/p/\(batch)/\(i)", requests: i % 7 == 0 ? 5 : Int.random(in: 1...500, using: &generator), bytes: 10)
            }
            try popularity.record(
                counts + [Popularity.Count(app: "other", path: "/x", requests: 1, bytes: 1)],
                now: t0.addingTimeInterval(Double(batch) * 3600))
        }
        let now = t0.addingTimeInterval(12 * 3600)
        for limit in [1, 5, 10, 50, 600, 10_000] {
            let fast = try popularity.hottestPaths(app: "shop", limit: limit, now: now)
            let slow = try popularity.hotPaths(app: "shop", limit: limit, now: now)
            #expect(fast.map(\.path) == slow.map(\.path), "limit \(limit)")
            #expect(fast == slow, "limit \(limit)")
        }
        // The newest batch wins despite smaller stored scores than older ones.
        #expect(try popularity.hottestPaths(app: "shop", limit: 1, now: now).first?.path?.hasPrefix("/p/9/") == true)
        #expect(try popularity.app("shop", now: now) == popularity.topApps(limit: 10, now: now).first { $0.app == "shop" })
        #expect(try popularity.app("nobody", now: now) == nil)
        #expect(try popularity.hottestPaths(app: "nobody", limit: 5, now: now).isEmpty)
        for bad in [0, -1, 10_001] {
            #expect(throws: PopularityError.invalidLimit(bad)) { try popularity.hottestPaths(app: "shop", limit: bad, now: now) }
        }
    }
}

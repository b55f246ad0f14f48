import Foundation
import Testing

@testable import ArtifactStore

@Suite struct PopularityTests {
    let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    let hour = 3600.0

    func count(_ app: String, _ path: String, _ requests: Int, bytes: Int = 100) -> Popularity.Count {
        .init(app: app, path: path, requests: requests, bytes: bytes)
    }

    @Test func aScoreHalvesEveryHalfLife() throws {
        let decay = try PopularityDecay(halfLife: 24 * hour)
        #expect(decay.decayed(100, from: 0, to: 24 * hour) == 50)
        #expect(decay.decayed(100, from: 0, to: 48 * hour) == 25)
        #expect(abs(decay.decayed(100, from: 0, to: 12 * hour) - 100 / 2.0.squareRoot()) < 1e-9)
        #expect(decay.decayed(100, from: 10, to: 10) == 100)
        // A clock that went backwards never grows a score.
        #expect(decay.decayed(100, from: 100, to: 0) == 100)
        #expect(decay.adding(10, to: 100, from: 0, now: 24 * hour) == 60)
    }

    @Test func halfLivesOutsideAMinuteToAYearAreRefused() {
        #expect(throws: PopularityError.invalidHalfLife(0)) { try PopularityDecay(halfLife: 0) }
        #expect(throws: PopularityError.invalidHalfLife(-5)) { try PopularityDecay(halfLife: -5) }
        #expect(throws: (any Error).self) { try PopularityDecay(halfLife: .nan) }
        #expect(throws: (any Error).self) { try PopularityDecay(halfLife: .infinity) }
    }

    @Test func batchesAccumulateDecayedScoresAndTotals() throws {
        let dir = TemporaryDirectory()
        let popularity = try Popularity(store: try Store.openForTest(dir), halfLifeHours: 24)
        try popularity.record([count("shop", "/", 80, bytes: 8000), count("shop", "/app.js", 20, bytes: 40000)], now: t0)
        try popularity.record([count("blog", "/", 30)], now: t0)
        // A day later: shop's 100 are worth 50, plus 10 new.
        try popularity.record([count("shop", "/", 10, bytes: 1000)], now: t0 + 24 * hour)
        let top = try popularity.topApps(limit: 10, now: t0 + 24 * hour)
        #expect(top.map(\.app) == ["shop", "blog"])
        #expect(abs(top[0].score - 60) < 1e-9)
        #expect(abs(top[1].score - 15) < 1e-9)
        #expect(top[0].requests == 110 && top[0].bytes == 49000)
        let paths = try popularity.hotPaths(app: "shop", limit: 10, now: t0 + 24 * hour)
        #expect(paths.map(\.path) == ["/", "/app.js"])
        #expect(abs(paths[0].score - 50) < 1e-9)
        #expect(abs(paths[1].score - 10) < 1e-9)
    }

    @Test func recentTrafficOutranksOlderHeavierTraffic() throws {
        let dir = TemporaryDirectory()
        let popularity = try Popularity(store: try Store.openForTest(dir), halfLifeHours: 24)
        try popularity.record([count("old", "/", 1000)], now: t0)
        try popularity.record([count("new", "/", 200)], now: t0 + 72 * hour)
        // 1000 after three half-lives is 125 < 200.
        #expect(try popularity.topApps(limit: 2, now: t0 + 72 * hour).map(\.app) == ["new", "old"])
        #expect(try popularity.topApps(limit: 1, now: t0 + 72 * hour).map(\.app) == ["new"])
    }

    @Test func dailyTotalsAreKeptPerUTCDay() throws {
        let dir = TemporaryDirectory()
        let popularity = try Popularity(store: try Store.openForTest(dir))
        let day1 = Date(timeIntervalSince1970: 1_790_000_000 - 1_790_000_000.truncatingRemainder(dividingBy: 86400) + 3600)
        try popularity.record([count("shop", "/", 5, bytes: 50)], now: day1)
        try popularity.record([count("shop", "/a", 2, bytes: 20), count("blog", "/", 1, bytes: 1)], now: day1 + 2 * hour)
        try popularity.record([count("shop", "/", 7, bytes: 70)], now: day1 + 24 * hour)
        let totals = try popularity.dailyTotals(days: 7, now: day1 + 24 * hour)
        let dayOne = Popularity.dayString(Int(day1.timeIntervalSince1970 / 86400))
        let dayTwo = Popularity.dayString(Int(day1.timeIntervalSince1970 / 86400) + 1)
        #expect(
            totals == [
                .init(day: dayTwo, app: "shop", requests: 7, bytes: 70),
                .init(day: dayOne, app: "blog", requests: 1, bytes: 1),
                .init(day: dayOne, app: "shop", requests: 7, bytes: 70),
            ])
        #expect(try popularity.dailyTotals(app: "blog", days: 1, now: day1 + 24 * hour).isEmpty)
        #expect(Popularity.dayString(0) == "1970-01-01")
    }

    @Test func badEntriesAreRejectedAndTheRestRecorded() throws {
        let dir = TemporaryDirectory()
        let popularity = try Popularity(store: try Store.openForTest(dir))
        let report = try popularity.record(
            [
                count("shop", "/", 3),
                count("", "/", 1),
                count("shop", "no-slash", 1),
                count("shop", "/" + String(repeating: "a", count: Popularity.maxPathBytes), 1),
                count("shop", "/x", -1),
                count(String(repeating: "a", count: 101), "/", 1),
                count("shop", "/nul\u{0}", 1),
            ], now: t0)
        #expect(report == .init(recorded: 1, rejected: 6))
        #expect(try popularity.hotPaths(app: "shop", limit: 100, now: t0).map(\.path) == ["/"])
        #expect(throws: PopularityError.invalidLimit(0)) { try popularity.topApps(limit: 0, now: t0) }
        #expect(throws: PopularityError.invalidLimit(10_001)) { try popularity.hotPaths(app: "shop", limit: 10_001, now: t0) }
    }

    @Test func pruningForgetsColdPathsAndCapsPathsPerApp() throws {
        let dir = TemporaryDirectory()
        let popularity = try Popularity(store: try Store.openForTest(dir), halfLifeHours: 1)
        try popularity.record([count("shop", "/cold", 1)], now: t0)
        try popularity.record((0..<10).map { count("shop", "/p\($0)", 10 + $0) }, now: t0 + 20 * hour)
        // /cold is at 2^-20 of a request: below the floor. Cap 3 keeps p9, p8, p7.
        let deleted = try popularity.prune(now: t0 + 20 * hour, maxPathsPerApp: 3)
        #expect(deleted == 8)
        #expect(try popularity.hotPaths(app: "shop", limit: 100, now: t0 + 20 * hour).map(\.path) == ["/p9", "/p8", "/p7"])
    }

    @Test func aLargeBatchIsOneTransactionAndFast() throws {
        let dir = TemporaryDirectory()
        let popularity = try Popularity(store: try Store.openForTest(dir))
        let batch = (0..<5000).map { count("app\($0 % 50)", "/file\($0).js", 1 + $0 % 7) }
        let clock = ContinuousClock()
        let elapsed = try clock.measure { try popularity.record(batch, now: t0) }
        #expect(try popularity.topApps(limit: 100, now: t0).count == 50)
        #expect(try popularity.hotPaths(app: "app7", limit: 1000, now: t0).count == 100)
        // Generous for a shared, loaded machine; about 0.1 s when idle.
        #expect(elapsed < .seconds(5))
    }
}

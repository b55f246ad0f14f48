import ArtifactStore
import Foundation
import Synchronization
import Testing

@testable import Edge
@testable import Scheduler
@testable import WharfCLI

/// The `wharf serve` side: traffic is flushed into popularity, the nightly schedule is installed, and a
/// requested run of it (what `wharf warm --request` does) preloads the edge within a tick.
@Suite struct WarmWiringTests {
    @Test func aRequestedNightlyRunPreloadsWhatTrafficMadePopular() async throws {
        let h = try WiringEdge()
        defer { h.stop() }
        var settings = WarmSettings()
        settings.flushIntervalSeconds = 1
        settings.topN = 1
        settings.pathsPerApp = 1
        let logs = Mutex<[String]>([])
        let warmLog = DashboardWarmLog()
        let wiring = try WarmWiring(edge: h.server, settings: settings, warmLog: warmLog)
        let cron = CronStore(database: try SchedulerDatabase.open(path: h.store.path + "/scheduler.sqlite"))
        let nightly = try #require(try cron.get(WarmSettings.nightlyName))
        #expect(nightly.expression == "0 2 * * *" && nightly.zone == "UTC" && nightly.builtIn)

        await wiring.start { line in logs.withLock { $0.append(line) } }
        for _ in 0..<3 { #expect(try Curl.request("http://127.0.0.1:\(h.port)/apps/demo/assets/app.1a2b3c4d.js").status == 200) }
        let popularity = try Popularity(store: h.store)
        for _ in 0..<50 where try popularity.topApps(limit: 1, now: Date()).isEmpty {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try popularity.hotPaths(app: "demo", limit: 1, now: Date()).first?.path == "/assets/app.1a2b3c4d.js")

        #expect(try cron.requestRun(WarmSettings.nightlyName, now: Date()))
        for _ in 0..<50 where try cron.get(WarmSettings.nightlyName)?.runCount == 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        await wiring.stop()
        let ran = try #require(try cron.get(WarmSettings.nightlyName))
        #expect(ran.lastOutcome == .succeeded)
        #expect(ran.lastResult?.hasPrefix("warm: 1 apps, 0 builds queued") == true)
        #expect(ran.nextRunAt.map { $0 > Date() } == true)
        #expect(logs.withLock { $0 }.contains { $0.hasPrefix("cron nightly-warm: succeeded") })
        // The dashboard's "last warmed": the batch's preload of demo, its one hottest path in every encoding.
        let warmed = try #require(warmLog.last(app: "demo"))
        #expect(warmed.paths == 1 && warmed.loaded >= 2 && warmed.deployment == h.server.catalog.snapshot.apps["demo"]?.id)

        // The compressed variants were preloaded: a br request is a hit with no disk read.
        let loads = h.server.cache.statistics().loads
        #expect(
            try Curl.request("http://127.0.0.1:\(h.port)/apps/demo/assets/app.1a2b3c4d.js", headers: ["Accept-Encoding": "br"])
                .header("Content-Encoding") == "br")
        #expect(h.server.cache.statistics().loads == loads)
    }
}

import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

/// Error-spike alerts on virtual time, through a real alert store: a jump over the threshold and the
/// baseline fires once and resolves when it passes; a steady error rate and a trickle do not fire.
@Suite struct ErrorSpikeMonitorTests {
    func setUp(_ dir: TemporaryDirectory, _ configure: (inout ErrorSpikeConfiguration) -> Void = { _ in }) throws -> (ErrorSpikeMonitor, AlertStore) {
        let alerts = AlertStore(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"))
        var configuration = ErrorSpikeConfiguration()
        configure(&configuration)
        return (ErrorSpikeMonitor(alerts: alerts, configuration: configuration), alerts)
    }

    typealias Counts = ErrorSpikeMonitor.Counts

    @Test func aJumpInServerErrorsFiresOnceAndResolvesWhenItPasses() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (monitor, alerts) = try setUp(dir)
        var now = t0
        // An hour of normal traffic: 1% 5xx, every 5 s.
        for _ in 0..<720 {
            #expect(try monitor.runOnce(now: now, counts: ["shop": Counts(responses: 100, notFound: 2, serverErrors: 1)]).raised.isEmpty)
            now += 5
        }
        // Then a bad deploy: 30% 5xx.
        var raised: [String] = []
        for _ in 0..<12 {
            raised += try monitor.runOnce(now: now, counts: ["shop": Counts(responses: 100, notFound: 2, serverErrors: 30)]).raised
            now += 5
        }
        #expect(raised == ["error_spike:shop:5xx"])
        let alert = try #require(try alerts.firing(kind: .error_spike).first)
        #expect(alert.severity == .critical && alert.summary.contains("shop") && alert.summary.contains("5xx"))
        // Fixed: after a window of normal traffic the alert resolves.
        var resolved: [String] = []
        for _ in 0..<70 {
            resolved += try monitor.runOnce(now: now, counts: ["shop": Counts(responses: 100, notFound: 2, serverErrors: 0)]).resolved
            now += 5
        }
        #expect(resolved == ["error_spike:shop:5xx"])
        #expect(try alerts.firing(kind: .error_spike).isEmpty)
    }

    @Test func aSteadyRateATrickleAndAQuietAppDoNotFire() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (monitor, alerts) = try setUp(dir)
        var now = t0
        for _ in 0..<800 {
            // "legacy" always 404s 40% (over the threshold, but it is its baseline); "tiny" 100% 5xx on 2 requests a round
            // (under the minimum within a window at first, then over it: it fires on the 404-free 5xx share alone).
            try monitor.runOnce(now: now, counts: ["legacy": Counts(responses: 100, notFound: 40, serverErrors: 0)])
            now += 5
        }
        #expect(try alerts.firing(kind: .error_spike).isEmpty)
        // A trickle below min_responses in the window never fires.
        for _ in 0..<10 {
            try monitor.runOnce(now: now, counts: ["tiny": Counts(responses: 2, notFound: 0, serverErrors: 2)])
            now += 5
        }
        #expect(try alerts.firing(kind: .error_spike).isEmpty)
        // A 404 jump on an app whose baseline is low does fire (a warning).
        for _ in 0..<800 {
            try monitor.runOnce(now: now, counts: ["blog": Counts(responses: 100, notFound: 1, serverErrors: 0)])
            now += 5
        }
        // (Half the 300 s window at 60% puts the window's share over the 25% threshold.)
        for _ in 0..<30 {
            try monitor.runOnce(now: now, counts: ["blog": Counts(responses: 100, notFound: 60, serverErrors: 0)])
            now += 5
        }
        let firing = try alerts.firing(kind: .error_spike)
        #expect(firing.map(\.key) == ["error_spike:blog:404"] && firing.first?.severity == .warning, "\(firing.map(\.key))")
    }

    @Test func memoryStaysBoundedWhateverTheNumberOfApps() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (monitor, _) = try setUp(dir) { $0.maxApps = 50 }
        var now = t0
        for round in 0..<100 {
            var counts: [String: Counts] = [:]
            for i in 0..<40 { counts["app\(round * 40 + i)"] = Counts(responses: 1, notFound: 0, serverErrors: 0) }
            try monitor.runOnce(now: now, counts: counts)
            now += 1
        }
        #expect(monitor.trackedApps <= 50)
        #expect(ErrorSpikeConfiguration().problems().isEmpty)
        var bad = ErrorSpikeConfiguration()
        bad.baseline = 10
        bad.multiple = 0
        #expect(Set(bad.problems().map(\.key)) == ["monitor.error_spike.baseline_s", "monitor.error_spike.multiple"])
    }
}

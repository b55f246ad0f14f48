import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct SimulatorTests {
    static let header =
        "req_id,arrival_s,app_id,build_type,kind,priority_hint,source_hash,deps_hash,service_warm_s,cold_extra_s,"
        + "fail_after_s,fail_attempts,popularity,actor,parent_req_id"

    func row(
        _ id: Int, at t: Double, app: String = "app0001", type: String = "javascript_web", kind: String = "user_push",
        hint: String = "", source: String? = nil, deps: String = "d0", service: Double = 60, cold: Double = 0,
        failAfter: String = "", failAttempts: Int = 0, actor: String = "human"
    ) -> String {
        "\(id),\(t),\(app),\(type),\(kind),\(hint),\(source ?? "s\(id)"),\(deps),\(service),\(cold),\(failAfter),\(failAttempts),0.5,\(actor),"
    }

    func trace(_ rows: [String], horizon: Double = 86_400) throws -> Trace {
        Trace(records: try TraceReader.parse(([Self.header] + rows).joined(separator: "\n") + "\n"), horizon: horizon)
    }

    // MARK: - Reading traces

    @Test func aTraceRowIsReadWithEveryField() throws {
        let records = try TraceReader.parse(
            Self.header + "\n"
                + "7,2945.4,app0185,flutter_ios,retry,3,df728a5937bd,363eb9c36853,28.2,34.4,12.5,9,0.01448,bot,3\n")
        #expect(
            records == [
                TraceRecord(
                    requestID: 7, arrival: 2945.4, app: "app0185", buildType: "flutter_ios", kind: .retry, hint: .release,
                    sourceHash: "df728a5937bd", dependencyHash: "363eb9c36853", serviceWarm: 28.2, coldExtra: 34.4, failAfter: 12.5,
                    failAttempts: 9, popularity: 0.01448, actor: .bot, parentRequestID: 3)
            ])
    }

    @Test func aTraceWithWindowsLineEndingsReadsTheSame() throws {
        let lf = [Self.header, row(1, at: 0), row(2, at: 5)].joined(separator: "\n") + "\n"
        let crlf = [Self.header, row(1, at: 0), row(2, at: 5)].joined(separator: "\r\n") + "\r\n"
        #expect(try TraceReader.parse(crlf) == TraceReader.parse(lf))
        #expect(try TraceReader.parse(crlf).count == 2)
    }

    @Test func malformedTracesAreRefusedWithTheLineNamed() {
        #expect(throws: TraceError.empty) { try TraceReader.parse("") }
        #expect(throws: TraceError.missingColumn("deps_hash")) {
            try TraceReader.parse("req_id,arrival_s,app_id,build_type,kind,priority_hint,source_hash\n")
        }
        let good = row(1, at: 0)
        #expect(throws: TraceError.badRow(line: 3, reason: "14 fields, header has 15")) {
            try TraceReader.parse([Self.header, good, "2,1,app,javascript_web,user_push,,s,d,1,1,,0,0.5,human"].joined(separator: "\n"))
        }
        for (bad, reason) in [
            (row(1, at: -5), "arrival_s '-5.0' is not a number ≥ 0"),
            (row(1, at: 0, kind: "nightly"), "kind 'nightly' is not user_push, cache_warm or retry"),
            (row(1, at: 0, hint: "7"), "priority_hint '7' is not 1..3"),
            (row(1, at: 0, app: "../etc"), "app_id '../etc' is not a valid app name"),
            (row(1, at: 0, failAttempts: 2), "fail_attempts 2 without fail_after_s"),
            (row(1, at: 0, actor: "robot"), "actor 'robot' is not human, bot or system"),
            (row(0, at: 0), "req_id must be ≥ 1"),
            (row(1, at: 0).replacingOccurrences(of: ",60.0,", with: ",nan,"), "service_warm_s 'nan' is not a number ≥ 0"),
        ] {
            #expect(throws: TraceError.badRow(line: 2, reason: reason)) { try TraceReader.parse(Self.header + "\n" + bad) }
        }
    }

    @Test func aTraceFileIsLoadedWithTheHorizonFromItsMetaFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.file("t.csv", Self.header + "\n" + row(1, at: 10) + "\n")
        try dir.file("t.meta.json", #"{"horizon_s": 172800.0, "args": {"days": 2}}"#)
        let loaded = try TraceReader.load(path: dir.path + "/t.csv")
        #expect(loaded.horizon == 172_800)
        #expect(loaded.records.count == 1)
        try dir.file("u.csv", Self.header + "\n" + row(1, at: 90_000) + "\n")
        #expect(try TraceReader.load(path: dir.path + "/u.csv").horizon == 172_800, "no meta: last arrival rounded up to a day")
        #expect(throws: (any Error).self) { try TraceReader.load(path: dir.path + "/missing.csv") }
    }

    @Test func anAttemptFollowsTheTracesOutcomeRule() {
        let flaky = TraceRecord(
            requestID: 1, arrival: 0, app: "a", buildType: "javascript_web", kind: .user_push, sourceHash: "s",
            dependencyHash: "d", serviceWarm: 100, coldExtra: 40, failAfter: 30, failAttempts: 1)
        #expect(flaky.attemptResult(attempt: 1, cold: true) == AttemptResult(duration: 70, outcome: .failed))
        #expect(flaky.attemptResult(attempt: 2, cold: false) == AttemptResult(duration: 100, outcome: .succeeded))
        #expect(flaky.attemptResult(attempt: 2, cold: true) == AttemptResult(duration: 140, outcome: .succeeded))
        var hung = flaky
        hung.serviceWarm = 5000
        #expect(hung.attemptResult(attempt: 3, cold: false) == AttemptResult(duration: 1800, outcome: .timedOut))
    }

    // MARK: - Bookkeeping on tiny traces checked by hand

    /// Four 60 s builds at t=0, min 1 slot, seed rule. By hand:
    /// t=0 job 1 starts on slot 1; tick: 3 queued > 2 × 1 → request 2 slots (ready at 45).
    /// t=45 jobs 2 and 3 start on the new slots (end 105). t=60 job 1 ends, job 4 starts on slot 1 (ends 120).
    /// t=110 tick: queue empty, release the longest-idle slot (slot 2, idle since 105).
    /// t=120 job 4 ends; tick releases slot 3 (idle since 105). Slot 1 lives to the horizon.
    /// Cost = 86,400 + 110 + 120 = 86,630; waits 0, 45, 45, 60; 3 scale events; 3 of 4 attempts cold.
    @Test func theSeedReplayOfABurstMatchesTheHandWorkedFigures() throws {
        let t = try trace((1...4).map { row($0, at: 0) })
        let result = try TraceSimulator(trace: t, policy: .seed()).run()
        let m = result.metrics
        #expect(m.slotSeconds == 86_630)
        #expect(m.userWaitP50 == 45)
        #expect(m.userWaitP95 == 60)
        #expect(m.userWaitMean == 37.5)
        #expect(m.scaleEvents == 3 && m.scaleUps == 1 && m.scaleDowns == 2)
        #expect(m.attempts == 4)
        #expect(m.coldAttemptShare == 0.75)
        #expect(m.busySeconds == 240)
        #expect(m.peakSlots == 3 && m.slotsStarted == 3)
        #expect(m.unfinished == 0)
        #expect(m.endTime == 86_400)
        #expect(result.history.map { $0.time.timeIntervalSince1970 } == [0, 110, 120])
        #expect(result.history[0].decision.reason == "queued 3 > 2 × active 1: add 2")
    }

    /// The same burst under the adaptive policy (no core, no quiet period, so the figures are easy to
    /// follow). t=0: job 1 starts on the min slot; the tick sees 3 queued and a build with 60 s to go
    /// (longer than the 45 s provisioning): add 3. t=45 jobs 2–4 start on the new slots (end 105); job 1
    /// ends at 60. Slots above the core go after 300 s idle: slot 1 at t=360 (idle since 60), then at
    /// t=410 two of the other three (idle since 105), down to min 1. Cost = 360 + 410 + 410 + 86,400 =
    /// 87,580; waits 0, 45, 45, 45; 3 scale events; every attempt cold (fresh slots).
    @Test func theAdaptiveReplayOfABurstMatchesTheHandWorkedFigures() throws {
        let t = try trace((1...4).map { row($0, at: 0) })
        let settings = AdaptiveAutoscaler.Settings(burstIdleTimeout: 300, coreIdleTimeout: 3600, quietPeriod: 0, coreFactor: 0)
        let result = try TraceSimulator(trace: t, policy: .adaptive(settings: settings)).run()
        let m = result.metrics
        #expect(m.slotSeconds == 87_580)
        #expect(m.userWaitP50 == 45 && m.userWaitP99 == 45)
        #expect(m.userWaitMean == 33.75)
        #expect(m.scaleEvents == 3 && m.scaleUps == 1 && m.scaleDowns == 2)
        #expect(m.attempts == 4 && m.coldAttemptShare == 1)
        #expect(m.busySeconds == 240)
        #expect(m.peakSlots == 4 && m.slotsStarted == 4)
        #expect(result.history.map { $0.time.timeIntervalSince1970 } == [0, 360, 410])
        #expect(result.history.map { $0.released.count } == [0, 1, 2])
        #expect(result.history[0].decision.reason.hasPrefix("3 user builds queued"))
    }

    /// A build that always fails after 20 s: the seed retries it blindly (4 attempts, 80 s); the default
    /// policy retries once, sees the same failure on the same source, and stops (2 attempts).
    @Test func aDeterministicFailureIsRetriedBlindlyBySeedAndOnceByTheDefault() throws {
        let t = try trace([row(1, at: 0, failAfter: "20", failAttempts: 9)])
        let seed = try TraceSimulator(trace: t, policy: .seed()).run().metrics
        #expect(seed.attempts == 4 && seed.automaticRetries == 3 && seed.failedAttemptSeconds == 80)
        let adaptive = try TraceSimulator(trace: t, policy: .adaptive()).run().metrics
        #expect(adaptive.attempts == 2 && adaptive.automaticRetries == 1 && adaptive.retriesSkipped == 1)
        #expect(adaptive.failedAttemptSeconds == 40)
        #expect(adaptive.unfinished == 0)
    }

    /// A flaky build (first attempt fails) succeeds on its retry under both policies; with the default
    /// policy's backoff of 10 s the retry starts at 30 s.
    @Test func aFlakyFailureIsRetriedUntilItSucceeds() throws {
        let t = try trace([row(1, at: 0, service: 50, failAfter: "20", failAttempts: 1)])
        let seed = try TraceSimulator(trace: t, policy: .seed()).run().metrics
        #expect(seed.attempts == 2 && seed.busySeconds == 70 && seed.userTurnaroundP95 == 70)
        let adaptive = try TraceSimulator(trace: t, policy: .adaptive()).run().metrics
        #expect(adaptive.attempts == 2 && adaptive.userTurnaroundP95 == 80)
    }

    /// Warm requests arriving at 02:00 count as on time when they finish by 07:00; the report gives when
    /// the night's last one finished. A slow-build alert fires for a javascript build over 120 s.
    @Test func warmBuildsAndSlowBuildsAreCounted() throws {
        let t = try trace([
            row(1, at: 7200, kind: "cache_warm", service: 100, actor: "system"),
            row(2, at: 7200, app: "app0002", kind: "cache_warm", service: 130, actor: "system"),
        ])
        let m = try TraceSimulator(trace: t, policy: .seed()).run().metrics
        #expect(m.warmBuilds == 2 && m.warmDoneBy0700 == 1)
        #expect(m.slowBuildAlerts == 1)
        // One slot: 100 s, then 130 s: the last ends at 02:03:50.
        #expect(m.warmLastDoneByNight == [7200 + 230])
        #expect(m.warmWaitP95 == 100)
        // The adaptive policy sees 2 warm builds fit on the one slot long before 06:00: no scale-up.
        let adaptive = try TraceSimulator(trace: t, policy: .adaptive()).run().metrics
        #expect(adaptive.scaleEvents == 0 && adaptive.warmDoneBy0700 == 1)
        #expect(adaptive.warmLastDoneByNight == [7200 + 230])
    }

    @Test func percentilesAreNearestRank() {
        let values = (1...20).map(Double.init)
        #expect(SimulationMetrics.percentile(values, 50) == 10)
        #expect(SimulationMetrics.percentile(values, 95) == 19)
        #expect(SimulationMetrics.percentile(values, 99) == 20)
        #expect(SimulationMetrics.percentile([], 50) == nil)
        #expect(SimulationMetrics.warmDeadline(after: 7200) == 25_200)
        #expect(SimulationMetrics.warmDeadline(after: 30_000) == 86_400 + 25_200)
    }
}

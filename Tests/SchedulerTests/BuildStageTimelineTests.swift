import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

/// Stage timelines read from real build logs (written by `BuildLog` on a virtual clock) over a
/// real queue: in order, timed from the log's timestamps, the running one open; caught up a piece
/// at a time; reset by a new attempt; bounded; and never thrown off by hostile log bytes.
@Suite struct BuildStageTimelineTests {
    /// A log of job `id`'s attempt, written by the real `BuildLog` with time under the test's control.
    struct Log {
        let clock = VirtualClock(start: t0)
        let log: BuildLog
        init(root: String, job: Int64, attempt: Int = 1) throws {
            log = try BuildLog(path: root + "/\(job)/attempt-\(attempt).log", capBytes: 1 << 20, clock: clock)
        }
        func out(_ text: String, after seconds: Double = 0) {
            clock.advance(by: seconds)
            log.append(Array((text + "\n").utf8), from: .out)
        }
        func err(_ text: String, after seconds: Double = 0) {
            clock.advance(by: seconds)
            log.append(Array((text + "\n").utf8), from: .err)
        }
    }

    static let start = t0.timeIntervalSince1970

    @Test func stagesAreTimedFromTheLogAndTheRunningOneStaysOpenUntilTheBuildEnds() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let job = try queue.enqueue(request(dir), now: t0)
        _ = try #require(try queue.claim(owner: "w", now: t0))
        let root = dir.path + "/logs"
        let log = try Log(root: root, job: job.id)
        let timelines = BuildStageTimelines(queue: queue, logRoot: root)

        log.out("preparing")
        log.out("::stage checkout", after: 0.5)
        log.err("::stage not-a-stage", after: 0.5)  // markers count on stdout only, as in the runner
        log.out("::stage install", after: 1.5)
        log.out("::stage  two words", after: 0.25)  // not a marker
        var snapshot = try timelines.timeline(jobID: job.id)
        #expect(snapshot.state == .running && snapshot.complete)
        var t = snapshot.timeline
        #expect(close(t.startedAt, Self.start) && close(t.lastLineAt, Self.start + 2.75))
        #expect(t.stages.map(\.name) == ["checkout", "install"])
        #expect(close(t.stages[0].startedAt, Self.start + 0.5) && close(t.stages[0].endedAt, Self.start + 2.5))
        #expect(t.current?.name == "install" && t.stages[1].endedAt == nil)

        // Read on from where it stopped: the next request sees only the new lines.
        log.out("::stage build", after: 3)
        log.out("::stage publish", after: 4)
        snapshot = try timelines.timeline(jobID: job.id)
        t = snapshot.timeline
        #expect(t.stages.map(\.name) == ["checkout", "install", "build", "publish"])
        #expect(close(t.stages[2].endedAt.map { $0 - t.stages[2].startedAt }, 4))
        #expect(t.current?.name == "publish")

        log.out("done", after: 2)
        _ = try queue.finish(jobID: job.id, owner: "w", outcome: .succeeded(deploymentID: "d"), report: AttemptReport(), now: t0)
        snapshot = try timelines.timeline(jobID: job.id)
        #expect(snapshot.state == .succeeded && snapshot.timeline.isFinished)
        #expect(snapshot.timeline.current == nil)
        #expect(close(snapshot.timeline.stages.last?.endedAt, Self.start + 11.75), "the last stage ends at the last line")
        #expect(timelines.trackedCount == 1)
        #expect(throws: (any Error).self) { try timelines.timeline(jobID: 999_999) }
    }

    @Test func aRetryStartsTheTimelineAgainAtItsAttempt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let job = try queue.enqueue(request(dir), now: t0)
        _ = try #require(try queue.claim(owner: "w", now: t0))
        let root = dir.path + "/logs"
        let first = try Log(root: root, job: job.id, attempt: 1)
        first.out("::stage checkout")
        first.out("::stage build", after: 1)
        let timelines = BuildStageTimelines(queue: queue, logRoot: root)
        #expect(try timelines.timeline(jobID: job.id).timeline.stages.count == 2)
        let second = try Log(root: root, job: job.id, attempt: 2)
        second.out("::stage checkout", after: 100)
        let t = try timelines.timeline(jobID: job.id).timeline
        #expect(t.attempt == 2 && t.stages.map(\.name) == ["checkout"] && close(t.startedAt, Self.start + 100))
    }

    @Test func aLongLogIsCaughtUpOverSeveralRequestsAndFewJobsAreKept() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let root = dir.path + "/logs"
        let job = try queue.enqueue(request(dir), now: t0)
        let log = try Log(root: root, job: job.id)
        for i in 0..<400 {
            log.out("::stage s\(i)", after: 1)
            log.out(String(repeating: "x", count: 200))
        }
        let timelines = BuildStageTimelines(queue: queue, logRoot: root, capacity: 2, maxBytesPerRequest: 32 * 1024)
        var requests = 0
        var snapshot = try timelines.timeline(jobID: job.id)
        while !snapshot.complete, requests < 100 {
            requests += 1
            snapshot = try timelines.timeline(jobID: job.id)
        }
        #expect(snapshot.complete && requests >= 2, "about 100 KB at 32 KiB a request")
        #expect(snapshot.timeline.stages.count == BuildStageTimeline.maxStages && snapshot.timeline.omitted == 200)
        #expect(snapshot.timeline.stages.first?.name == "s200" && snapshot.timeline.stages.last?.name == "s399")
        // Capacity 2: a third job drops the least recently asked.
        let others = try (0..<2).map { _ in try queue.enqueue(request(dir), now: t0) }
        for other in others { _ = try timelines.timeline(jobID: other.id) }
        #expect(timelines.trackedCount == 2)
    }

    @Test func hostileLogBytesNeverCrashAndNeverMakeAStageOutOfNothing() {
        // Lines that look almost right.
        var t = BuildStageTimeline()
        let lines = [
            "::stage bare-no-timestamp", "not-a-time out | ::stage x", "2026-11-22T02:46:39.123Z err | ::stage x",
            "2026-11-22T02:46:39.123Z wharf | ::stage x", "2026-11-22T02:46:39.123Zout | ::stage x",
            "2026-13-45T99:99:99.999Z out | ::stage x", "== attempt 0 ==", "== attempt -3 ==", "== attempt 99999999999999999999 ==",
            "2026-11-22T02:46:39.123Z out |::stage x", "2026-11-22T02:46:39.123Z out | ::stage <img src=x>",
            String(repeating: "9", count: 40) + " out | ::stage x",
        ]
        t.feed(Array(lines.joined(separator: "\n").utf8) + [0x0A])
        #expect(t.stages.isEmpty && t.attempt == 1)
        // A partial line over 64 KiB is dropped, not kept growing.
        t.feed(Array(repeating: 0x41, count: 70_000))
        t.feed(Array("\n2026-11-22T02:46:39.123Z out | ::stage ok\n".utf8))
        #expect(t.stages.map(\.name) == ["ok"])
        // Random bytes and random cuts of a real log line: no crash, no invented stage name.
        var generator = SeededGenerator(seed: 22)
        let real = Array("2026-11-22T02:46:39.123Z out | ::stage real\n== attempt 2 ==\n".utf8)
        for _ in 0..<3000 {
            var fuzzed = BuildStageTimeline()
            var bytes = real
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let cut = Int.random(in: 0...bytes.count, using: &generator)
            fuzzed.feed(Array(bytes[..<cut]))
            fuzzed.feed(Array(bytes[cut...]))
            fuzzed.finish()
            #expect(fuzzed.stages.allSatisfy { BuildStages.marker(in: Substring("::stage " + $0.name)) == $0.name })
            #expect(fuzzed.stages.count <= 1)
        }
    }
}

/// Equal within a millisecond (the log's resolution).
private func close(_ a: Double?, _ b: Double) -> Bool {
    guard let a else { return false }
    return abs(a - b) < 0.001
}

/// A small deterministic generator (SplitMix64) for repeatable fuzzing.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

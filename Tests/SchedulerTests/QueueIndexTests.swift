import Foundation
import Synchronization
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct QueueIndexTests {
    /// The best job by brute force: every ready queued job scored through `explain`.
    func bruteForceBest(_ queue: JobQueue, now: Date) throws -> (id: Int64, score: Double)? {
        var best: (id: Int64, score: Double, queuedAt: Date)?
        for job in try queue.list(state: .queued, limit: 10_000) where job.availableAt <= now {
            let (others, popularity) = queue.index.withLock { idx in
                (idx.othersActive(app: job.app, owner: job.owner), idx.cachedPopularity(job.app))
            }
            let score = queue.scorer.score(
                ScoreInputs(
                    kind: job.kind, hint: job.priorityHint, secondsWaiting: now.timeIntervalSince(job.availableAt),
                    popularity: popularity, expectedSeconds: queue.expectedSeconds(job.buildType),
                    othersActive: others, previousAttempts: job.attempt))
            if best == nil || score > best!.score + 1e-9
                || (abs(score - best!.score) <= 1e-9 && (job.queuedAt, job.id) < (best!.queuedAt, best!.id))
            {
                best = (job.id, score, job.queuedAt)
            }
        }
        return best.map { ($0.id, $0.score) }
    }

    @Test func theIndexAlwaysPicksWhatScoringEveryJobWouldPick() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let popularity: @Sendable (String) -> Double = { app in Double(app.utf8.last! % 5) / 4 }
        let queue = try makeQueue(dir, configuration: .init(retry: RetryPolicy(baseDelay: 30)), popularity: popularity)
        var random = SeededRandom(seed: 7)
        var now = t0
        var running: [Int64] = []
        let kinds = JobKind.allCases
        let types = ["javascript_web", "flutter_web", "flutter_android", "flutter_ios"]
        for step in 0..<300 {
            now = now.addingTimeInterval(Double(random.next() % 120))
            switch random.next() % 10 {
            case 0...4:
                let r = JobRequest(
                    app: "app\(random.next() % 6)", owner: random.next() % 3 == 0 ? "" : "owner\(random.next() % 3)",
                    buildType: types[Int(random.next() % 4)], kind: kinds[Int(random.next() % 4)],
                    source: dir.path, priorityHint: PriorityHint(rawValue: Int(random.next() % 3) + 1)!)
                try queue.enqueue(r, now: now)
            case 5, 6:
                if let job = try queue.claim(owner: "w", now: now) { running.append(job.id) }
            case 7, 8:
                if !running.isEmpty {
                    let id = running.remove(at: Int(random.next() % UInt64(running.count)))
                    let outcome: JobOutcome =
                        random.next() % 2 == 0
                        ? .succeeded(deploymentID: "d") : .failed(exitCode: 1, error: "flaky")
                    try queue.finish(jobID: id, owner: "w", outcome: outcome, now: now)
                }
            default:
                if let victim = try queue.list(state: .queued, limit: 50).first { try queue.cancel(jobID: victim.id, now: now) }
            }
            let expected = try bruteForceBest(queue, now: now)
            let actual = queue.peekBest(now: now)
            #expect(
                actual?.id == expected?.id || (actual != nil && expected != nil && abs(actual!.score - expected!.score) < 1e-6),
                "step \(step): index chose \(String(describing: actual)), brute force \(String(describing: expected))")
            if let actual, let expected { #expect(abs(actual.score - expected.score) < 1e-6) }
        }
    }
}

import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct PriorityScoreTests {
    /// Claims everything and returns the apps in claim order.
    func claimOrder(_ queue: JobQueue, now: Date = t0) throws -> [String] {
        var apps: [String] = []
        while let job = try queue.claim(owner: "w", now: now) { apps.append(job.app) }
        return apps
    }

    @Test(arguments: QueueBackend.allCases) func kindOrdersUserPushThenManualThenRetryThenCacheWarm(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(
            batch: [
                request(dir, app: "warm", kind: .cache_warm), request(dir, app: "retry", kind: .retry),
                request(dir, app: "manual", kind: .manual), request(dir, app: "push", kind: .user_push),
            ], now: t0)
        #expect(try claimOrder(queue) == ["push", "manual", "retry", "warm"])
    }

    @Test(arguments: QueueBackend.allCases) func theHintOrdersReleaseThenNormalThenLow(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(
            batch: [
                request(dir, app: "low", hint: .low), request(dir, app: "normal", hint: .normal),
                request(dir, app: "release", hint: .release),
            ], now: t0)
        #expect(try claimOrder(queue) == ["release", "normal", "low"])
    }

    @Test(arguments: QueueBackend.allCases) func aMorePopularAppGoesFirst(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend, popularity: { $0 == "hot" ? 1.0 : 0.1 })
        try queue.enqueue(batch: [request(dir, app: "cold"), request(dir, app: "hot")], now: t0)
        #expect(try claimOrder(queue) == ["hot", "cold"])
        let hot = try queue.explain(jobID: 2, now: t0)
        #expect(hot.factors.first { $0.name == "popularity" }?.contribution == 200)
    }

    @Test(arguments: QueueBackend.allCases) func aCheaperBuildTypeGoesFirst(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(
            batch: [
                request(dir, app: "ios", type: "flutter_ios"), request(dir, app: "web", type: "javascript_web"),
                request(dir, app: "android", type: "flutter_android"),
            ], now: t0)
        #expect(try claimOrder(queue) == ["web", "android", "ios"])
    }

    @Test(arguments: QueueBackend.allCases) func fairShareLetsAnAppWithFewJobsOvertakeOneWithMany(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(batch: (0..<5).map { _ in request(dir, app: "busy") }, now: t0)
        try queue.enqueue(request(dir, app: "quiet"), now: t0.addingTimeInterval(1))
        let order = try claimOrder(queue, now: t0.addingTimeInterval(2))
        #expect(order.first == "quiet", "quiet was queued last but has no other jobs")
        #expect(try queue.explain(jobID: 6, now: t0).factors.first { $0.name == "fair share" }?.value == 1)
    }

    @Test(arguments: QueueBackend.allCases) func fairShareCountsJobsOfTheSameOwnerAcrossApps(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(batch: (0..<4).map { i in request(dir, app: "bot-app\(i)", owner: "dependabot") }, now: t0)
        try queue.enqueue(request(dir, app: "human-app", owner: "alice"), now: t0.addingTimeInterval(1))
        #expect(try claimOrder(queue, now: t0.addingTimeInterval(2)).first == "human-app")
    }

    @Test(arguments: QueueBackend.allCases) func aRetryYieldsToAFirstAttempt(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend, configuration: .init(retry: RetryPolicy(baseDelay: 0)))
        let flaky = try queue.enqueue(request(dir, app: "flaky"), now: t0)
        _ = try queue.claim(owner: "w", now: t0)
        try queue.finish(jobID: flaky.id, owner: "w", outcome: .failed(exitCode: 1, error: "flake"), now: t0)
        try queue.enqueue(request(dir, app: "fresh"), now: t0)
        #expect(try claimOrder(queue) == ["fresh", "flaky"])
    }

    @Test(arguments: QueueBackend.allCases) func equalScoresAreBrokenByQueueTime(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend, configuration: .init(weights: PriorityWeights(agePerHour: 0)))
        try queue.enqueue(request(dir, app: "first"), now: t0)
        try queue.enqueue(request(dir, app: "second"), now: t0.addingTimeInterval(5))
        try queue.enqueue(request(dir, app: "third"), now: t0.addingTimeInterval(9))
        #expect(try claimOrder(queue, now: t0.addingTimeInterval(10)) == ["first", "second", "third"])
    }

    @Test(arguments: QueueBackend.allCases) func anOldCacheWarmJobEventuallyOutranksFreshUserPushes(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend, popularity: { $0 == "star" ? 1 : 0 })
        let warm = try queue.enqueue(request(dir, app: "nightly", kind: .cache_warm, hint: .low), now: t0)
        // One hour later a fresh release push of the most popular app still wins.
        let hourLater = t0.addingTimeInterval(3600)
        let push = try queue.enqueue(request(dir, app: "star", kind: .user_push, hint: .release), now: hourLater)
        #expect(queue.peekBest(now: hourLater)?.id == push.id)
        // The warm job's score keeps rising; the newest push is always fresh. After four hours it wins.
        try queue.cancel(jobID: push.id, now: hourLater)
        let later = t0.addingTimeInterval(4 * 3600 + 1)
        let freshPush = try queue.enqueue(request(dir, app: "star", kind: .user_push, hint: .release), now: later)
        #expect(queue.peekBest(now: later)?.id == warm.id)
        let warmScore = try queue.explain(jobID: warm.id, now: later).total
        let pushScore = try queue.explain(jobID: freshPush.id, now: later).total
        #expect(warmScore > pushScore)
    }

    @Test(arguments: QueueBackend.allCases) func explainAddsUpToTheScoreTheClaimUsed(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend, popularity: { _ in 0.5 })
        try queue.enqueue(
            batch: [
                request(dir, app: "a", owner: "o", type: "flutter_web", kind: .manual, hint: .release),
                request(dir, app: "a", owner: "o", type: "flutter_ios", kind: .cache_warm),
            ], now: t0)
        let now = t0.addingTimeInterval(1800)
        let explanation = try queue.explain(jobID: 1, now: now)
        #expect(explanation.factors.map(\.name) == ["age", "kind", "hint", "popularity", "cost", "fair share", "attempts"])
        let byName = Dictionary(uniqueKeysWithValues: explanation.factors.map { ($0.name, $0.contribution) })
        #expect(byName["age"] == 300)  // half an hour × 600/h
        #expect(byName["kind"] == 750)  // manual 0.75 × 1000
        #expect(byName["hint"] == 500)
        #expect(byName["popularity"] == 100)
        #expect(abs(byName["cost"]! - 200 * (1 - 180.0 / 540)) < 1e-9)
        #expect(byName["fair share"] == 150)  // one other job of app a: 1/2 × 300
        #expect(byName["attempts"] == 200)
        let claimed = try #require(try queue.claim(owner: "w", now: now))
        #expect(claimed.id == 1)
        #expect(abs(claimed.claimScore! - explanation.total) < 1e-6)
        #expect(explanation.description.contains("fair share"))
    }

    @Test func negativeWeightsAreRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(throws: SchedulerError.self) {
            try makeQueue(dir, configuration: .init(weights: PriorityWeights(agePerHour: -1)))
        }
        #expect(throws: SchedulerError.self) {
            try makeQueue(dir, configuration: .init(weights: PriorityWeights(kind: .nan)))
        }
    }

    @Test(arguments: QueueBackend.allCases) func kindsCanBeExcludedFromAClaim(_ backend: QueueBackend) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: backend)
        try queue.enqueue(batch: [request(dir, app: "w", kind: .cache_warm), request(dir, app: "p", kind: .user_push)], now: t0)
        #expect(try queue.claim(owner: "w", now: t0, kinds: [.cache_warm])?.app == "w")
        #expect(try queue.claim(owner: "w", now: t0, kinds: [.cache_warm]) == nil)
        #expect(try queue.claim(owner: "w", now: t0)?.app == "p")
    }
}

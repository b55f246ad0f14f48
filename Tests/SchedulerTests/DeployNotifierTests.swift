import Foundation
import GRDB
import Testing
import WharfTestSupport

@testable import Scheduler

/// The deploy notification outbox over a real SQLite queue and a real receiver: each finished job is
/// noted once (warm and cancelled builds never), rows go to every target, a failing target backs
/// off without holding up the others, the delivery id stays the same across retries.
@Suite struct DeployNotifierTests {
    static let sample = DeployNotification(event: "deploy.succeeded", text: "✅ shop", app: "shop", deployment: "d1", state: "live", source: "push")

    @Test func finishedJobsAreNotedOnceAndTheFloorSkipsOldOnes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let notifier = DeployNotifier(database: queue.database)
        let push = try queue.enqueue(request(dir), now: t0)
        let warm = try queue.enqueue(request(dir, kind: .cache_warm), now: t0)
        #expect(try notifier.finishedJobsToNote().isEmpty)
        for _ in 0..<2 {
            let claimed = try #require(try queue.claim(owner: "w", now: t0))
            try queue.finish(jobID: claimed.id, owner: "w", outcome: .failed(exitCode: 1, error: "x", retryable: false), now: t0)
        }
        let open = try queue.enqueue(request(dir), now: t0)
        #expect(try notifier.finishedJobsToNote() == [push.id], "warm builds and unfinished jobs are not announced")
        #expect(
            try notifier.enqueue(job: push.id, Self.sample, targets: ["http://127.0.0.1:9/a", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]) == 2)
        #expect(try notifier.enqueue(job: push.id, Self.sample, targets: ["http://127.0.0.1:9/a"]) == 0, "a job is noted once")
        #expect(try notifier.finishedJobsToNote().isEmpty)
        // Once the open job finishes it is found, above the low-water mark.
        let claimed = try #require(try queue.claim(owner: "w", now: t0))
        #expect(claimed.id == open.id)
        try queue.finish(jobID: open.id, owner: "w", outcome: .succeeded(deploymentID: "d"), now: t0)
        #expect(try notifier.finishedJobsToNote() == [open.id])
        _ = warm
    }

    @Test func aFailingTargetBacksOffAndTheOthersAreDelivered() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let good = try TestReceiver()
        defer { good.stop() }
        let bad = try TestReceiver(script: [.status(500), .status(503)], then: .status(200))
        defer { bad.stop() }
        let notifier = DeployNotifier(database: queue.database, timeout: 5, initialBackoff: 0.2, maxBackoff: 1)
        try notifier.enqueue(Self.sample, key: "upload:d1", targets: ["http://127.0.0.1:\(bad.port)/hook", "http://127.0.0.1:\(good.port)/hook"])
        #expect(try notifier.enqueue(Self.sample, key: "upload:d1", targets: ["http://127.0.0.1:\(good.port)/hook"]) == 0)
        notifier.start()
        defer { notifier.stop() }
        #expect(eventually(20, every: 0.05) { (try? notifier.pendingCount()) == 0 }, "bad: \(bad.requests.count), good: \(good.requests.count)")
        #expect(good.requests.count == 1)
        #expect(bad.requests.count == 3, "two failures, then delivered")
        let ids = Set(bad.requests.compactMap { $0.header("X-Wharf-Delivery") })
        #expect(ids.count == 1, "the delivery id stays the same across retries: \(ids)")
        let body = try #require(bad.requests.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] })
        #expect(body["text"] as? String == "✅ shop" && "\(body["deliveryId"] ?? "")" == ids.first)
    }
}

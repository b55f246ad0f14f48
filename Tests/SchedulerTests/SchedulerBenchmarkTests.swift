import Foundation
import Testing
@testable import Scheduler

@Suite struct SchedulerBenchmarkTests {
    /// Checks the benchmark runs and reports sane numbers at a tiny size (not a timed test).
    @Test func theBenchmarkRunsAtASmallSize() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let report = try SchedulerBenchmark.run(jobs: 500, batchSize: 100, queuedForDecision: 200, decisions: 50, apps: 20, directory: dir.path)
        #expect(report.jobs == 500)
        #expect(report.enqueuesPerSecond > 0)
        #expect(report.fileSizeBytes > 0)
        #expect(report.groups > 0 && report.groups <= 200)
        #expect(report.decisionP99Microseconds > 0)
        #expect(report.claimP99Microseconds >= report.claimP50Microseconds)
        #expect(report.description.contains("jobs/s"))
        let rows = try SchedulerDatabase.open(path: dir.path + "/enqueue.sqlite")
        let queue = try JobQueue(database: rows, now: t0)
        #expect(try queue.list(limit: 10_000).count == 500)
    }
}

import Foundation
import Scheduler
import Testing
import WharfTestSupport

@testable import WharfBench

@Suite struct SchedulerBenchmarkTests {
    /// Checks the benchmark runs and reports sane numbers at a tiny size (not a timed test).
    @Test func theBenchmarkRunsAtASmallSize() throws {
        let dir = NSTemporaryDirectory() + "wharf-bench-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try SchedulerBenchmark.run(jobs: 500, batchSize: 100, queuedForDecision: 200, decisions: 50, apps: 20, directory: dir)
        #expect(report.jobs == 500)
        #expect(report.enqueuesPerSecond > 0)
        #expect(report.fileSizeBytes > 0)
        #expect(report.groups > 0 && report.groups <= 200)
        #expect(report.decisionP99Microseconds > 0)
        #expect(report.claimP99Microseconds >= report.claimP50Microseconds)
        #expect(report.description.contains("jobs/s"))
        let rows = try SchedulerDatabase.open(path: dir + "/enqueue.sqlite")
        let queue = try JobQueue(database: rows, now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try queue.list(limit: 10_000).count == 500)
    }

    /// The same at a tiny size on the test process's private PostgreSQL, and the side-by-side table.
    @Test func theBenchmarkRunsOnPostgresAndComparesBothBackends() throws {
        let dir = NSTemporaryDirectory() + "wharf-bench-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try PostgresServer.shared()
        let sqlite = try SchedulerBenchmark.run(jobs: 500, batchSize: 100, queuedForDecision: 200, decisions: 50, apps: 20, directory: dir)
        let postgres = try SchedulerBenchmark.run(
            jobs: 500, batchSize: 100, queuedForDecision: 200, decisions: 50, apps: 20, directory: dir,
            backend: .postgres(newDatabase: { try server.createDatabase(prefix: "bench") }))
        #expect(postgres.backend == "PostgreSQL")
        #expect(postgres.jobs == 500)
        #expect(postgres.enqueuesPerSecond > 0)
        #expect(postgres.claimP99Microseconds >= postgres.claimP50Microseconds)
        #expect(postgres.claimP50Microseconds > 0)
        let table = SchedulerBenchmark.comparison(sqlite, postgres)
        #expect(table.contains("PostgreSQL") && table.contains("jobs/s"))
        #expect(table.split(separator: "\n").count == 5)
    }
}

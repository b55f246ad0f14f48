import Foundation
import Scheduler
import WharfTestSupport

/// `wharf-bench scheduler`: the scheduler queue's throughput report (`SchedulerBenchmark`), in a fresh
/// temporary directory that is removed afterwards. With `--postgres` it also starts a private,
/// durable (fsync on) PostgreSQL server the way the tests do (`--postgres-async`: fsync and
/// synchronous_commit off, SQLite's WAL/NORMAL durability), runs the same measurements on it, and
/// prints both backends side by side; the server is stopped and deleted at the end.
enum SchedulerBench {
    static func run(_ arguments: [String]) {
        var jobs = 100_000
        var queued = 10_000
        var postgres = false
        var synchronousCommit = true
        var i = 0
        while i < arguments.count {
            if arguments[i] == "--jobs", i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 {
                jobs = n
                i += 1
            }
            if arguments[i] == "--queued", i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 {
                queued = n
                i += 1
            }
            if arguments[i] == "--postgres" { postgres = true }
            // Like SQLite's WAL with synchronous=NORMAL: a commit survives a process crash, not an OS crash.
            if arguments[i] == "--postgres-async" {
                postgres = true
                synchronousCommit = false
            }
            i += 1
        }
        let directory = NSTemporaryDirectory() + "wharf-bench-scheduler-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let report = try SchedulerBenchmark.run(jobs: jobs, queuedForDecision: queued, directory: directory)
            print(report)
            guard postgres else { return }
            let server = try PostgresServer(durable: synchronousCommit)
            defer { server.stop() }
            let shared = try SchedulerBenchmark.run(
                jobs: jobs, queuedForDecision: queued, directory: directory,
                backend: .postgres(newDatabase: { try server.createDatabase(prefix: "bench") }))
            print(shared)
            print(SchedulerBenchmark.comparison(report, shared))
        } catch {
            print("scheduler benchmark failed: \(error)")
        }
    }
}

import Foundation
import Scheduler

/// `wharf-bench scheduler`: the scheduler queue's throughput report (`SchedulerBenchmark`), in a fresh
/// temporary directory that is removed afterwards.
enum SchedulerBench {
    static func run(_ arguments: [String]) {
        var jobs = 100_000
        var queued = 10_000
        var i = 0
        while i < arguments.count {
            if arguments[i] == "--jobs", i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 { jobs = n; i += 1 }
            if arguments[i] == "--queued", i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 { queued = n; i += 1 }
            i += 1
        }
        let directory = NSTemporaryDirectory() + "wharf-bench-scheduler-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let report = try SchedulerBenchmark.run(jobs: jobs, queuedForDecision: queued, directory: directory)
            print(report)
        } catch {
            print("scheduler benchmark failed: \(error)")
        }
    }
}

import Foundation
@testable import Scheduler
import WharfTestSupport

/// A fresh directory under the system temp dir, removed by `remove()`.
/// A queue over a real SQLite file in `dir`; the source path given to jobs is `dir` itself.
func makeQueue(_ dir: TemporaryDirectory, configuration: JobQueue.Configuration = .init(),
               popularity: @escaping @Sendable (String) -> Double = { _ in 0 }, now: Date = t0) throws -> JobQueue {
    let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
    return try JobQueue(database: database, configuration: configuration, popularity: popularity, now: now)
}

/// A fixed start time for tests.
let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func request(_ dir: TemporaryDirectory, app: String = "shop", owner: String = "", type: String = "javascript_web",
             kind: JobKind = .user_push, hint: PriorityHint = .normal) -> JobRequest {
    JobRequest(app: app, owner: owner, buildType: type, kind: kind, source: dir.path, command: "./build.sh", priorityHint: hint)
}

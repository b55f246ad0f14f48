import Foundation
import Postgres
import Synchronization
import Testing
import WharfTestSupport

@testable import Scheduler

/// A queue over a real SQLite file in `dir`, or (`backend: .postgres`) over a database of the test
/// process's private PostgreSQL server, the same database for every queue made for `dir` (so two
/// queues on one `dir` are two schedulers on one queue, and making one again reopens it). The
/// source path given to jobs is `dir` itself.
func makeQueue(
    _ dir: TemporaryDirectory, backend: QueueBackend = .sqlite, configuration: JobQueue.Configuration = .init(),
    popularity: @escaping @Sendable (String) -> Double = { _ in 0 }, now: Date = t0
) throws -> JobQueue {
    let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
    switch backend {
    case .sqlite:
        return try JobQueue(database: database, configuration: configuration, popularity: popularity, now: now)
    case .postgres:
        let storage = try PostgresQueueStorage(url: try QueueBackend.postgresURL(for: dir), local: database)
        return try JobQueue(database: database, postgres: storage, configuration: configuration, popularity: popularity, now: now)
    }
}

/// The two places a queue's jobs can live: the queue's tests run against both.
enum QueueBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    private static let databases = Mutex<[String: PostgresURL]>([:])

    /// The PostgreSQL database of the test directory `dir` (created on first use).
    static func postgresURL(for dir: TemporaryDirectory) throws -> PostgresURL {
        if let known = databases.withLock({ $0[dir.path] }) { return known }
        let url = try #require(PostgresURL(try PostgresServer.shared().createDatabase(prefix: "queue")))
        return databases.withLock { known in
            if let earlier = known[dir.path] { return earlier }
            known[dir.path] = url
            return url
        }
    }
}

/// A fixed start time for tests.
let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func request(
    _ dir: TemporaryDirectory, app: String = "shop", owner: String = "", type: String = "javascript_web",
    kind: JobKind = .user_push, hint: PriorityHint = .normal
) -> JobRequest {
    JobRequest(app: app, owner: owner, buildType: type, kind: kind, source: dir.path, command: "./build.sh", priorityHint: hint)
}

import Foundation
import Postgres
import Synchronization
import Testing
import WharfTestSupport

@testable import Scheduler

/// What only the PostgreSQL backend has: the client (parameters, errors, URLs), the schema's
/// constraints, notifications between schedulers, hostile text, and the shared cron ledger. The queue's
/// behaviour itself is tested on both backends by JobQueueTests, LeaseRescuerTests and PriorityScoreTests.
@Suite struct PostgresQueueTests {
    func connect(_ dir: TemporaryDirectory) throws -> PostgresConnection {
        try PostgresConnection(url: try QueueBackend.postgresURL(for: dir))
    }

    @Test func theSchemaRefusesAStateOutsideTheStateMachine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: .postgres)
        let job = try queue.enqueue(request(dir), now: t0)
        let connection = try connect(dir)
        for sql in ["UPDATE job SET state = 'exploded' WHERE id = $1", "UPDATE job SET state = 'running' WHERE id = $1"] {
            do {
                try connection.query(sql, [job.id])
                Issue.record("\(sql) was accepted")
            } catch let error as PostgresError {
                #expect(error.sqlState == "23514", "a CHECK violation: \(error)")
                #expect(error.isConstraintViolation)
            }
        }
        #expect(try queue.get(job.id).state == .queued)
    }

    @Test func aConnectionLostInsideATransactionFailsItWhollyAndTheNextStatementReconnects() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try makeQueue(dir, backend: .postgres)  // the schema
        let connection = try connect(dir)
        let admin = try connect(dir)
        let insert = "INSERT INTO cron_fire (name, scheduled_for, fired_by, fired_at) VALUES ($1, 1, 'test', 1)"
        #expect(throws: PostgresError.self) {
            try connection.transaction { c in
                try c.query(insert, ["first"])
                let pid = try #require(try c.query("SELECT pg_backend_pid() AS pid").first?["pid"].int64)
                try admin.query("SELECT pg_terminate_backend($1::int)", [pid])
                // A caller that swallows the failure and goes on must not get the rest run outside the transaction.
                _ = try? c.query(insert, ["second"])
                try c.query(insert, ["third"])
            }
        }
        // No row: the first was in the lost transaction, the later ones never ran outside it.
        #expect(try admin.query("SELECT count(*) AS n FROM cron_fire").first?["n"] == .integer(0))
        #expect(try connection.query("SELECT 1 AS one").first?["one"] == .integer(1), "reconnected")
    }

    @Test func sqlMetacharactersInEveryTextFieldRoundTripUnchanged() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: .postgres, configuration: .init(checkSourceExists: false))
        let hostile = "'); DROP TABLE job; -- $1 $$ \\ \" ; SELECT pg_sleep(10); /* ü 🚢 */ E'\\x00'"
        let r = JobRequest(
            app: "a.b_c-d", owner: hostile, buildType: "javascript_web", kind: .manual, source: "/src/" + hostile,
            command: hostile, target: hostile, priorityHint: .low, dependencyHash: hostile, cacheKey: hostile)
        let stored = try queue.enqueue(r, now: t0)
        let read = try queue.get(stored.id)
        #expect(read.owner == hostile)
        #expect(read.source == "/src/" + hostile)
        #expect(read.command == hostile)
        #expect(read.target == hostile)
        #expect(read.dependencyHash == hostile)
        #expect(read.cacheKey == hostile)
        #expect(try queue.list(app: "a.b_c-d").map(\.id) == [stored.id])
        // The owner and slot travel as parameters through claim and attempt too.
        let claimed = try #require(try queue.claim(owner: hostile, slotID: hostile, now: t0))
        #expect(claimed.leaseOwner == hostile)
        #expect(try queue.attempts(of: stored.id).first?.owner == hostile)
        try queue.finish(jobID: stored.id, owner: hostile, outcome: .failed(exitCode: 1, error: hostile, retryable: false), now: t0)
        #expect(try queue.get(stored.id).error == hostile)
        // Every table is still there, and holds exactly the one job.
        let tables = try connect(dir).query("SELECT count(*) AS n FROM pg_tables WHERE tablename IN ('job', 'job_attempt', 'cron_fire')")
        #expect(tables.first?["n"] == .integer(3))
        #expect(try queue.list().count == 1)
    }

    @Test func aNulByteIsRefusedAndNothingIsStored() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: .postgres, configuration: .init(checkSourceExists: false))
        var r = request(dir)
        r.command = "echo hi\u{0}; rm -rf /"
        #expect(throws: PostgresError.self) { try queue.enqueue(r, now: t0) }
        #expect(try queue.list().isEmpty)
        #expect(queue.snapshot(now: t0).ready == 0)
    }

    @Test func malformedURLsAreRefusedAndPasswordsNeverShown() throws {
        for bad in [
            "", "postgres://", "postgres:///db", "postgres://host", "postgres://host/", "mysql://u@h/db",
            "postgres://u@h:99999/db", "postgres://u@h:0/db", "postgres://u@h/db\n", "postgres://u@h/a/b",
            "postgres://u@h/" + String(repeating: "x", count: 3000),
        ] {
            #expect(PostgresURL(bad) == nil, "\(bad) was accepted")
        }
        let url = try #require(PostgresURL("postgres://builder:s3cret-pw@127.0.0.1:5432/wharf?sslmode=disable"))
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 5432)
        #expect(url.database == "wharf")
        #expect(!url.redacted.contains("s3cret-pw"))
        #expect(!"\(url)".contains("s3cret-pw"))
        // Nothing listens on the port: a clear connection error, without the password.
        let closed = try #require(PostgresURL("postgres://builder:s3cret-pw@127.0.0.1:\(try PostgresServer.freePort())/wharf"))
        do {
            _ = try PostgresConnection(url: closed, connectTimeout: 2)
            Issue.record("connected to a closed port")
        } catch let error as PostgresError {
            #expect(error.kind == .connection)
            #expect(!error.description.contains("s3cret-pw"), "\(error)")
        }
        var settings = SchedulerConfiguration()
        settings.database = "postgres://builder:s3cret-pw@/nohost"
        let problems = settings.problems().filter { $0.key == "scheduler.database" }
        #expect(problems.count == 1)
        #expect(!problems.description.contains("s3cret-pw"))
    }

    @Test func anotherSchedulerLearnsOfNewAndRequeuedJobsByNotification() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try makeQueue(dir, backend: .postgres)
        let b = try makeQueue(dir, backend: .postgres)
        let bStorage = try #require(b.storage as? PostgresQueueStorage)
        _ = bStorage.takeChanges(time: t0.timeIntervalSince1970)  // the first call asks for a full resync
        let ids = try a.enqueue(batch: [request(dir), request(dir)], now: t0)
        let pending = Mutex(QueueChanges.none)
        #expect(
            eventually(10) {
                let changes = bStorage.takeChanges(time: t0.timeIntervalSince1970 + 1)
                pending.withLock { if let from = changes.newFrom { $0.newFrom = from } }
                return pending.withLock { $0.newFrom } != nil
            })
        #expect(pending.withLock { $0.newFrom } == ids.min())
        // B picks them up and claims one; A's failure puts the other back with a retry, which B hears.
        #expect(try b.syncNewJobs(now: t0) == 2)
        let first = try #require(try a.claim(owner: "a", now: t0))
        try a.finish(jobID: first.id, owner: "a", outcome: .failed(exitCode: 1, error: "flaky"), now: t0)
        #expect(eventually(10) { bStorage.takeChanges(time: t0.timeIntervalSince1970 + 2).fullResync })
    }

    @Test func aCommitOfALowerIdAfterAHigherOneIsStillFound() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try makeQueue(dir, backend: .postgres)
        let storage = try #require(server.storage as? PostgresQueueStorage)
        _ = storage.takeChanges(time: t0.timeIntervalSince1970)
        // A transaction takes id N and commits late; meanwhile another enqueue (N+1) commits and is indexed.
        let slow = try connect(dir)
        let late = try slow.transaction { c -> Int64 in
            let id = try #require(
                try c.query(
                    """
                    INSERT INTO job (app, build_type, kind, source, max_attempts, queued_at, available_at)
                    VALUES ('late', 'javascript_web', 'manual', $1, 4, $2, $2) RETURNING id
                    """, [dir.path, t0.timeIntervalSince1970]
                ).first?["id"].int64)
            let other = try makeQueue(dir, backend: .postgres)
            try other.enqueue(request(dir, app: "early"), now: t0)
            #expect(eventually(10) { (try? server.syncNewJobs(now: t0)) == 1 })
            try c.query("SELECT pg_notify('wharf_jobs', $1)", ["new \(id)"])
            return id
        }
        #expect(eventually(10) { (try? server.syncNewJobs(now: t0)) == 1 }, "the late job is indexed")
        var claimed: Set<Int64> = []
        while let job = try server.claim(owner: "s", now: t0) { claimed.insert(job.id) }
        #expect(claimed.contains(late))
        #expect(claimed.count == 2)
    }

    @Test func thePerformanceMonitorCountsTheSharedQueue() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: .postgres)
        let other = try makeQueue(dir, backend: .postgres)  // another scheduler's jobs count too
        try other.enqueue(batch: [request(dir, kind: .cache_warm), request(dir), request(dir)], now: t0)
        try queue.syncNewJobs(now: t0)
        _ = try #require(try queue.claim(owner: "w", now: t0, kinds: [.user_push]))
        let monitor = try PerformanceMonitor(queue: queue, alerts: AlertStore(database: queue.database))
        #expect(try monitor.queuedCounts()[.cache_warm] == 1)
        #expect(try monitor.queuedCounts()[.user_push] == 1)
        #expect(try monitor.runningCount() == 1)
    }

    @Test func aReplayedPushDeliveryQueuesNothingOnPostgres() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir, backend: .postgres)
        guard case .queued(let id) = try queue.enqueuePush(request(dir), forge: "github", delivery: "d1", now: t0) else {
            Issue.record("the first delivery queued nothing")
            return
        }
        #expect(try queue.enqueuePush(request(dir), forge: "github", delivery: "d1", now: t0) == .replay(jobID: id))
        #expect(try queue.list().map(\.id) == [id])
    }

    @Test func cronFiresOncePerTickAcrossThreeSchedulers() async throws {
        let dirs = try (0..<3).map { _ in try TemporaryDirectory() }
        defer { for dir in dirs { dir.remove() } }
        // Three machines: their own SQLite databases (and schedules), one shared PostgreSQL queue.
        let url = try QueueBackend.postgresURL(for: dirs[0])
        let fired = Mutex<[String]>([])
        let services = try dirs.enumerated().map { i, dir in
            let local = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
            let storage = try PostgresQueueStorage(url: url, local: local, listen: false)
            let store = CronStore(database: local, ledger: CronFireLedger(storage: storage, owner: "scheduler-\(i)"))
            try store.add(name: "every-minute", expression: "* * * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:30Z"))
            return CronService(
                store: store,
                actions: [
                    "warm": { context in
                        fired.withLock { $0.append("\(i)@\(Int(context.scheduledFor.timeIntervalSince1970))") }
                        return "ok"
                    }
                ])
        }
        // Five ticks, each seen by all three at once (from three tasks).
        for minute in 1...5 {
            let now = instant("2026-01-15T12:00:30Z").addingTimeInterval(Double(minute) * 60)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for service in services { group.addTask { _ = try await service.runOnce(now: now) } }
                try await group.waitForAll()
            }
        }
        let ticks = fired.withLock { $0 }.map { $0.split(separator: "@")[1] }
        #expect(ticks.count == 5, "\(fired.withLock { $0 })")
        #expect(Set(ticks).count == 5, "one firing per tick")
    }
}

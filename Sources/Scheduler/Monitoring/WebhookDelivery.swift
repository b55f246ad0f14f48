import Foundation
import GRDB
import Synchronization

/// Posts the alert outbox (`alert_delivery` rows) to the webhook on its own thread, oldest first. The
/// outbox in SQLite is the queue: `AlertStore` writes a row in the same transaction as the alert change
/// and calls `wake()`, which only sets a flag (the in-memory hand-off holds at most one pending wake,
/// so raising an alert never waits or grows memory, whatever the receiver does). A 2xx answer sets
/// `delivered_at`; anything else counts an attempt and backs off exponentially, and while a failed
/// delivery waits, newer ones wait behind it (order kept, receiver not hammered). Rows are never
/// dropped: what is undelivered at shutdown is sent by the next process. Receivers should dedupe on
/// the `X-Wharf-Delivery` header (also `deliveryId` in the body): a lost answer means a repeat.
public final class WebhookDelivery: Sendable {
    public let database: SchedulerDatabase
    public let configuration: WebhookConfiguration
    private let clock: any SchedulerClock
    private let log: @Sendable (String) -> Void
    private let signal = WakeSignal()
    private let thread = Mutex<Thread?>(nil)
    private let stopped = Mutex<Bool>(false)
    private let exited = WakeSignal()
    /// While set, nothing is sent before this time (the oldest undelivered row is backing off).
    private let holdUntil = Mutex<Date?>(nil)
    private let delivered = Atomic<Int>(0)
    private let failedAttempts = Atomic<Int>(0)

    public init(
        database: SchedulerDatabase, configuration: WebhookConfiguration, clock: any SchedulerClock = SystemClock(),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(SchedulerError) {
        try configuration.validate()
        self.database = database
        self.configuration = configuration
        self.clock = clock
        self.log = log
    }

    /// Starts the delivery thread (once).
    public func start() {
        thread.withLock { current in
            guard current == nil else { return }
            let worker = Thread { [self] in run() }
            worker.name = "wharf-webhook"
            current = worker
            worker.start()
        }
    }

    /// Tells the thread that new rows are due. Never blocks.
    public func wake() { signal.set() }

    /// Stops the thread after its current attempt; waits at most `timeout` + `grace` seconds for it.
    /// Undelivered rows stay in the outbox for the next start.
    public func stop(grace: Double = 1) {
        stopped.withLock { $0 = true }
        signal.set()
        guard thread.withLock({ $0 }) != nil else { return }
        _ = exited.wait(seconds: configuration.timeout + grace)
    }

    /// Deliveries answered 2xx since start.
    var deliveredCount: Int { delivered.load(ordering: .relaxed) }
    /// Attempts that failed since start.
    var failedAttemptCount: Int { failedAttempts.load(ordering: .relaxed) }

    /// Rows not yet delivered.
    func pendingCount() throws -> Int {
        try database.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM alert_delivery WHERE delivered_at IS NULL") ?? 0 }
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func run() {
        defer { exited.set() }
        while !isStopped {
            var wait = 60.0
            do {
                let round = try deliverDue()
                if round.more { continue }
                if let next = try nextAttemptTime() { wait = min(wait, next.timeIntervalSince(clock.now())) }
            } catch {
                log("webhook: outbox unreadable: \(error)")
                wait = configuration.initialBackoff
            }
            if wait > 0 { _ = signal.wait(seconds: wait) }
        }
    }

    /// What one round did.
    struct Round: Sendable, Equatable {
        var delivered = 0
        public var failed = 0
        /// True when the batch was full and more rows may be due.
        var more = false
    }

    /// Tries the due rows one by one (oldest first, at most one batch), stopping at the first failure.
    /// Called by the thread; callable directly when no thread runs.
    @discardableResult
    func deliverDue() throws -> Round {
        var round = Round()
        while round.delivered < configuration.batchSize, !isStopped {
            let now = clock.now()
            if let hold = holdUntil.withLock({ $0 }), hold > now { return round }
            guard let row = try claimOldestDue(now: now) else { return round }
            let body = Array("{\"deliveryId\":\(row.id),".utf8) + row.payload.utf8.dropFirst()
            let result = WebhookClient.post(
                configuration.url, body: body,
                headers: [("X-Wharf-Delivery", "\(row.id)"), ("X-Wharf-Event", row.event)],
                timeout: configuration.timeout)
            let finished = clock.now()
            if case .answered(let status) = result, (200...299).contains(status) {
                try database.writer.write { db in
                    try db.execute(
                        sql: "UPDATE alert_delivery SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                        arguments: [finished.timeIntervalSince1970, row.id])
                }
                delivered.add(1, ordering: .relaxed)
                round.delivered += 1
                continue
            }
            let reason: String =
                switch result {
                case .answered(let status): "HTTP \(status)"
                case .failed(let why): why
                }
            let next = finished.addingTimeInterval(configuration.backoff(afterFailures: row.attempts + 1))
            try database.writer.write { db in
                try db.execute(
                    sql: "UPDATE alert_delivery SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    arguments: [next.timeIntervalSince1970, String(reason.prefix(500)), row.id])
                // Newer rows wait behind it: the order is kept and a failing receiver is not hammered.
                try db.execute(
                    sql: """
                        UPDATE alert_delivery SET next_attempt_at = ? WHERE delivered_at IS NULL AND id > ? AND next_attempt_at < ?
                        """, arguments: [next.timeIntervalSince1970, row.id, next.timeIntervalSince1970])
            }
            holdUntil.withLock { $0 = next }
            failedAttempts.add(1, ordering: .relaxed)
            log(
                "webhook: delivery \(row.id) (\(row.event)) failed (attempt \(row.attempts + 1)): \(reason); next try in "
                    + "\(Int(next.timeIntervalSince(finished).rounded())) s")
            round.failed += 1
            return round
        }
        round.more = !isStopped
        return round
    }

    struct DueRow {
        var id: Int64
        var event: String
        var payload: String
        var attempts: Int
    }

    /// The oldest undelivered row if it is due, leased for one attempt (its next attempt moved past the attempt's deadline) so
    /// another process's delivery thread does not send it at the same time. A crash mid-attempt leaves it
    /// due again after `timeout` + 1 s.
    private func claimOldestDue(now: Date) throws -> DueRow? {
        let time = now.timeIntervalSince1970
        return try database.writer.write { db in
            // Strict order: only the oldest undelivered row may go, and only once it is due.
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, event, payload, attempts, next_attempt_at FROM alert_delivery
                        WHERE delivered_at IS NULL ORDER BY id LIMIT 1
                        """), (row["next_attempt_at"] as Double) <= time
            else { return nil }
            let due = DueRow(id: row["id"], event: row["event"], payload: row["payload"], attempts: row["attempts"])
            try db.execute(
                sql: "UPDATE alert_delivery SET next_attempt_at = ? WHERE id = ?",
                arguments: [time + configuration.timeout + 1, due.id])
            return due
        }
    }

    /// When the oldest undelivered row is due, but not before a hold after a failure.
    private func nextAttemptTime() throws -> Date? {
        let earliest = try database.writer.read { db in
            try Double.fetchOne(db, sql: "SELECT next_attempt_at FROM alert_delivery WHERE delivered_at IS NULL ORDER BY id LIMIT 1")
        }.map(Date.init(timeIntervalSince1970:))
        guard let earliest else { return nil }
        return max(earliest, holdUntil.withLock { $0 } ?? earliest)
    }
}

/// A one-slot wake-up flag with a timed wait (set many times, consumed by one wait).
final class WakeSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var isSet = false

    func set() {
        condition.lock()
        isSet = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until set or `seconds` pass; returns whether it was set (and clears it).
    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        while !isSet {
            if !condition.wait(until: deadline) { break }
        }
        let was = isSet
        isSet = false
        return was
    }
}

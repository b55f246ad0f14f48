import Foundation

/// One piece of recurring work: a name for logs, how often it runs, and the work for one round.
public struct PeriodicTask: Sendable {
    public let name: String
    /// Seconds between the starts of two rounds (a round that overruns delays the next, never doubles up).
    let interval: Double
    public let runOnce: @Sendable (Date) async throws -> Void

    public init(name: String, interval: Double, runOnce: @escaping @Sendable (Date) async throws -> Void) {
        self.name = name
        self.interval = max(0.001, interval)
        self.runOnce = runOnce
    }
}

/// Runs periodic tasks on an injected clock, the one shape for every background loop of a Wharf
/// process (the scheduler's tick, housekeeping, the orphan reaper, the popularity flush, cron, the
/// monitor). Each task runs at start and then every `interval`; a failing round is logged once per
/// distinct error (and once when it recovers) and the task simply runs again when next due.
/// `runDue(now:)` is the whole schedule, so tests drive it with a `VirtualClock`; `start()` drives it
/// in real time on a task of its own until `stop()`.
public actor PeriodicRunner {
    private struct Entry {
        var task: PeriodicTask
        var nextDue: Date?
        var lastError: String?
    }

    private var entries: [Entry]
    private let clock: any SchedulerClock
    private let log: @Sendable (String) -> Void
    private var loop: Task<Void, Never>?

    public init(tasks: [PeriodicTask], clock: any SchedulerClock = SystemClock(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        entries = tasks.map { Entry(task: $0) }
        self.clock = clock
        self.log = log
    }

    /// Runs, in order, every task due at `now` (all of them on the first call); returns their names.
    @discardableResult
    func runDue(now: Date) async -> [String] {
        var ran: [String] = []
        for i in entries.indices where entries[i].nextDue.map({ $0 <= now }) ?? true {
            let task = entries[i].task
            if let due = entries[i].nextDue, now.timeIntervalSince(due) > Self.lateness(task) {
                log("\(task.name) ran \(Self.seconds(now.timeIntervalSince(due))) s late (every \(task.interval) s)")
            }
            let started = clock.now()
            defer {
                let took = clock.now().timeIntervalSince(started)
                if took > Self.slowRound { log("\(task.name) took \(Self.seconds(took)) s (every \(task.interval) s)") }
            }
            do {
                try await task.runOnce(now)
                if entries[i].lastError != nil { log("\(task.name) works again") }
                entries[i].lastError = nil
            } catch {
                let text = "\(error)"
                if text != entries[i].lastError { log("\(task.name) failed (runs again in \(task.interval) s): \(text)") }
                entries[i].lastError = text
            }
            entries[i].nextDue = now.addingTimeInterval(task.interval)
            ran.append(task.name)
        }
        return ran
    }

    /// How late a round may start, and how long one may take, before it is logged: a loop stuck behind
    /// other work, or a round that blocks, must show in the log.
    static func lateness(_ task: PeriodicTask) -> Double { max(5, 10 * task.interval) }
    static let slowRound = 5.0

    private static func seconds(_ value: Double) -> String { String(format: "%.1f", value) }

    /// When the next task is due (nil before the first round).
    func nextDue() -> Date? { entries.compactMap(\.nextDue).min() }

    /// Runs the schedule in real time until `stop()`.
    public func start() {
        guard loop == nil else { return }
        loop = Task { [weak self] in
            while !Task.isCancelled, let self {
                let now = self.clock.now()
                await self.runDue(now: now)
                let wait = ((await self.nextDue()) ?? now).timeIntervalSince(self.clock.now())
                if wait > 0 { try? await Task.sleep(for: .milliseconds(Int((wait * 1000).rounded(.up)))) }
            }
        }
    }

    /// Ends the loop after the round in progress, if any.
    public func stop() async {
        let running = loop
        loop = nil
        running?.cancel()
        await running?.value
    }
}

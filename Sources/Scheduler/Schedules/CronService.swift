import Foundation

/// Fires due cron schedules. Call `runOnce(now:)` periodically (the server ticks it every few
/// seconds); the first call after a start-up also handles the runs missed while the process was
/// down: a schedule whose due time is at most `catchUpWindow` old runs once (however many firings
/// were missed); an older one is skipped and the skip recorded. Either way the next run is the
/// first firing after `now`. Claims are compare-and-set in SQLite, so two processes never fire the
/// same due run twice.
public final class CronService: Sendable {
    /// What a firing passes to its action.
    public struct Context: Sendable {
        public var name: String
        /// The schedule's command (`warm`, `build:APP`).
        public var command: String
        var scheduledFor: Date
        public var now: Date
    }

    /// Runs one command (registered by name, or by a prefix ending in `:` for commands with an
    /// argument, such as `build:` for `build:APP`); returns a one-line summary stored as the schedule's last result.
    public typealias Action = @Sendable (Context) async throws -> String

    /// What one firing did.
    public struct Firing: Sendable, Equatable {
        public var name: String
        var scheduledFor: Date
        public var outcome: CronSchedule.Outcome
        public var result: String
    }

    let store: CronStore
    let actions: [String: Action]
    /// Seconds a due run may be late and still run (default 1 h).
    let catchUpWindow: Double

    public init(store: CronStore, actions: [String: Action], catchUpWindow: Double = 3600) {
        self.store = store
        self.actions = actions
        self.catchUpWindow = max(0, catchUpWindow)
    }

    /// The command names schedules may use.
    var commands: [String] { actions.keys.sorted() }

    /// Fires every schedule due at `now` (one firing each) and returns what happened.
    @discardableResult
    public func runOnce(now: Date) async throws -> [Firing] {
        var firings: [Firing] = []
        for schedule in try store.due(now: now) {
            guard let scheduledFor = schedule.nextRunAt else { continue }
            let next: Date?
            do { next = try schedule.trigger().nextFire(after: now) } catch { next = nil }
            guard try store.claim(schedule.name, expected: scheduledFor, next: next, now: now) else { continue }
            let lateness = now.timeIntervalSince(scheduledFor)
            if lateness > catchUpWindow {
                let missed = missedCount(schedule, from: scheduledFor, until: now)
                let result =
                    "missed \(missed >= Self.missedCountLimit ? "\(missed)+" : "\(missed)") run\(missed == 1 ? "" : "s") while down (due \(Self.stamp(scheduledFor)), "
                    + "\(Int(lateness)) s late, catch-up window \(Int(catchUpWindow)) s)"
                try store.record(
                    CronRunRecord(
                        name: schedule.name, scheduledFor: scheduledFor, startedAt: now, finishedAt: now,
                        outcome: .skipped, result: result))
                firings.append(Firing(name: schedule.name, scheduledFor: scheduledFor, outcome: .skipped, result: result))
                continue
            }
            firings.append(try await fire(schedule, scheduledFor: scheduledFor, now: now))
        }
        return firings
    }

    /// Runs a schedule now, whatever its next run (`wharf cron run NAME`); its next run is unchanged.
    public func run(name: String, now: Date) async throws -> Firing {
        guard let schedule = try store.get(name) else { throw CronStoreError.unknownSchedule(name) }
        return try await fire(schedule, scheduledFor: now, now: now)
    }

    private func fire(_ schedule: CronSchedule, scheduledFor: Date, now: Date) async throws -> Firing {
        let outcome: CronSchedule.Outcome
        let result: String
        let prefixed = schedule.command.firstIndex(of: ":").flatMap { actions[String(schedule.command[...$0])] }
        if let action = actions[schedule.command] ?? prefixed {
            do {
                result = try await action(Context(name: schedule.name, command: schedule.command, scheduledFor: scheduledFor, now: now))
                outcome = .succeeded
            } catch {
                result = "\(error)"
                outcome = .failed
            }
        } else {
            result = CronStoreError.unknownCommand(schedule.command, known: commands).description
            outcome = .failed
        }
        try store.record(
            CronRunRecord(
                name: schedule.name, scheduledFor: scheduledFor, startedAt: now,
                finishedAt: max(now, Date()), outcome: outcome, result: result))
        return Firing(name: schedule.name, scheduledFor: scheduledFor, outcome: outcome, result: result)
    }

    static let missedCountLimit = 1000

    /// How many firings fell in [from, until], counted up to `missedCountLimit`.
    private func missedCount(_ schedule: CronSchedule, from: Date, until: Date) -> Int {
        guard let trigger = try? schedule.trigger() else { return 1 }
        var count = 1
        var cursor = from
        while count < Self.missedCountLimit, let next = trigger.nextFire(after: cursor), next <= until {
            count += 1
            cursor = next
        }
        return count
    }

    static func stamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

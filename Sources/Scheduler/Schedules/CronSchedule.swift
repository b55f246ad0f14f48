import Foundation
import GRDB

/// A stored cron schedule: what runs (`command`, a name from the service's action table), when
/// (`expression` in `zone`), and how its last firing went.
public struct CronSchedule: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        case succeeded, failed, skipped
    }

    public var name: String
    public var expression: String
    public var zone: String
    public var command: String
    /// Installed from configuration (the nightly warm batch); re-applied at every start.
    public var builtIn: Bool
    var createdAt: Date
    public var nextRunAt: Date?
    public var lastRunAt: Date?
    var lastScheduledFor: Date?
    public var lastOutcome: Outcome?
    public var lastResult: String?
    public var runCount: Int
    public var skipCount: Int

    /// The parsed trigger (validated when the schedule was added).
    func trigger() throws(CronError) -> CronTrigger { try CronTrigger(expression: expression, zone: zone) }

    init(row: Row) {
        name = row["name"]
        expression = row["expression"]
        zone = row["zone"]
        command = row["command"]
        builtIn = row["built_in"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        nextRunAt = (row["next_run_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        lastRunAt = (row["last_run_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        lastScheduledFor = (row["last_scheduled_for"] as Double?).map(Date.init(timeIntervalSince1970:))
        lastOutcome = (row["last_outcome"] as String?).flatMap(Outcome.init(rawValue:))
        lastResult = row["last_result"]
        runCount = row["run_count"]
        skipCount = row["skip_count"]
    }
}

/// One recorded firing of a schedule (ran, failed, or skipped because it was missed).
public struct CronRunRecord: Sendable, Equatable {
    public var name: String
    var scheduledFor: Date
    var startedAt: Date
    var finishedAt: Date
    public var outcome: CronSchedule.Outcome
    public var result: String
}

import ArgumentParser
import Foundation
import Scheduler

/// `wharf cron list|add|remove|run`: the schedules in the scheduler's database.
struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron", abstract: "Manage cron schedules (5-field expressions in an IANA time zone).",
        subcommands: [CronListCommand.self, CronAddCommand.self, CronRemoveCommand.self, CronRunCommand.self])
}

/// Flags every cron subcommand takes.
struct CronOptions: ParsableArguments {
    @OptionGroup var store: StoreLocation
    @Option(help: "Configuration file (YAML): cron.*, warm.*, popularity.*.") var config: String?

    func open() async throws -> SchedulerSide {
        try SchedulerSide(storePath: store.resolvedPath, settings: try await WarmSettings.load(configFile: config))
    }
}

/// The commands a schedule may run.
enum CronCommands {
    static let known = ["warm"]
}

struct CronListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List schedules with their last and next runs.")
    @OptionGroup var options: CronOptions

    func run() async throws {
        let side = try await options.open()
        let schedules = try CronStore(database: side.database).list()
        if schedules.isEmpty {
            print("no schedules")
            return
        }
        for s in schedules {
            let zone = TimeZone(identifier: s.zone) ?? .gmt
            let next = s.nextRunAt.map { Self.local($0, zone) } ?? "never"
            let last = s.lastRunAt.map { Self.local($0, zone) } ?? "never"
            print("\(s.name)\(s.builtIn ? " (built-in)" : "")  '\(s.expression)' \(s.zone)  command: \(s.command)")
            print("  next: \(next)   last: \(last) \(s.lastOutcome?.rawValue ?? "")  runs: \(s.runCount)  skipped: \(s.skipCount)")
            if let result = s.lastResult { print("  result: \(result)") }
        }
    }

    static func local(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm xxx"
        return formatter.string(from: date)
    }
}

struct CronAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a schedule.")
    @OptionGroup var options: CronOptions
    @Argument(help: "Schedule name: 1-64 of a-z 0-9 . _ -") var name: String
    @Argument(help: "Cron expression, quoted: 'MIN HOUR DOM MON DOW' (e.g. '30 2 * * MON-FRI').") var expression: String
    @Option(help: "IANA time zone (default: cron.zone, UTC).") var zone: String?
    @Option(help: "What to run: \(CronCommands.known.joined(separator: ", ")) (default warm).") var command: String = "warm"
    @Option(help: "Instead of --command: queue a build of this registered app's git branch head at each firing.") var build: String?

    func run() async throws {
        guard CronCommands.known.contains(command) else {
            throw ValidationError("unknown command '\(command)' (known: \(CronCommands.known.joined(separator: ", ")))")
        }
        let side = try await options.open()
        var command = self.command
        if let build {
            do { command = try ScheduledBuild.command(app: build, store: side.store) } catch let refusal as ScheduledBuild.Refusal {
                throw ValidationError(refusal.description)
            }
        }
        let store = CronStore(database: side.database)
        let schedule: CronSchedule
        do {
            schedule = try store.add(name: name, expression: expression, zone: zone ?? side.settings.cronZone, command: command, now: Date())
        } catch let error as CronError {
            throw ValidationError(error.description)
        } catch let error as CronStoreError {
            throw ValidationError(error.description)
        }
        let zone = TimeZone(identifier: schedule.zone) ?? .gmt
        print("added \(schedule.name); next run \(schedule.nextRunAt.map { CronListCommand.local($0, zone) } ?? "never")")
    }
}

struct CronRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a schedule and its history.")
    @OptionGroup var options: CronOptions
    @Argument(help: "Schedule name.") var name: String

    func run() async throws {
        guard try CronStore(database: try await options.open().database).remove(name) else {
            throw ValidationError("no schedule named '\(name)'")
        }
        print("removed \(name)")
    }
}

struct CronRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a schedule's command now in this process (its next run is unchanged).")
    @OptionGroup var options: CronOptions
    @Argument(help: "Schedule name.") var name: String

    func run() async throws {
        // The scheduler's command and output defaults, as the running server's schedules use them.
        var loader = try await ConfigurationLoader.load(configFile: options.config)
        let defaults = loader.settings().scheduler.submissionDefaults
        let service = try await options.open().cronService(preloader: nil, defaults: defaults)
        let firing: CronService.Firing
        do { firing = try await service.run(name: name, now: Date()) } catch let error as CronStoreError {
            throw ValidationError(error.description)
        }
        print("\(firing.name): \(firing.outcome.rawValue): \(firing.result)")
        if firing.outcome == .failed { throw ExitCode(1) }
    }
}

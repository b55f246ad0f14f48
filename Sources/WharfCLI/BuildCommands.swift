import ArgumentParser
import Foundation
import Glibc
import Scheduler

/// `--store` and `--config` for the job commands: the queue is `<store>/scheduler.sqlite`, and the
/// configuration supplies the weights (`jobs explain`), retry limit and defaults (`build submit`).
struct JobStoreOptions: ParsableArguments {
    @Option(help: "Store directory (default: store key, $WHARF_STORE, ./.wharf).") var store: String?
    @Option(help: "Configuration file (YAML); see edge-config/wharf.yaml.") var config: String?

    func resolve() async throws -> (store: String, scheduler: SchedulerConfiguration) {
        var loader = try await ConfigurationLoader.load(configFile: config)
        var settings = loader.settings()
        if let store { settings.store = store }
        loader.validate(settings)
        if !loader.problems.isEmpty { throw InvalidConfiguration(problems: loader.problems) }
        return (settings.store, settings.scheduler)
    }

    func openQueue() async throws -> (queue: JobQueue, store: String, scheduler: SchedulerConfiguration) {
        let (store, scheduler) = try await resolve()
        return (try SchedulerFiles.openQueue(store: store, settings: scheduler, listen: false), store, scheduler)
    }
}

/// `wharf build submit …`.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Queue builds for the scheduler.", subcommands: [BuildSubmitCommand.self])
}

/// `wharf build submit APP --type T --source DIR`: validates and queues one build, prints its id.
struct BuildSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Queue a build of APP; prints the job id. Bad input queues nothing.")
    @OptionGroup var options: JobStoreOptions
    @Argument(help: "App name (A-Z a-z 0-9 . _ -).") var app: String
    @Option(name: .customLong("type"), help: "Build type: javascript_web, flutter_web, flutter_android, flutter_ios.") var buildType: String
    @Option(help: "Source directory (copied to a fresh working directory for each attempt).") var source: String
    @Option(help: "Build command run by /bin/sh in the working directory (default: scheduler.default_cmd).") var cmd: String?
    @Option(help: "Output directory relative to the source, published on success (default: scheduler.output, dist).")
    var output: String?
    @Option(help: "release | normal | low, or 3 | 2 | 1 (default normal).") var priority: String?
    @Option(help: "user_push | manual | retry | cache_warm (default manual).") var kind: String?
    @Option(help: "Who asked (fair share counts per owner; default: per app).") var owner: String?
    @Flag(name: .customLong("no-activate"), help: "Publish without switching the app's alias.") var noActivate = false
    @Flag(help: "Build even when the build cache has this source (the result is still cached).") var force = false
    @Option(help: "Queue this many identical builds in one transaction (1...10000, default 1); prints each id.") var count = 1

    func run() async throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be 1...10000") }
        let (queue, _, scheduler) = try await options.openQueue()
        let submission = JobSubmission(
            app: app, buildType: buildType, source: source, command: cmd, output: output,
            priority: priority, kind: kind, activate: !noActivate, owner: owner ?? "",
            force: force)
        let request = try submission.request(
            defaults: scheduler.submissionDefaults, catalog: queue.configuration.catalog,
            relativeTo: FileManager.default.currentDirectoryPath)
        if count == 1 {
            print(try queue.enqueue(request, now: Date()).id)
            return
        }
        for id in try queue.enqueue(batch: Array(repeating: request, count: count), now: Date()) { print(id) }
    }
}

/// `wharf jobs [--status S] [--app A] [--json]` and `wharf jobs explain ID`.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List build jobs, or explain one's priority.",
        subcommands: [JobsListCommand.self, JobsExplainCommand.self], defaultSubcommand: JobsListCommand.self)
}

struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")
    @OptionGroup var options: JobStoreOptions
    @Option(help: "Only jobs in this state: queued, running, succeeded, failed, cancelled, timed_out.") var status: String?
    @Option(help: "Only jobs of this app.") var app: String?
    @Option(help: "At most this many (1...10000, default 100).") var limit = 100
    @Flag(help: "JSON array (the admin API's shape).") var json = false
    @Flag(help: "With --json: include each job's attempts (owner, start, end, outcome).") var attempts = false

    func run() async throws {
        let state: JobState? = try status.map { (text: String) throws -> JobState in
            guard let state = JobState(rawValue: text) else {
                throw ValidationError("unknown status '\(text)' (known: \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return state
        }
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1...10000") }
        let (queue, _, _) = try await options.openQueue()
        let jobs = try queue.list(state: state, app: app, limit: limit)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let rows = try jobs.map { attempts ? JobJSON($0, attempts: try queue.attempts(of: $0.id)) : JobJSON($0) }
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print(["ID", "STATE", "APP", "TYPE", "KIND", "PRIO", "TRY", "QUEUED", "RESULT"].joined(separator: "\t"))
        for job in jobs {
            let result = job.deploymentID.map { $0 + (job.cacheHit ? " (cache hit)" : "") } ?? job.error ?? ""
            print(
                [
                    "\(job.id)", job.state.rawValue, job.app, job.buildType, job.kind.rawValue, "\(job.priorityHint.rawValue)",
                    "\(job.attempt)/\(job.maxAttempts)", Self.time(job.queuedAt), result,
                ].joined(separator: "\t"))
        }
    }

    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}

/// `wharf jobs explain ID`: the job's priority score, factor by factor.
struct JobsExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Print each factor of a job's priority score.")
    @OptionGroup var options: JobStoreOptions
    @Argument(help: "Job id.") var id: Int64

    func run() async throws {
        let (queue, _, scheduler) = try await options.openQueue()
        let job = try queue.get(id)
        print("job \(job.id) \(job.app) \(job.buildType) \(job.kind.rawValue) priority \(job.priorityHint.rawValue): \(job.state.rawValue)")
        print(try queue.explain(jobID: id, now: Date()))
        if job.state != .queued { print("(not queued: age counts from when it was last available)") }
        print("limits: \(scheduler.sandbox.limits.limits(app: job.app, buildType: job.buildType).summary)")
        for attempt in try queue.attempts(of: id) {
            guard let sandbox = attempt.sandbox else { continue }
            var line = "attempt \(attempt.attempt): \(sandbox.isolation)\(sandbox.user.map { " as \($0)" } ?? ""), \(sandbox.limits)"
            if let deps = sandbox.dependencyCache { line += ", dependency cache \(deps)" }
            if let memory = attempt.peakMemoryBytes { line += ", peak memory \(memory) B" }
            if let disk = attempt.peakDiskBytes { line += ", peak workspace \(disk) B" }
            print(line)
        }
    }
}

/// `wharf logs ID [--follow]`: the build log of every attempt, oldest first.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a job's build log (every attempt).")
    @OptionGroup var options: JobStoreOptions
    @Argument(help: "Job id.") var id: Int64
    @Flag(help: "Keep printing until the job reaches a final state.") var follow = false
    @Option(help: "Stop following after this many seconds (default 3600).") var timeout: Double = 3600
    @Option(help: "Read the log from this Wharf's admin API (e.g. https://wharf.example.test:8081) instead of the local store.")
    var to: String?
    @Option(help: "With --to: a token of the job's app (read scope suffices) or the admin token (else $WHARF_DEPLOY_TOKEN).")
    var token: String?

    func run() async throws {
        if let to {
            guard let token = token ?? ProcessInfo.processInfo.environment["WHARF_DEPLOY_TOKEN"], !token.isEmpty else {
                throw ValidationError("--to needs --token (or $WHARF_DEPLOY_TOKEN)")
            }
            let follower = RemoteLogFollower(write: { Self.emit($0) })
            switch await follower.follow(base: to, id: id, token: token, follow: follow, timeout: timeout) {
            case .success(let state):
                if let state {
                    FileHandle.standardError.write(Data("job \(id) ended: \(state)\n".utf8))
                    if state != "succeeded" { throw ExitCode(1) }
                } else if follow {
                    FileHandle.standardError.write(Data("job \(id): the stream ended before the job did (timeout?)\n".utf8))
                    throw ExitCode(1)
                }
                return
            case .failure(let failure):
                FileHandle.standardError.write(Data("wharf logs: \(failure)\n".utf8))
                throw ExitCode(1)
            }
        }
        let (queue, store, _) = try await options.openQueue()
        _ = try queue.get(id)
        let directory = store + "/logs/\(id)"
        var printed: [Int: UInt64] = [:]
        var headed = Set<Int>()
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while true {
            // Read the state before the files: a final state seen here means the files are complete.
            let job = try queue.get(id)
            let attempts = Self.attempts(in: directory)
            for attempt in attempts {
                if !headed.contains(attempt), attempt > 1 || attempts.count > 1 {
                    headed.insert(attempt)
                    Self.emit("== attempt \(attempt) ==\n")
                }
                let offset = printed[attempt] ?? 0
                printed[attempt] = offset + Self.copy(directory + "/attempt-\(attempt).log", from: offset)
            }
            if !follow || job.state.isFinal || Date() > deadline {
                if !follow && printed.isEmpty { Self.emit("(no log yet: job \(id) is \(job.state.rawValue))\n") }
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func attempts(in directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("attempt-"), name.hasSuffix(".log") else { return nil }
            return Int(name.dropFirst("attempt-".count).dropLast(".log".count))
        }.sorted()
    }

    static func emit(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    /// Writes the file's bytes after `offset` to stdout; returns how many.
    static func copy(_ path: String, from offset: UInt64) -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = handle.readDataToEndOfFile()
        FileHandle.standardOutput.write(data)
        return UInt64(data.count)
    }
}

/// `wharf cancel ID`.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running job.")
    @OptionGroup var options: JobStoreOptions
    @Argument(help: "Job id.") var id: Int64

    func run() async throws {
        let (queue, _, _) = try await options.openQueue()
        let job = try queue.cancel(jobID: id, now: Date())
        print(job.state == .cancelled ? "job \(id) cancelled" : "job \(id) is running: cancel requested (its build stops at the next heartbeat)")
    }
}

/// `wharf slots [--history]`: the running scheduler's slots, from `<store>/scheduler-state.json`.
struct SlotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slots", abstract: "Show the running scheduler's build slots.")
    @OptionGroup var options: JobStoreOptions
    @Flag(help: "Also print recent scaling decisions.") var history = false
    @Flag(help: "The report as JSON (the admin API's shape).") var json = false

    func run() async throws {
        let (store, _) = try await options.resolve()
        let path = SchedulerFiles.state(store)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SchedulerNotRunning(description: "no scheduler is running on store \(store) (no \(path))")
        }
        let report = try JSONDecoder().decode(SlotsReport.self, from: data)
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let age = Date().timeIntervalSince1970 - report.updatedAt
        let alive = kill(report.pid, 0) == 0 || errno == EPERM
        print(
            "scheduler \(report.owner) (pid \(report.pid)\(alive ? "" : ", not running: stale report")), "
                + "updated \(String(format: "%.1f", age)) s ago, slots \(report.minSlots)...\(report.maxSlots), running \(report.runningJobs)")
        print(["SLOT", "PHASE", "JOB", "BUILDS", "SPEED"].joined(separator: "\t"))
        for slot in report.slots {
            print(
                [slot.id, slot.phase, slot.jobId.map(String.init) ?? "-", "\(slot.buildsRun)", String(format: "%.2f", slot.speed)]
                    .joined(separator: "\t"))
        }
        if history {
            print("recent scaling decisions (oldest first):")
            for event in report.history {
                let time = JobsListCommand.time(Date(timeIntervalSince1970: event.time))
                print("\(time)  \(event.policy) → \(event.desiredSlots) slots  +\(event.requested) -\(event.released)  \(event.reason)")
            }
        }
    }
}

/// `wharf slots` when no scheduler has published a report on the store.
struct SchedulerNotRunning: Error, CustomStringConvertible {
    var description: String
}

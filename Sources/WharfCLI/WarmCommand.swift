import ArgumentParser
import ArtifactStore
import Dispatch
import Foundation
import Glibc
import Scheduler

/// `wharf warm [--top N]`: runs the warm batch now. Builds are queued from this process; the response
/// cache lives in the serving process, so preloading happens there: `--request` asks a running
/// `wharf serve` to run its nightly batch at its next cron tick instead.
struct WarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warm", abstract: "Run the cache-warming batch now (queue builds for popular apps whose source is not in the build cache).")

    @OptionGroup var store: StoreLocation
    @Option(help: "Configuration file (YAML): warm.*, popularity.*, cron.*.") var config: String?
    @Option(help: "How many popular apps (default: warm.top_n, 10).") var top: Int?
    @Flag(help: "Ask the running server to run the full batch (builds and preloads) at its next tick.") var request = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        var settings = try await WarmSettings.load(configFile: config)
        if let top { settings.topN = top }
        do { try settings.warmOptions.validate() } catch { throw ValidationError("\(error)") }
        let side = try SchedulerSide(storePath: store.resolvedPath, settings: settings)
        if request {
            let cron = CronStore(database: side.database)
            guard try cron.requestRun(WarmSettings.nightlyName, now: Date()) else {
                throw ValidationError(
                    "no schedule '\(WarmSettings.nightlyName)': start `wharf serve` once (it installs it) or set cron.warm_schedule")
            }
            print("asked the server to run \(WarmSettings.nightlyName) at its next tick; see `wharf cron list`")
            return
        }
        let report = try await side.warmBatch(preloader: nil).run(now: Date())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        for app in report.apps {
            let job = app.jobID.map { " (job \($0))" } ?? ""
            print(
                "\(app.app)  score \(PopularCommand.number(app.score))  build: \(app.build)\(job)  hottest: \(app.paths.prefix(5).joined(separator: " "))"
            )
        }
        print(report.summary)
        print("preloading runs inside `wharf serve` (nightly, or `wharf warm --request`)")
    }
}

/// The scheduler-side objects a warm batch needs, opened from a store directory.
struct SchedulerSide {
    let store: Store
    let database: SchedulerDatabase
    let settings: WarmSettings
    /// The shared queue when `scheduler.database` is PostgreSQL (cron builds go there, and cron
    /// firings are claimed in its ledger); nil for the store's own SQLite queue.
    let shared: PostgresQueueStorage?

    init(storePath: String, settings: WarmSettings, scheduler: SchedulerConfiguration? = nil) throws {
        try self.init(store: try Store.open(at: storePath), settings: settings, scheduler: scheduler)
    }

    /// Over an open store (the server's own); the scheduler database is `<store>/scheduler.sqlite`.
    init(store: Store, settings: WarmSettings, scheduler: SchedulerConfiguration? = nil) throws {
        self.store = store
        let database = try SchedulerDatabase.open(path: store.path + "/scheduler.sqlite")
        self.database = database
        self.settings = settings
        shared = try scheduler?.postgresURL.map { try PostgresQueueStorage(url: $0, local: database, listen: false) }
    }

    /// The queue builds are queued on (the shared one when there is one).
    func queue() throws -> JobQueue {
        guard let shared else { return try JobQueue(database: database) }
        return try JobQueue(database: database, postgres: shared)
    }

    /// The cron schedules, with the shared firing ledger when the queue is shared.
    func cronStore() -> CronStore {
        CronStore(database: database, ledger: shared.map { CronFireLedger(storage: $0, owner: Self.owner) })
    }

    /// This process, as the cron ledger records who fired.
    static let owner: String = {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "-\(getpid())"
    }()

    /// A warm batch over this store. `build` must match the executor's settings for cache keys to agree.
    func warmBatch(preloader: (any Preloader)?, build: BuildSettings? = nil) throws -> WarmBatch {
        let build = build ?? BuildSettings(workRoot: store.path + "/work", logRoot: store.path + "/logs")
        return try WarmBatch(
            popularity: try Popularity(store: store, halfLifeHours: settings.halfLifeHours),
            queue: try queue(), cache: try BuildCache(database: database),
            settings: build, preloader: preloader, options: settings.warmOptions)
    }

    /// The cron service with the `warm` command (preloading through `preloader` when given).
    func cronService(
        preloader: (any Preloader)?, build: BuildSettings? = nil,
        defaults: JobSubmission.Defaults = .init()
    ) throws -> CronService {
        let batch = try warmBatch(preloader: preloader, build: build)
        let side = self
        let builds = ScheduledBuild(store: store, openQueue: { try side.queue() }, defaults: defaults)
        return CronService(
            store: cronStore(),
            actions: [
                ScheduledBuild.prefix: { context in
                    let app = String(context.command.dropFirst(ScheduledBuild.prefix.count))
                    return try await OffPool.run { try builds.queue(app: app, schedule: context.name, now: context.now) }
                },
                "warm": { context in
                    let started = ContinuousClock.now
                    var report = try await OffPool.run { try batch.planBuilds(now: context.now) }
                    await batch.preload(&report)
                    let elapsed = ContinuousClock.now - started
                    report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    return report.summary
                },
            ], catchUpWindow: Double(settings.catchUpWindowSeconds))
    }

    /// Installs (or updates) the nightly warm schedule from `cron.warm_schedule` and `cron.zone`;
    /// an empty `cron.warm_schedule` removes it.
    func installNightly(now: Date) throws {
        let cron = cronStore()
        if settings.warmSchedule.isEmpty {
            if let existing = try cron.get(WarmSettings.nightlyName), existing.builtIn { try cron.remove(existing.name) }
            return
        }
        try cron.installBuiltIn(
            name: WarmSettings.nightlyName, expression: settings.warmSchedule, zone: settings.cronZone,
            command: "warm", now: now)
    }
}

/// Runs blocking work (SQLite, disk) on a Dispatch worker so it never holds a cooperative-pool thread.
enum OffPool {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(with: Result { try body() }) }
        }
    }
}

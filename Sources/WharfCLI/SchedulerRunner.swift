import ArtifactStore
import Edge
import Foundation
import Glibc
import Scheduler
import Synchronization
import UVLoop

/// Where the scheduler keeps its files inside a store directory.
enum SchedulerFiles {
    static func database(_ store: String) -> String { store + "/scheduler.sqlite" }
    static func state(_ store: String) -> String { store + "/scheduler-state.json" }

    /// Opens (creating the store directory and database if needed) the queue of `store`: in the
    /// store's SQLite file, or in the shared PostgreSQL database `scheduler.database` names (then
    /// `listen` says whether to follow other schedulers' changes: a long-running process does, a
    /// one-shot command need not).
    static func openQueue(store: String, settings: SchedulerConfiguration, listen: Bool = true) throws -> JobQueue {
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let database = try SchedulerDatabase.open(path: database(store))
        guard let url = settings.postgresURL else {
            return try JobQueue(database: database, configuration: settings.queueConfiguration)
        }
        let shared = try PostgresQueueStorage(url: url, local: database, listen: listen)
        return try JobQueue(database: database, postgres: shared, configuration: settings.queueConfiguration)
    }

    /// Where the queue is, for logs (a PostgreSQL URL without its password).
    static func describeQueue(store: String, settings: SchedulerConfiguration) -> String {
        settings.redactedDatabase.map { "PostgreSQL " + $0 } ?? database(store)
    }
}

/// The scheduler running in this process, wired from its services: a loop thread for builds, and one
/// `PeriodicRunner` that runs housekeeping (hourly), the orphan reaper and `SchedulerService.tick`
/// (every `tick_ms`), publishing each tick's slot report for the API and for `wharf slots`
/// (`<store>/scheduler-state.json`). `stop()` ends dispatching and hands over to `BuildShutdown`.
final class SchedulerRunner: Sendable {
    let settings: SchedulerConfiguration
    let storePath: String
    let owner: String
    let queue: JobQueue
    let service: SchedulerService
    let api: SchedulerAPI
    private let thread: LoopThread
    private let housekeeping: BuildHousekeeping
    private let reaper: OrphanBuildReaper
    private let runner = Mutex<PeriodicRunner?>(nil)
    private let log: @Sendable (String) -> Void
    private let report = ReportBox()
    private let tickObservers = Mutex<[@Sendable (SchedulerService.TickReport) -> Void]>([])
    /// At most one "dispatch stalled" line per 30 s.
    private let stallLog = LogThrottle(interval: 30)

    init(settings: SchedulerConfiguration, storePath: String, store: Store, logger log: @escaping @Sendable (String) -> Void) throws {
        self.settings = settings
        // Absolute, so working copies and log paths recorded in jobs do not depend on the working directory.
        self.storePath = URL(fileURLWithPath: storePath).standardizedFileURL.path
        self.log = log
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        owner = "\(hostName)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        queue = try SchedulerFiles.openQueue(store: self.storePath, settings: settings)
        thread = try LoopThread(name: "wharf-builds")
        let sandbox = try SandboxPreflight.prepare(settings.sandbox, store: self.storePath)
        for note in sandbox.notes { log("build sandbox: " + note) }
        let build = settings.buildSettings(storePath: self.storePath, sandbox: sandbox)
        let cache = try BuildCache(database: queue.database)
        let executor = BuildJobExecutor(queue: queue, cache: cache, store: store, loop: thread.loop, owner: owner, settings: build)
        let limits = try SlotLimits(min: settings.minSlots, max: settings.maxSlots)
        let policy = settings.schedulingPolicy(utcOffset: Double(TimeZone.current.secondsFromGMT()))
        service = SchedulerService(
            queue: queue, executor: executor, provider: LocalProcessSlotProvider(cacheRoot: sandbox.slotCacheRoot),
            policy: policy,
            limits: limits, rescueInterval: settings.rescueIntervalSeconds)
        let report = self.report
        api = SchedulerAPI(
            queue: queue, defaults: settings.submissionDefaults, limitPolicy: settings.sandbox.limits,
            slotsReport: { report.value.withLock { $0 } })

        housekeeping = BuildHousekeeping(
            queue: queue, cache: cache,
            janitor: WorkspaceJanitor(workRoot: build.workRoot, logRoot: build.logRoot, queue: queue, keepFailed: build.keepFailedWorkspaces),
            retentionDays: settings.retentionDays)
        reaper = OrphanBuildReaper(workRoot: build.workRoot, queue: queue, owner: owner)
    }

    /// Housekeeping (hourly), the orphan reaper and the tick (every `tick_ms`), in that order.
    private func makeRunner() -> PeriodicRunner {
        let housekeeping = self.housekeeping
        let reaper = self.reaper
        let log = self.log
        let tick = Double(settings.tickMs) / 1000
        return PeriodicRunner(
            tasks: [
                PeriodicTask(name: "housekeeping", interval: 3600) { now in
                    let swept = try housekeeping.runOnce(now: now)
                    if !swept.isEmpty { log(swept.description) }
                },
                PeriodicTask(name: "orphan reaper", interval: tick) { now in
                    let orphans = reaper.runOnce(now: now)
                    if !orphans.isEmpty { log("killed orphaned build processes of jobs \(orphans) (their scheduler died)") }
                },
                PeriodicTask(name: "scheduler tick", interval: tick) { [self] now in try await self.tick(now: now) },
            ], log: log)
    }

    /// The scheduler's own tick (after the reaper): dispatch, observers, then the slot report, also
    /// when the tick failed.
    private func tick(now: Date) async throws {
        var failure: (any Error)?
        do {
            let tick = try await service.tick(now: now)
            if let rescued = tick.rescued, !(rescued.requeued.isEmpty && rescued.failed.isEmpty) {
                log("rescued expired leases: requeued \(rescued.requeued), ended \(rescued.failed)")
            }
            if !tick.started.isEmpty { log("started jobs \(tick.started)") }
            if let stall = tick.stall, stallLog.due(now: now) { log("dispatch stalled: " + stall) }
            for observer in tickObservers.withLock({ $0 }) { observer(tick) }
        } catch {
            failure = error
        }
        await publishReport()
        if let failure { throw failure }
    }

    /// Calls `observer` on the control loop after every successful tick; it must return at once.
    func observeTicks(_ observer: @escaping @Sendable (SchedulerService.TickReport) -> Void) {
        tickObservers.withLock { $0.append(observer) }
    }

    /// Starts the control loop.
    func start() async {
        let periodic = makeRunner()
        runner.withLock { $0 = periodic }
        await periodic.start()
        log(
            "scheduler running as \(owner): slots \(settings.minSlots)...\(settings.maxSlots), tick \(settings.tickMs) ms, "
                + "lease \(settings.leaseSeconds) s, queue \(SchedulerFiles.describeQueue(store: storePath, settings: settings))")
    }

    private func publishReport() async {
        let fresh = SlotsReport(
            now: Date(), pid: getpid(), owner: owner, limits: try! SlotLimits(min: settings.minSlots, max: settings.maxSlots),
            running: await service.runningJobs(), slots: await service.slots(),
            history: Array(await service.scalingHistory().suffix(100)))
        report.value.withLock { $0 = fresh }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(fresh) {
            try? data.write(to: URL(fileURLWithPath: SchedulerFiles.state(storePath)), options: .atomic)
        }
    }

    /// Stops dispatching, then lets `BuildShutdown` wait for running builds within the shutdown grace
    /// and abandon the rest to their leases.
    func stop() async {
        if let periodic = runner.withLock({ r in
            defer { r = nil }
            return r
        }) {
            await periodic.stop()
        }
        let running = await service.runningJobs()
        if !running.isEmpty {
            log("waiting up to \(settings.shutdownGraceSeconds) s for running builds \(running)")
        }
        let thread = self.thread
        // Closing the build loop before the kills means no build can finish (or publish) after that point.
        switch await BuildShutdown(service: service, grace: settings.shutdownGraceSeconds).run(abandon: { try? thread.stopAndJoin() }) {
        case .drained:
            try? thread.stopAndJoin()
            log("scheduler stopped (no build running)")
        case .abandoned(let jobs):
            log("scheduler stopped; abandoned builds \(jobs) to their leases (expire within \(settings.leaseSeconds) s)")
        }
        try? FileManager.default.removeItem(atPath: SchedulerFiles.state(storePath))
    }

    /// Registers the job routes on the admin API (the server checks the bearer token).
    func register(on routes: AdminRoutes) throws {
        let api = self.api
        let reply = Self.reply
        try routes.register("GET", "/_wharf/api/jobs") { reply(api.listJobs(query: $0.queryItems)) }
        try routes.register("POST", "/_wharf/api/jobs") { reply(api.submit(body: $0.body)) }
        try routes.register("GET", "/_wharf/api/jobs/{id}") { reply(api.job(id: $0.parameters["id"] ?? "")) }
        try routes.register("GET", "/_wharf/api/jobs/{id}/explain") { reply(api.explain(id: $0.parameters["id"] ?? "")) }
        try routes.register("POST", "/_wharf/api/jobs/{id}/cancel") { reply(api.cancel(id: $0.parameters["id"] ?? "")) }
        try routes.register("GET", "/_wharf/api/slots") { _ in reply(api.slots()) }
    }
}

extension SchedulerRunner {
    @Sendable static func reply(_ r: SchedulerAPI.Reply) -> AdminResponse { AdminResponse(status: r.status, body: r.body) }
}

/// The latest slot report, shared with the API handlers.
final class ReportBox: Sendable {
    let value = Mutex<SlotsReport?>(nil)
}

/// Waits for SIGINT/SIGTERM/SIGHUP on a thread of its own, so no concurrency-pool thread blocks.
enum SignalWait {
    static func next() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: ServerSignals.next()) }
        }
    }
}

import Foundation

/// A job as the admin API and `wharf jobs --json` show it (camelCase keys, times in seconds since 1970).
public struct JobJSON: Codable, Sendable, Equatable {
    public var id: Int64
    public var app: String
    public var owner: String
    var buildType: String
    public var kind: String
    var source: String
    public var command: String?
    var priority: Int
    var activate: Bool
    /// Asked to skip the build cache lookup.
    var force: Bool
    public var state: String
    public var attempt: Int
    var maxAttempts: Int
    var queuedAt: Double
    var availableAt: Double
    var startedAt: Double?
    var finishedAt: Double?
    var leaseOwner: String?
    var leaseExpiresAt: Double?
    var slotId: String?
    var cancelRequested: Bool
    var exitCode: Int?
    public var error: String?
    var logPath: String?
    var stageDurations: [String: Double]
    var deploymentId: String?
    var cacheHit: Bool
    /// Every claimed attempt, oldest first (only where asked for: one job, or `jobs --attempts`).
    public var attempts: [AttemptJSON]?

    /// One `job_attempt` row: who ran it, from when to when, and how it ended.
    public struct AttemptJSON: Codable, Sendable, Equatable {
        public var attempt: Int
        public var owner: String
        var slotId: String?
        var startedAt: Double
        var endedAt: Double?
        public var outcome: String?
        public var isolation: String?
        var buildUser: String?
        public var limits: String?
        /// `warm`, `cold`, or absent when the job has no dependency hash or no cache was used.
        var depsCache: String?
        var peakMemoryBytes: Int?
        var peakDiskBytes: Int?

        init(_ a: JobAttempt) {
            attempt = a.attempt
            owner = a.owner
            slotId = a.slotID
            startedAt = a.startedAt.timeIntervalSince1970
            endedAt = a.endedAt?.timeIntervalSince1970
            outcome = a.outcome
            isolation = a.sandbox?.isolation
            buildUser = a.sandbox?.user
            limits = a.sandbox?.limits
            depsCache = a.sandbox?.dependencyCache
            peakMemoryBytes = a.peakMemoryBytes
            peakDiskBytes = a.peakDiskBytes
        }
    }

    /// The job with its attempts.
    public init(_ job: Job, attempts: [JobAttempt]) {
        self.init(job)
        self.attempts = attempts.map(AttemptJSON.init)
    }

    public init(_ job: Job) {
        id = job.id
        app = job.app
        owner = job.owner
        buildType = job.buildType
        kind = job.kind.rawValue
        source = job.source
        command = job.command
        priority = job.priorityHint.rawValue
        activate = job.activate
        force = job.force
        state = job.state.rawValue
        attempt = job.attempt
        maxAttempts = job.maxAttempts
        queuedAt = job.queuedAt.timeIntervalSince1970
        availableAt = job.availableAt.timeIntervalSince1970
        startedAt = job.startedAt?.timeIntervalSince1970
        finishedAt = job.finishedAt?.timeIntervalSince1970
        leaseOwner = job.leaseOwner
        leaseExpiresAt = job.leaseExpiresAt?.timeIntervalSince1970
        slotId = job.slotID
        cancelRequested = job.cancelRequested
        exitCode = job.exitCode
        error = job.error
        logPath = job.logPath
        stageDurations = job.stageDurations
        deploymentId = job.deploymentID
        cacheHit = job.cacheHit
    }
}

/// A priority score taken apart, as JSON.
struct ExplanationJSON: Codable, Sendable, Equatable {
    struct Factor: Codable, Sendable, Equatable {
        public var name: String
        public var value: Double
        var weight: Double
        var contribution: Double
    }
    public var job: Int64
    public var state: String
    var factors: [Factor]
    var total: Double
    /// The limits the job's next attempt gets (when the scheduler's limit policy is known).
    public var limits: BuildLimits?

    init(job: Job, explanation: ScoreExplanation, limits: BuildLimits? = nil) {
        self.limits = limits
        self.job = job.id
        state = job.state.rawValue
        factors = explanation.factors.map { Factor(name: $0.name, value: $0.value, weight: $0.weight, contribution: $0.contribution) }
        total = explanation.total
    }
}

/// The running scheduler's slots and recent scaling decisions: kept in memory for the API and written
/// to `<store>/scheduler-state.json` each tick for `wharf slots` in another process.
public struct SlotsReport: Codable, Sendable, Equatable {
    public struct SlotJSON: Codable, Sendable, Equatable {
        public var id: String
        public var phase: String
        public var jobId: Int64?
        var busySince: Double?
        public var buildsRun: Int
        public var speed: Double
        var tools: [String]
    }
    public struct EventJSON: Codable, Sendable, Equatable {
        public var time: Double
        public var policy: String
        public var desiredSlots: Int
        public var reason: String
        public var requested: [String]
        public var released: [String]
    }
    public var updatedAt: Double
    public var pid: Int32
    public var owner: String
    public var minSlots: Int
    public var maxSlots: Int
    public var runningJobs: [Int64]
    public var slots: [SlotJSON]
    public var history: [EventJSON]

    public init(now: Date, pid: Int32, owner: String, limits: SlotLimits, running: [Int64], slots: [Slot], history: [ScalingEvent]) {
        updatedAt = now.timeIntervalSince1970
        self.pid = pid
        self.owner = owner
        minSlots = limits.min
        maxSlots = limits.max
        runningJobs = running
        self.slots = slots.map {
            SlotJSON(
                id: $0.id, phase: $0.phase.rawValue, jobId: $0.jobID, busySince: $0.busySince?.timeIntervalSince1970,
                buildsRun: $0.buildsRun, speed: $0.speed, tools: $0.tools.sorted())
        }
        self.history = history.map {
            EventJSON(
                time: $0.time.timeIntervalSince1970, policy: $0.policy, desiredSlots: $0.decision.desiredSlots,
                reason: $0.decision.reason, requested: $0.requested, released: $0.released)
        }
    }
}

/// The admin API's job routes as plain functions (the Scheduler does not depend on the edge): each
/// returns a status and a JSON body; the CLI registers them on the admin server, which checks the token.
///
/// | route | function |
/// |---|---|
/// | GET /_wharf/api/jobs?status=&app=&limit= | `listJobs(query:)` |
/// | POST /_wharf/api/jobs | `submit(body:)` |
/// | GET /_wharf/api/jobs/{id} | `job(id:)` |
/// | GET /_wharf/api/jobs/{id}/explain | `explain(id:)` |
/// | POST /_wharf/api/jobs/{id}/cancel | `cancel(id:)` |
/// | GET /_wharf/api/slots | `slots()` |
public struct SchedulerAPI: Sendable {
    public typealias Reply = (status: Int, body: [UInt8])
    let queue: JobQueue
    public let defaults: JobSubmission.Defaults
    /// The live slot report (nil when no scheduler runs in this process).
    public let slotsReport: @Sendable () -> SlotsReport?
    /// Which limits a job gets (shown by `explain`).
    let limitPolicy: BuildLimitPolicy?

    public init(
        queue: JobQueue, defaults: JobSubmission.Defaults, limitPolicy: BuildLimitPolicy? = nil,
        slotsReport: @escaping @Sendable () -> SlotsReport?
    ) {
        self.limitPolicy = limitPolicy
        self.queue = queue
        self.defaults = defaults
        self.slotsReport = slotsReport
    }

    public func listJobs(query: [String: String]) -> Reply {
        var state: JobState?
        if let text = query["status"], !text.isEmpty {
            guard let parsed = JobState(rawValue: text) else {
                return Self.error(400, "unknown status '\(text)' (known: \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            state = parsed
        }
        var limit = 100
        if let text = query["limit"] {
            guard let n = Int(text), (1...10_000).contains(n) else { return Self.error(400, "limit must be 1...10000") }
            limit = n
        }
        let app = query["app"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            return (200, Self.encode(try queue.list(state: state, app: app, limit: limit).map(JobJSON.init)))
        } catch {
            return Self.error(500, "\(error)")
        }
    }

    /// Body: `{"app", "type", "source", "cmd"?, "output"?, "priority"? (string or 1...3), "kind"?, "activate"?, "owner"?}`.
    /// The source must be an absolute directory path on the scheduler's machine.
    public func submit(body: [UInt8]) -> Reply {
        let submission: JobSubmission
        do {
            submission = try Self.parseSubmission(body)
        } catch let problem as JobSubmissionBody.Problem {
            return Self.error(400, problem.message)
        } catch {
            return Self.error(400, "\(error)")
        }
        guard submission.source.hasPrefix("/") else { return Self.error(400, "source must be an absolute path") }
        do {
            let request = try submission.request(defaults: defaults, catalog: queue.configuration.catalog, relativeTo: "/")
            let job = try queue.enqueue(request, now: Date())
            return (201, Self.encode(JobJSON(job)))
        } catch let error as SchedulerError {
            return Self.error(400, error.description)
        } catch let problem as JobSubmission.Problem {
            return Self.error(400, problem.description)
        } catch {
            return Self.error(500, "\(error)")
        }
    }

    public func job(id: String) -> Reply {
        withJob(id) { (200, Self.encode(JobJSON(try queue.get($0), attempts: try queue.attempts(of: $0)))) }
    }

    public func explain(id: String) -> Reply {
        withJob(id) { id in
            let job = try queue.get(id)
            return (
                200,
                Self.encode(
                    ExplanationJSON(
                        job: job, explanation: try queue.explain(jobID: id, now: Date()),
                        limits: limitPolicy?.limits(app: job.app, buildType: job.buildType)))
            )
        }
    }

    public func cancel(id: String) -> Reply {
        withJob(id) { (200, Self.encode(JobJSON(try queue.cancel(jobID: $0, now: Date())))) }
    }

    public func slots() -> Reply {
        guard let report = slotsReport() else { return Self.error(503, "no scheduler runs in this process") }
        return (200, Self.encode(report))
    }

    private func withJob(_ text: String, _ body: (Int64) throws -> Reply) -> Reply {
        guard let id = Int64(text), id > 0 else { return Self.error(400, "job id must be a positive integer, got '\(text)'") }
        do {
            return try body(id)
        } catch let error as SchedulerError {
            switch error {
            case .unknownJob: return Self.error(404, error.description)
            case .invalidTransition: return Self.error(409, error.description)
            default: return Self.error(400, error.description)
            }
        } catch {
            return Self.error(500, "\(error)")
        }
    }

    /// The body as a submission; the shape checks are `JobSubmissionBody`'s (pure, fuzzed alone).
    static func parseSubmission(_ body: [UInt8]) throws -> JobSubmission {
        let f = try JobSubmissionBody.parse(body)
        return JobSubmission(
            app: f.app, buildType: f.type, source: f.source, command: f.cmd, output: f.output,
            priority: f.priority, kind: f.kind, activate: f.activate, owner: f.owner, force: f.force)
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(value))) ?? Array(#"{"error":"response could not be encoded"}"#.utf8)
    }

    static func error(_ status: Int, _ message: String) -> Reply {
        (status, encode(["error": message]))
    }
}

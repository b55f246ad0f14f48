import Foundation

/// Replays a trace through the real scheduler parts under a virtual clock: a `JobQueue` on an in-memory
/// SQLite database (enqueue, claim, finish with retries and backoff, priority scoring), a `SlotPool`
/// scaled by the policy's `Autoscaler` every `tick` seconds, the `Dispatcher` with `SlotPlacement`, and
/// a `SimulatedSlotProvider` that follows the trace's slot model. Only the clock and the provider differ
/// from production; nothing sleeps. Events at one instant run in the order job ends, slots ready, retries
/// due, arrivals, autoscaler tick, and idle slots are filled after each event (as `sim.py` does).
public final class TraceSimulator {
    public struct Options: Sendable {
        public var limits: SlotLimits
        var provisioningDelay: Double
        var cacheCapacity: Int
        /// Seconds between autoscaler decisions.
        public var tick: Double

        public init(limits: SlotLimits = .default, provisioningDelay: Double = 45, cacheCapacity: Int = 20, tick: Double = 10) {
            self.limits = limits
            self.provisioningDelay = provisioningDelay
            self.cacheCapacity = cacheCapacity
            self.tick = max(0.1, tick)
        }
    }

    /// A replay's figures and the scaling decisions it applied, each with its reason.
    public struct Result: Sendable {
        public var metrics: SimulationMetrics
        public var history: [ScalingEvent]
    }

    private enum EventKind: Int {
        case end = 0
        case ready = 1
        case due = 2
        case arrival = 3
        case tick = 4
    }

    private struct Event: Comparable {
        var time: Double
        var kind: EventKind
        var sequence: Int
        var jobID: Int64 = 0
        var slotID: String = ""
        var record: Int = 0
        var result: AttemptResult?

        static func < (a: Event, b: Event) -> Bool {
            if a.time != b.time { return a.time < b.time }
            if a.kind != b.kind { return a.kind.rawValue < b.kind.rawValue }
            return a.sequence < b.sequence
        }
        static func == (a: Event, b: Event) -> Bool { a.sequence == b.sequence }
    }

    /// Per-request bookkeeping.
    private struct Progress {
        var jobID: Int64 = 0
        var firstStart: Double?
        var done: Double?
    }

    private struct Running {
        var record: Int
        var slotID: String
        var startedAt: Double
        var kind: JobKind
        var cold: Bool
    }

    let trace: Trace
    let options: Options
    private var policy: SchedulingPolicy
    private let owner = "simulator"

    public init(trace: Trace, policy: SchedulingPolicy, options: Options = .init()) {
        self.trace = trace
        self.policy = policy
        self.options = options
    }

    /// Runs the whole trace; deterministic for a given trace, policy and options.
    public func run() throws -> Result {
        let records = trace.records
        let catalog = try Self.catalog(for: records)
        let popularity = Dictionary(records.map { ($0.app, $0.popularity) }, uniquingKeysWith: { max($0, $1) })
        let database = try SchedulerDatabase.inMemory()
        let epoch = Date(timeIntervalSince1970: 0)
        let queue = try JobQueue(
            database: database,
            configuration: .init(
                catalog: catalog, weights: policy.weights, retry: policy.retry, leaseDuration: 1e12,
                checkSourceExists: false),
            popularity: { popularity[$0] ?? 0 }, now: epoch)
        let provider = SimulatedSlotProvider(provisioningDelay: options.provisioningDelay, cacheCapacity: options.cacheCapacity)
        let dispatcher = Dispatcher(queue: queue, owner: owner, tieBreak: policy.placement, warmWindow: policy.warmWindow)
        var pool = SlotPool(limits: options.limits)
        provider.setInstant(true)
        try pool.scale(to: options.limits.min, now: epoch, provider: provider)
        provider.setInstant(false)

        var events = PriorityHeap<Event>()
        var sequence = 0
        func push(_ event: Event) {
            var event = event
            sequence += 1
            event.sequence = sequence
            events.push(event)
        }
        for (i, record) in records.enumerated() { push(Event(time: record.arrival, kind: .arrival, sequence: 0, record: i)) }
        push(Event(time: 0, kind: .tick, sequence: 0))

        var progress = [Progress](repeating: Progress(), count: records.count)
        var recordOf: [Int64: Int] = [:]
        var running: [Int64: Running] = [:]
        var arrivalsLeft = records.count
        var history: [ScalingEvent] = []
        var m = Counters()
        var now = 0.0

        let warmCap = policy.warmCap
        let maxSlots = options.limits.max
        // Warm builds running now, counted from the pool so claims earlier in the same round count too.
        func warmRunning(_ p: SlotPool) -> Int {
            p.slots.count { slot in
                guard slot.phase == .busy, let id = slot.jobID, let index = recordOf[id] else { return false }
                return records[index].kind == .cache_warm
            }
        }

        func dispatch() throws {
            let date = Date(timeIntervalSince1970: now)
            pool.advance(now: date)
            guard pool.idleCount > 0 else { return }
            let before = pool.slots
            let assignments: [Assignment]
            if let warmCap {
                assignments = try dispatcher.dispatch(
                    pool: &pool, now: date,
                    kinds: { p in
                        warmCap.allowedKinds(runningWarm: warmRunning(p), maxSlots: maxSlots)
                    })
            } else {
                assignments = try dispatcher.dispatch(pool: &pool, now: date)
            }
            for a in assignments {
                guard let index = recordOf[a.job.id] else { continue }
                let record = records[index]
                let slotBefore = before.first { $0.id == a.slotID }
                let cold = !(slotBefore?.dependencyCache.contains(record.dependencyHash) ?? false)
                let result = record.attemptResult(attempt: a.job.attempt, cold: cold)
                m.attempts += 1
                if cold { m.coldAttempts += 1 }
                if result.duration > (catalog.types[record.buildType]?.slowThresholdSeconds ?? 300) { m.slowAlerts += 1 }
                if result.outcome != .succeeded { m.failedSeconds += result.duration }
                m.busySeconds += result.duration
                if progress[index].firstStart == nil { progress[index].firstStart = now }
                running[a.job.id] = Running(record: index, slotID: a.slotID, startedAt: now, kind: a.job.kind, cold: cold)
                push(
                    Event(
                        time: now + result.duration, kind: .end, sequence: 0, jobID: a.job.id, slotID: a.slotID,
                        record: index, result: result))
            }
        }

        func finish(_ event: Event) throws {
            guard let result = event.result, running.removeValue(forKey: event.jobID) != nil else { return }
            let record = records[event.record]
            let date = Date(timeIntervalSince1970: now)
            let outcome: JobOutcome
            switch result.outcome {
            case .succeeded:
                outcome = .succeeded(deploymentID: nil)
            case .failed:
                let signature = "exit 1 after \(record.failAfter ?? 0) s of build"
                let retry = policy.failures?.shouldRetry(source: record.sourceHash, signature: signature) ?? true
                outcome = .failed(exitCode: 1, error: signature, retryable: retry)
            case .timedOut:
                m.timeouts += 1
                let retry = policy.failures?.shouldRetry(source: record.sourceHash, signature: "timed out") ?? true
                // A timeout the detector calls deterministic ends as a non-retryable failure.
                outcome = retry ? .timedOut() : .failed(exitCode: nil, error: "timed out (deterministic)", retryable: false)
            }
            let job = try queue.finish(jobID: event.jobID, owner: owner, outcome: outcome, now: date)
            pool.jobEnded(slotID: event.slotID, now: date)
            if job.state == .queued {
                m.retries += 1
                if job.availableAt.timeIntervalSince1970 > now {
                    push(Event(time: job.availableAt.timeIntervalSince1970, kind: .due, sequence: 0))
                }
            } else {
                progress[event.record].done = now
                if case .failed(_, _, false) = outcome, job.attempt < job.maxAttempts { m.retriesSkipped += 1 }
            }
        }

        func autoscale() throws {
            let date = Date(timeIntervalSince1970: now)
            pool.advance(now: date)
            let input = AutoscalerInput(
                now: date, queue: queue.snapshot(now: date),
                running: running.map { id, run in
                    let record = records[run.record]
                    return RunningBuild(
                        jobID: id, app: record.app, buildType: record.buildType, kind: run.kind,
                        startedAt: Date(timeIntervalSince1970: run.startedAt),
                        expectedSeconds: catalog.types[record.buildType]?.expectedSeconds ?? 0,
                        cold: run.cold)
                }.sorted { $0.jobID < $1.jobID },
                slots: pool.slots, limits: pool.limits, provisioningDelay: provider.provisioningDelay)
            let decision = policy.autoscaler.decide(input)
            let applied = try pool.scale(to: decision.desiredSlots, now: date, provider: provider, prefer: decision.release)
            if !applied.requested.isEmpty || !applied.released.isEmpty {
                m.scaleEvents += 1
                if !applied.requested.isEmpty { m.scaleUps += 1 }
                if !applied.released.isEmpty { m.scaleDowns += 1 }
                for id in applied.requested {
                    if let slot = pool.slot(id), slot.readyAt > date {
                        push(Event(time: slot.readyAt.timeIntervalSince1970, kind: .ready, sequence: 0))
                    }
                }
                history.append(
                    ScalingEvent(
                        time: date, policy: policy.autoscaler.name, decision: decision,
                        requested: applied.requested, released: applied.released))
            }
        }

        while let event = events.popFirst() {
            now = event.time
            switch event.kind {
            case .end:
                try finish(event)
            case .ready, .due:
                break
            case .arrival:
                arrivalsLeft -= 1
                let record = records[event.record]
                let job = try queue.enqueue(
                    Self.request(for: record, rebuildsArePushes: policy.rebuildsArePushes), now: Date(timeIntervalSince1970: now))
                progress[event.record].jobID = job.id
                recordOf[job.id] = event.record
            case .tick:
                try autoscale()
                let snapshot = queue.snapshot(now: Date(timeIntervalSince1970: now))
                let busy = snapshot.ready + snapshot.delayed > 0 || !running.isEmpty || arrivalsLeft > 0
                if now < trace.horizon || busy || pool.active > options.limits.min {
                    push(Event(time: now + options.tick, kind: .tick, sequence: 0))
                }
            }
            try dispatch()
        }

        let end = max(trace.horizon, now)
        let endDate = Date(timeIntervalSince1970: end)
        for slot in pool.slots { provider.releaseSlot(id: slot.id, now: endDate) }
        let metrics = Self.metrics(
            records: records, progress: progress.map { ($0.firstStart, $0.done) }, counters: m,
            policy: policy.name, cost: provider.slotSeconds(upTo: endDate),
            peak: provider.peakSlots, started: provider.slotsStarted, end: end)
        return Result(metrics: metrics, history: history)
    }

    struct Counters {
        var attempts = 0
        var coldAttempts = 0
        var slowAlerts = 0
        var timeouts = 0
        var retries = 0
        var retriesSkipped = 0
        var failedSeconds = 0.0
        var busySeconds = 0.0
        var scaleEvents = 0
        var scaleUps = 0
        var scaleDowns = 0
    }

    static func metrics(
        records: [TraceRecord], progress: [(start: Double?, done: Double?)], counters m: Counters,
        policy: String, cost: Double, peak: Int, started: Int, end: Double
    ) -> SimulationMetrics {
        var userWaits: [Double] = []
        var humanWaits: [Double] = []
        var botWaits: [Double] = []
        var turnarounds: [Double] = []
        var warmWaits: [Double] = []
        var warmCount = 0
        var warmOnTime = 0
        var unfinished = 0
        var lastWarmByNight: [Int: Double] = [:]
        for (record, p) in zip(records, progress) {
            if p.done == nil { unfinished += 1 }
            switch record.kind {
            case .user_push:
                guard let start = p.start else { continue }
                let wait = start - record.arrival
                userWaits.append(wait)
                if record.actor == .human { humanWaits.append(wait) }
                if record.actor == .bot { botWaits.append(wait) }
                if let done = p.done { turnarounds.append(done - record.arrival) }
            case .cache_warm:
                warmCount += 1
                if let start = p.start { warmWaits.append(start - record.arrival) }
                if let done = p.done {
                    if done <= SimulationMetrics.warmDeadline(after: record.arrival) { warmOnTime += 1 }
                    let night = Int((record.arrival / 86_400).rounded(.down))
                    lastWarmByNight[night] = max(lastWarmByNight[night] ?? 0, done - Double(night) * 86_400)
                }
            default:
                break
            }
        }
        // Rounded like sim.py's report: waits to 0.1 s, cost to whole slot-seconds.
        let p = { (values: [Double], q: Double) in SimulationMetrics.percentile(values, q).map { ($0 * 10).rounded() / 10 } }
        return SimulationMetrics(
            policy: policy, userPushes: records.count { $0.kind == .user_push },
            userWaitP50: p(userWaits, 50), userWaitP95: p(userWaits, 95), userWaitP99: p(userWaits, 99),
            userWaitMean: userWaits.isEmpty ? nil : userWaits.reduce(0, +) / Double(userWaits.count),
            userTurnaroundP95: p(turnarounds, 95), humanWaitP95: p(humanWaits, 95), botWaitP95: p(botWaits, 95),
            warmBuilds: warmCount, warmWaitP95: p(warmWaits, 95),
            warmDoneBy0700: warmCount == 0 ? nil : Double(warmOnTime) / Double(warmCount),
            warmLastDoneByNight: lastWarmByNight.keys.sorted().map { lastWarmByNight[$0]! },
            slotSeconds: cost.rounded(), busySeconds: m.busySeconds.rounded(), peakSlots: peak, scaleEvents: m.scaleEvents,
            scaleUps: m.scaleUps, scaleDowns: m.scaleDowns, slotsStarted: started, attempts: m.attempts,
            coldAttemptShare: m.attempts == 0 ? nil : Double(m.coldAttempts) / Double(m.attempts),
            slowBuildAlerts: m.slowAlerts, timeouts: m.timeouts, automaticRetries: m.retries,
            retriesSkipped: m.retriesSkipped, failedAttemptSeconds: m.failedSeconds, unfinished: unfinished, endTime: end)
    }

    /// The default catalog, plus any build type the trace uses that it lacks (threshold 300 s, as the seeds').
    static func catalog(for records: [TraceRecord]) throws -> BuildTypeCatalog {
        var types = BuildTypeCatalog.default.types
        for name in Set(records.map(\.buildType)) where types[name] == nil {
            types[name] = BuildType(name: name, expectedSeconds: 300, slowThresholdSeconds: 300)
        }
        return try BuildTypeCatalog(types.values.sorted { $0.name < $1.name })
    }

    /// The job a trace row becomes: the owner is the fair-share group (a bot's pushes share one).
    static func request(for record: TraceRecord, rebuildsArePushes: Bool = false) -> JobRequest {
        let owner: String
        switch record.actor {
        case .human: owner = ""
        case .bot: owner = "dependency-bot"
        case .system: owner = "cache-warmer"
        }
        let kind = rebuildsArePushes && record.kind == .retry ? JobKind.user_push : record.kind
        return JobRequest(
            app: record.app, owner: owner, buildType: record.buildType, kind: kind,
            source: record.sourceHash, command: "simulated", priorityHint: record.hint,
            dependencyHash: record.dependencyHash)
    }
}

import Foundation
import Scheduler
import Synchronization
import WharfTestSupport

/// Measures the queue: durable enqueue throughput, the time of one scheduling decision with many jobs
/// queued, the claim latency, and the SQLite file size; on SQLite or on PostgreSQL. Called by
/// `wharf-bench scheduler`; not a test.
public enum SchedulerBenchmark {
    /// Where the measured queues keep their jobs.
    public enum Backend: Sendable {
        case sqlite
        /// A fresh PostgreSQL database per measurement: `newDatabase` returns its URL.
        case postgres(newDatabase: @Sendable () throws -> String)

        var name: String {
            switch self {
            case .sqlite: "SQLite"
            case .postgres: "PostgreSQL"
            }
        }
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var backend = "SQLite"
        public var jobs: Int
        public var batchSize: Int
        public var enqueueSeconds: Double
        public var enqueuesPerSecond: Double
        /// Database + WAL after a checkpoint, with `jobs` rows (0 on PostgreSQL: not measured).
        public var fileSizeBytes: Int64
        public var queuedForDecision: Int
        public var apps: Int
        /// Fair-share groups (owners, or apps for jobs without an owner) among the queued jobs.
        public var groups: Int
        public var decisionP50Microseconds: Double
        public var decisionP99Microseconds: Double
        /// Decision plus the durable claim (conditional UPDATE + attempt row, one transaction).
        public var claimP50Microseconds: Double
        public var claimP99Microseconds: Double
        /// Worst case: every queued job from a different app.
        public var distinctAppsDecisionP99Microseconds: Double

        public var description: String {
            func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
            let size =
                fileSizeBytes == 0
                ? ""
                : """

                  sqlite file size: \(fileSizeBytes) bytes (\(f(Double(fileSizeBytes) / Double(max(1, jobs)), 0)) bytes/job)
                """
            return """
                scheduler benchmark (\(backend))
                  durable enqueue: \(jobs) jobs in batches of \(batchSize): \(f(enqueueSeconds, 2)) s, \(f(enqueuesPerSecond, 0)) jobs/s\(size)
                  decision with \(queuedForDecision) queued (\(apps) apps, \(groups) fair-share groups), each after a claim, a finish and an enqueue: p50 \(f(decisionP50Microseconds)) µs, p99 \(f(decisionP99Microseconds)) µs
                  decision + durable claim: p50 \(f(claimP50Microseconds)) µs, p99 \(f(claimP99Microseconds)) µs
                  same with every job a different app and no owner (\(queuedForDecision) groups): p99 \(f(distinctAppsDecisionP99Microseconds)) µs
                """
        }
    }

    /// The SQLite and PostgreSQL reports side by side: durable enqueues/s and claim latency.
    public static func comparison(_ sqlite: Report, _ postgres: Report) -> String {
        func f(_ x: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", x) }
        func row(_ label: String, _ a: String, _ b: String) -> String {
            label.padding(toLength: 44, withPad: " ", startingAt: 0) + a.padding(toLength: 14, withPad: " ", startingAt: 0) + b
        }
        return [
            row("", "SQLite", "PostgreSQL"),
            row("durable enqueue, jobs/s (batches of \(sqlite.batchSize))", f(sqlite.enqueuesPerSecond), f(postgres.enqueuesPerSecond)),
            row("decision + durable claim p50, µs", f(sqlite.claimP50Microseconds), f(postgres.claimP50Microseconds)),
            row("decision + durable claim p99, µs", f(sqlite.claimP99Microseconds), f(postgres.claimP99Microseconds)),
            row("decision alone p99, µs (in memory)", f(sqlite.decisionP99Microseconds, 1), f(postgres.decisionP99Microseconds, 1)),
        ].joined(separator: "\n")
    }

    /// Runs every measurement in fresh databases under `directory` (which must exist), or, for
    /// `.postgres`, in fresh PostgreSQL databases (with each queue's local SQLite file under `directory`).
    public static func run(
        jobs: Int = 100_000, batchSize: Int = 1_000, queuedForDecision: Int = 10_000,
        decisions: Int = 2_000, apps: Int = 300, directory: String, backend: Backend = .sqlite
    ) throws -> Report {
        precondition(jobs > 0 && batchSize > 0 && queuedForDecision > 0 && decisions > 0 && apps > 0)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var random = SeededRandom(seed: 42)
        let popularityByApp = Dictionary(uniqueKeysWithValues: (1...apps).map { ("app\($0)", 1 / Double($0)) })
        let popularity: @Sendable (String) -> Double = { popularityByApp[$0] ?? 0 }
        let config = JobQueue.Configuration()
        func open(_ name: String) throws -> (SchedulerDatabase, JobQueue) {
            let local = try SchedulerDatabase.open(path: directory + "/" + name + ".sqlite")
            switch backend {
            case .sqlite:
                return (local, try JobQueue(database: local, configuration: config, popularity: popularity, now: start))
            case .postgres(let newDatabase):
                let shared = try PostgresQueueStorage(urlString: try newDatabase(), local: local, listen: false)
                return (local, try JobQueue(database: local, postgres: shared, configuration: config, popularity: popularity, now: start))
            }
        }

        // 1. Durable enqueue.
        let (enqueueDB, enqueueQueue) = try open("enqueue")
        let requests = (0..<jobs).map { _ in request(random: &random, apps: apps, source: directory) }
        let clock = ContinuousClock()
        let began = clock.now
        var offset = 0
        while offset < requests.count {
            let end = min(offset + batchSize, requests.count)
            try enqueueQueue.enqueue(batch: Array(requests[offset..<end]), now: start)
            offset = end
        }
        let enqueueSeconds = seconds(clock.now - began)
        var fileSize: Int64 = 0
        if case .sqlite = backend {
            try enqueueDB.checkpoint()
            fileSize = enqueueDB.fileSize()
        }

        // 2. Decisions with `queuedForDecision` queued across `apps` apps.
        let (_, queue) = try open("decision")
        try queue.enqueue(batch: (0..<queuedForDecision).map { _ in request(random: &random, apps: apps, source: directory) }, now: start)
        let groups = queue.indexGroupCount
        let (decisionTimes, claimTimes) = try churn(queue, rounds: decisions, start: start) {
            request(random: &random, apps: apps, source: directory)
        }

        // 3. Worst case: no owners, every job a different app, so one fair-share group per job.
        let (_, wide) = try open("distinct")
        var counter = 0
        func distinct() -> JobRequest {
            var r = request(random: &random, apps: apps, source: directory)
            counter += 1
            r.app = "wide\(counter)"
            r.owner = ""
            return r
        }
        try wide.enqueue(batch: (0..<queuedForDecision).map { _ in distinct() }, now: start)
        let (wideTimes, _) = try churn(wide, rounds: min(decisions, 500), start: start, next: distinct)

        return Report(
            backend: backend.name, jobs: jobs, batchSize: batchSize, enqueueSeconds: enqueueSeconds,
            enqueuesPerSecond: Double(jobs) / max(enqueueSeconds, 1e-9), fileSizeBytes: fileSize,
            queuedForDecision: queuedForDecision, apps: apps, groups: groups,
            decisionP50Microseconds: percentile(decisionTimes, 50), decisionP99Microseconds: percentile(decisionTimes, 99),
            claimP50Microseconds: percentile(claimTimes, 50), claimP99Microseconds: percentile(claimTimes, 99),
            distinctAppsDecisionP99Microseconds: percentile(wideTimes, 99))
    }

    /// Each round claims the best job (timed: decision + durable claim), finishes it, queues a new one,
    /// then times one decision alone, which must first drop the stale heap entries those changes left.
    static func churn(_ queue: JobQueue, rounds: Int, start: Date, next: () -> JobRequest) throws -> (decisions: [Double], claims: [Double]) {
        let clock = ContinuousClock()
        var decisions: [Double] = []
        var claims: [Double] = []
        for i in 0..<rounds {
            let now = start.addingTimeInterval(10 + Double(i) * 0.001)
            let t0 = clock.now
            guard let job = try queue.claim(owner: "bench", slotID: "s1", now: now) else { break }
            claims.append(seconds(clock.now - t0) * 1e6)
            try queue.finish(jobID: job.id, owner: "bench", outcome: .succeeded(deploymentID: "d"), now: now)
            try queue.enqueue(batch: [next()], now: now)
            let t1 = clock.now
            _ = queue.peekBest(now: now)
            decisions.append(seconds(clock.now - t1) * 1e6)
        }
        return (decisions, claims)
    }

    /// A job like the traces': Zipf-ish apps, mostly user pushes, some warm builds, hints 1-3.
    static func request(random: inout SeededRandom, apps: Int, source: String) -> JobRequest {
        let u = random.nextUnit()
        let app = "app\(min(apps, max(1, Int(pow(Double(apps), u)))))"
        let kinds: [JobKind] = [.user_push, .user_push, .user_push, .user_push, .manual, .retry, .cache_warm, .cache_warm]
        let types = ["javascript_web", "flutter_web", "flutter_android", "flutter_ios"]
        return JobRequest(
            app: app, owner: "owner\(random.next() % 50)", buildType: types[Int(random.next() % 4)],
            kind: kinds[Int(random.next() % UInt64(kinds.count))], source: source, command: "./build.sh",
            priorityHint: PriorityHint(rawValue: Int(random.next() % 3) + 1)!,
            dependencyHash: String(random.next() % 1000, radix: 16))
    }

    /// Nearest-rank percentile.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
        return sorted[min(rank, sorted.count - 1)]
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

import Foundation
import UVLoop

#if canImport(Glibc)
    import Glibc
    import WharfTestSupport
#endif

/// One run of one scenario phase against one server, on one loop: background connections,
/// discovery (every variant fetched and checked once, ETags learned), then the measured open-
/// or closed-loop phase, then the result. Loop thread only (`@unchecked Sendable` so the pacer
/// can post to it through the loop).
final class LoadRun: @unchecked Sendable {
    let loop: EventLoop
    let scenario: Scenario
    let options: RunOptions
    private(set) var catalog: RequestCatalog
    private var recorder = Recorder()
    private var random: SeededRandom
    private var connections: [LoadConnection] = []
    private var background: BackgroundConnections?
    private var discovery = RunResult.Discovery(variants: 0, verified: 0, failures: [], withoutETag: 0)
    private var completion: ((RunResult) -> Void)?

    // Measured phase.
    private var schedule: OpenLoopSchedule?
    private var pacer: Pacer?
    private var startNanos: UInt64 = 0
    private var endNanos: UInt64 = 0
    private var lastFinishNanos: UInt64 = 0
    private var dispatched = 0
    private var measuring = false
    private var finished = false
    private var housekeeping: LoopTimer?
    private var startedAt = Date()
    /// variant|etag → SHA-256 first seen: the same ETag with other bytes is a mixed response.
    private var contentByETag: [String: String] = [:]
    private var cpuAtStart = 0.0

    init(loop: EventLoop, scenario: Scenario, catalog: RequestCatalog, options: RunOptions) {
        self.loop = loop
        self.scenario = scenario
        self.catalog = catalog
        self.options = options
        random = SeededRandom(seed: options.seed)
    }

    var hostHeader: String { "\(options.host):\(options.port)" }

    /// Starts the run on the loop thread; `completion` gets the result (also on the loop thread).
    func start(completion: @escaping (RunResult) -> Void) {
        self.completion = completion
        catalog.prepareRequests(host: hostHeader)
        let bg = scenario.background
        let idle = options.skipBackground ? 0 : (bg?.idleConnections ?? 0)
        let slow = options.skipBackground ? 0 : (bg?.slowloris ?? 0)
        if idle > 0 || slow > 0 {
            let background = BackgroundConnections(
                loop: loop, host: options.host, port: options.port, idle: idle, slowloris: slow,
                slowlorisInterval: .milliseconds(bg?.slowlorisIntervalMs ?? 1000),
                request: catalog.discoveryBytes[0], slowPath: catalog.variants[0].path, hostHeader: hostHeader)
            self.background = background
            background.start { [self] in runDiscovery() }
        } else {
            runDiscovery()
        }
    }

    // MARK: Discovery

    private func runDiscovery() {
        discovery.variants = catalog.variants.count
        let connection = makeConnection(index: -1, bytes: { [catalog] in catalog.discoveryBytes[$0] }, isHead: { _ in false })
        var next = 0
        let deadline = MonotonicClock.now() + 120_000_000_000
        func request() {
            guard next < catalog.variants.count, MonotonicClock.now() < deadline else {
                connection.close()
                catalog.prepareRequests(host: hostHeader)
                startMeasuring()
                return
            }
            connection.enqueue(PendingRequest(template: next, intended: MonotonicClock.now(), verify: true))
            next += 1
        }
        connection.onComplete = { [self] _, response in
            checkDiscovery(response)
            request()
        }
        connection.onFailure = { [self] _, pending, kind in
            guard let pending else {
                if connection.connectFailures > 3 {
                    noteDiscoveryFailure("connect: \(kind)")
                    next = catalog.variants.count
                    request()
                }
                return
            }
            noteDiscoveryFailure("\(catalog.variants[pending.template].path) [\(catalog.variants[pending.template].encodingClass)]: \(kind)")
            request()
        }
        request()
    }

    private func checkDiscovery(_ response: CompletedResponse) {
        let index = response.request.template
        let variant = catalog.variants[index]
        let what = "\(variant.path) [\(variant.encodingClass)]"
        guard response.head.status == 200 else {
            noteDiscoveryFailure("\(what): status \(response.head.status)")
            return
        }
        catalog.variants[index].etag = response.head.etag
        if response.head.etag == nil { discovery.withoutETag += 1 }
        if scenario.checkContent == false { return }
        if let problem = encodingProblem(response.head.contentEncoding, variant: variant) {
            noteDiscoveryFailure("\(what): \(problem)")
            return
        }
        switch BodyVerifier.verify(body: response.body ?? [], contentEncoding: response.head.contentEncoding, accepted: variant.acceptedHashes) {
        case .ok(let sha):
            discovery.verified += 1
            if let etag = response.head.etag { contentByETag["\(index)|\(etag)"] = sha }
        case .mismatch(let sha):
            noteDiscoveryFailure("\(what): body sha256 \(sha.prefix(16)) not the fixture's")
        case .undecodable:
            noteDiscoveryFailure("\(what): body does not decode as \(response.head.contentEncoding ?? "?")")
        case .unexpectedEncoding(let encoding):
            noteDiscoveryFailure("\(what): unexpected content-encoding \(encoding)")
        }
    }

    private func noteDiscoveryFailure(_ text: String) {
        if discovery.failures.count < 20 { discovery.failures.append(text) }
    }

    /// nil when `encoding` is one the variant's Accept-Encoding allows.
    private func encodingProblem(_ encoding: String?, variant: RequestCatalog.Variant) -> String? {
        guard let encoding, encoding != "identity" else { return nil }
        guard let accepted = variant.acceptEncoding else { return "content-encoding \(encoding) without Accept-Encoding" }
        let tokens = accepted.split(separator: ",").map { $0.trimmingSpaces() }
        return tokens.contains(encoding) ? nil : "content-encoding \(encoding) not in '\(accepted)'"
    }

    // MARK: Measured phase

    private func makeConnection(index: Int, bytes: @escaping (Int) -> SharedBytes, isHead: @escaping (Int) -> Bool) -> LoadConnection {
        let connection = LoadConnection(index: index, loop: loop, host: options.host, port: options.port, requestBytes: bytes, isHead: isHead)
        connection.onBytes = { [self] count in recorder.bytesReceived += count }
        return connection
    }

    private func startMeasuring() {
        let requestBytes = catalog.requestBytes
        let heads = catalog.templates.map { $0.kind == .head }
        var ready = 0
        let total = options.connections
        let connectDeadline = MonotonicClock.now() + 15_000_000_000
        for i in 0..<total {
            let connection = makeConnection(index: i, bytes: { requestBytes[$0] }, isHead: { heads[$0] })
            connection.keepConnected = true
            var counted = false
            connection.onReady = { [self] c in
                if !counted {
                    counted = true
                    ready += 1
                    if ready == total { begin() }
                    return
                }
                connectionIdle(c)
            }
            connection.onComplete = { [self] c, response in completed(response, on: c) }
            connection.onFailure = { [self] c, pending, kind in
                if !counted && pending == nil {
                    // Could not connect: the run goes on (and counts the errors) rather than wait.
                    counted = true
                    ready += 1
                    if ready == total { begin() }
                }
                failed(pending, kind: kind, on: c)
            }
            connections.append(connection)
        }
        // Open connections in batches so thousands do not all hit the accept queue at once.
        var nextToOpen = 0
        func openSome() {
            while nextToOpen < connections.count && nextToOpen - ready < 256 {
                connections[nextToOpen].connect()
                nextToOpen += 1
            }
            if nextToOpen < connections.count && !measuring && MonotonicClock.now() < connectDeadline {
                LoopTimer.once(on: loop, after: .milliseconds(5)) { openSome() }
            }
        }
        openSome()
        LoopTimer.once(on: loop, after: .seconds(15)) { [self] in
            if !measuring && !finished {
                recorder.error("connections-not-ready")
                begin()
            }
        }
    }

    private func begin() {
        guard !measuring, !finished else { return }
        measuring = true
        startedAt = Date()
        cpuAtStart = LoadRun.cpuSeconds()
        startNanos = MonotonicClock.now() + 5_000_000
        let durationNanos = UInt64(options.durationS * 1e9)
        endNanos = startNanos + durationNanos
        lastFinishNanos = startNanos
        let maxRequests = min(options.maxRequests, RunOptions.absoluteMaxRequests)
        switch options.mode {
        case .open:
            let schedule = OpenLoopSchedule(
                startNanos: startNanos, rate: options.rate ?? 1000, connections: connections.count,
                durationNanos: durationNanos, maxRequests: maxRequests)
            self.schedule = schedule
            let pacer = Pacer(schedule: schedule, loop: loop) { [self] in sendDue() }
            self.pacer = pacer
            pacer.start()
        case .closed:
            LoopTimer.once(on: loop, after: .milliseconds(5)) { [self] in
                for connection in connections where connection.isIdle { connectionIdle(connection) }
            }
        }
        let timer = LoopTimer(loop: loop)
        timer.start(after: .milliseconds(20), repeating: .milliseconds(20)) { [self] in tick() }
        housekeeping = timer
    }

    private func nextRequest(intended: UInt64) -> PendingRequest {
        let template = catalog.sampler.sample(&random)
        let verify = options.verifyFraction > 0 && random.nextUnit() < options.verifyFraction
        return PendingRequest(template: template, intended: intended, verify: verify)
    }

    /// Open loop: hands every request now due to its connection.
    private func sendDue() {
        guard measuring, !finished, let schedule else { return }
        let due = schedule.dueCount(at: MonotonicClock.now())
        while dispatched < due {
            let request = nextRequest(intended: schedule.intendedNanos(dispatched))
            connections[schedule.connection(for: dispatched)].enqueue(request)
            recorder.sent += 1
            dispatched += 1
        }
    }

    /// Closed loop: an idle connection sends its next request at once.
    private func connectionIdle(_ connection: LoadConnection) {
        guard measuring, !finished else { return }
        switch options.mode {
        case .open:
            sendDue()
        case .closed:
            let now = MonotonicClock.now()
            guard now < endNanos, dispatched < options.maxRequests else { return }
            connection.enqueue(nextRequest(intended: now))
            recorder.sent += 1
            dispatched += 1
        }
    }

    private func completed(_ response: CompletedResponse, on connection: LoadConnection) {
        guard measuring, !finished else { return }
        recorder.completed += 1
        lastFinishNanos = response.finishedAt
        let head = response.head
        recorder.statuses[head.status, default: 0] += 1
        recorder.bodyBytes += response.bodyBytes
        let intended = options.mode == .open ? response.request.intended : response.sentAt
        Recorder.record(response.finishedAt &- min(intended, response.finishedAt), in: &recorder.latency)
        Recorder.record(response.finishedAt &- response.sentAt, in: &recorder.service)
        if options.mode == .open {
            Recorder.record(response.sentAt > intended ? response.sentAt - intended : 1, in: &recorder.sendLag)
        }
        check(response)
        if options.mode == .open { sendDue() }
    }

    private func check(_ response: CompletedResponse) {
        let template = response.request.template
        let expectation = catalog.expectation(for: template)
        let head = response.head
        let variant = catalog.variants[expectation.variant]
        // Without content checks (the trivial server) any non-error status is fine.
        let statusOK = scenario.checkContent == false ? head.status < 400 : expectation.statuses.contains(head.status)
        guard statusOK else {
            recorder.error("status-\(head.status)")
            return
        }
        if catalog.templates[template].kind == .revalidate && head.status == 200 { recorder.revalidatedFull += 1 }
        if head.status == 304 || catalog.templates[template].kind == .head || scenario.checkContent == false { return }
        if let problem = encodingProblem(head.contentEncoding, variant: variant) {
            recorder.error(problem.hasPrefix("content-encoding") ? "encoding-not-accepted" : "encoding")
            return
        }
        guard let body = response.body, !expectation.hashes.isEmpty else { return }
        switch BodyVerifier.verify(
            body: body, contentEncoding: head.contentEncoding, accepted: expectation.hashes,
            identityOnly: expectation.identityOnly)
        {
        case .ok(let sha):
            recorder.verifiedOk += 1
            if let etag = head.etag, !expectation.identityOnly {
                let key = "\(expectation.variant)|\(etag)"
                if let seen = contentByETag[key], seen != sha {
                    recorder.error("mixed-response")
                } else {
                    contentByETag[key] = sha
                }
            }
        case .mismatch:
            recorder.verifyFailed += 1
            recorder.error("body-mismatch")
        case .undecodable:
            recorder.verifyFailed += 1
            recorder.error("body-undecodable")
        case .unexpectedEncoding:
            recorder.verifyFailed += 1
            recorder.error("encoding-on-range")
        }
    }

    private func failed(_ pending: PendingRequest?, kind: String, on connection: LoadConnection) {
        guard measuring, !finished else { return }
        if pending != nil || kind.hasPrefix("connect") { recorder.error(kind) }
        recorder.reconnects += 1
    }

    private func tick() {
        guard measuring, !finished else { return }
        let now = MonotonicClock.now()
        let timeout = UInt64(options.requestTimeoutS * 1e9)
        for connection in connections where connection.inFlight != nil && now - connection.sentAt > timeout {
            connection.fail("timeout")
        }
        let outstanding = connections.contains { $0.inFlight != nil || $0.queuedCount > 0 }
        let graceEnd = endNanos + UInt64(options.drainGraceS * 1e9)
        switch options.mode {
        case .open:
            let allSent = dispatched >= (schedule?.totalRequests ?? 0)
            if (allSent && !outstanding) || now >= graceEnd { finish() }
        case .closed:
            if (now >= endNanos || dispatched >= options.maxRequests) && !outstanding || now >= graceEnd { finish() }
        }
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        pacer?.stop()
        housekeeping?.close()
        let now = MonotonicClock.now()
        for connection in connections {
            for request in connection.drainUnfinished() {
                recorder.unfinished += 1
                if options.mode == .open && request.intended < now {
                    Recorder.record(now - request.intended, in: &recorder.latency)
                }
            }
            connection.close()
        }
        let backgroundReport = background?.finish()
        let elapsed = Double(max(lastFinishNanos, startNanos + 1) - startNanos) / 1e9
        let result = RunResult(
            scenario: scenario.name, label: options.label, target: hostHeader, mode: options.mode.rawValue,
            connections: options.connections, targetRate: options.mode == .open ? options.rate : nil,
            durationS: options.durationS, startedAt: ISO8601DateFormatter().string(from: startedAt),
            sent: recorder.sent, completed: recorder.completed, unfinished: recorder.unfinished,
            achievedRate: (Double(recorder.completed) / max(elapsed, options.mode == .open ? options.durationS : 0.001) * 10).rounded() / 10,
            latencyMs: .init(recorder.latency), serviceMs: .init(recorder.service),
            sendLagMs: options.mode == .open ? .init(recorder.sendLag) : nil,
            statuses: Dictionary(uniqueKeysWithValues: recorder.statuses.map { (String($0.key), $0.value) }),
            errors: recorder.errors, errorCount: recorder.errorCount,
            interimResponses: connections.map(\.interimCount).reduce(0, +),
            bytesReceived: recorder.bytesReceived, bodyBytes: recorder.bodyBytes,
            verifiedOk: recorder.verifiedOk, verifyFailed: recorder.verifyFailed, revalidatedFull: recorder.revalidatedFull,
            reconnects: recorder.reconnects, discovery: discovery, background: backgroundReport,
            generatorCpuSeconds: ((LoadRun.cpuSeconds() - cpuAtStart) * 1000).rounded() / 1000,
            loadAverage: LoadRun.loadAverage())
        completion?(result)
        completion = nil
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func loadAverage() -> [Double] {
        var values = [Double](repeating: 0, count: 3)
        let n = getloadavg(&values, 3)
        return n == 3 ? values.map { ($0 * 100).rounded() / 100 } : []
    }
}

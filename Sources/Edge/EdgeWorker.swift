import HTTPCore
import Synchronization
import TLS
import UVLoop

/// Everything one event loop owns: its listener, its connections, its Date cache, its
/// counters, and the timer that enforces header/idle/send timeouts. Loop thread only, except
/// where noted.
final class EdgeWorker {
    let index: Int
    let loop: EventLoop
    let configuration: EdgeConfiguration
    let catalog: DeploymentCatalog
    let cache: ResponseCache
    let bodyLoader: BodyLoader
    let metrics: EdgeMetrics
    let stats: AccessStats
    /// Replaced on a configuration reload; the route memo follows it.
    var responder: ArtifactResponder {
        didSet { routerGeneration &+= 1 }
    }
    private(set) var routerGeneration = 0
    /// URL → file resolutions for the current snapshot and router (loop thread only).
    let routeMemo = RouteMemo()
    /// This loop's reference to the catalog's snapshot and the swap count it was read at.
    private var loopSnapshot: DeploymentCatalog.Snapshot?
    private var loopSnapshotSwaps = -1
    let parserLimits: ParserLimits

    /// Prebuilt 200 heads (`okHead`, plus HSTS where it applies) read back as HTTP/2 fields, per
    /// representation: the HTTP/2 cache-hit path frames them without parsing a head per response.
    /// Keys name a deployment's immutable file, so entries never go stale; cleared when full.
    var http2OKHeads: [ResponseCache.Key: HTTP2ResponseHead] = [:]
    static let http2OKHeadsLimit = 4_096

    private var listener: TCPListener?
    /// The HTTPS listener and the certificates its new handshakes use (swapped by a reload).
    private var tlsListener: TCPListener?
    var tlsContext: TLSServerContext?
    /// Per-client limits shared by every loop (nil: none).
    var clientLimits: ClientLimits?
    /// This loop's side of the access log (nil: no access log).
    var accessLog: LoopAccessLog?
    /// This loop's connections, their cap, their timeouts and the drain (see `ConnectionCore`).
    private var connections: ConnectionCore<any EdgeConnection>
    private var timer: LoopTimer?
    private var dateCache = HTTPDateCache()
    private let logger: @Sendable (String) -> Void

    init(
        index: Int, loop: EventLoop, configuration: EdgeConfiguration, catalog: DeploymentCatalog,
        cache: ResponseCache, bodyLoader: BodyLoader, metrics: EdgeMetrics, stats: AccessStats,
        logger: @escaping @Sendable (String) -> Void
    ) {
        self.index = index
        self.loop = loop
        self.configuration = configuration
        self.catalog = catalog
        self.cache = cache
        self.bodyLoader = bodyLoader
        self.metrics = metrics
        self.stats = stats
        self.logger = logger
        self.responder = ArtifactResponder(router: EdgeWorker.router(configuration), earlyHints: configuration.earlyHints)
        var limits = ParserLimits.default
        limits.maxRequestLineBytes = configuration.maxRequestLineBytes
        limits.maxHeaderBytes = configuration.maxHeaderBytes
        limits.maxFieldCount = configuration.maxHeaderCount
        self.parserLimits = limits
        self.connections = ConnectionCore(
            maxConnections: configuration.maxConnectionsPerWorker,
            timeouts: ConnectionTimeouts(
                handshakeMs: configuration.tls?.handshakeTimeoutMs ?? configuration.headerTimeoutMs,
                requestMs: configuration.headerTimeoutMs, idleMs: configuration.idleTimeoutMs,
                sendMs: configuration.sendTimeoutMs),
            tickMs: EdgeWorker.tickMs)
    }

    /// How often the timeout sweep runs.
    static let tickMs = 250

    static func router(_ c: EdgeConfiguration) -> Router {
        Router(domain: c.domain, hosts: c.hosts, defaultApp: c.defaultApp)
    }

    func log(_ message: String) { logger(message) }

    /// Binds this loop's listener (SO_REUSEPORT: every worker binds the same port) and starts the timer.
    func start(port: Int, tlsPort: Int = 0) throws -> Int {
        let l = try TCPListener.listen(
            on: loop, host: configuration.listenHost, port: port,
            onError: { [unowned self] error in self.log("accept failed: \(error)") },
            onAccept: { [unowned self] tcp in self.accepted(tcp, secure: false) })
        listener = l
        if let tls = configuration.tls, tlsContext != nil {
            let secure = try TCPListener.listen(
                on: loop, host: tls.listenHost, port: tlsPort,
                onError: { [unowned self] error in self.log("TLS accept failed: \(error)") },
                onAccept: { [unowned self] tcp in self.accepted(tcp, secure: true) })
            tlsListener = secure
            boundTLSPort = secure.localAddress.port
        }
        let t = LoopTimer(loop: loop)
        t.start(after: .milliseconds(EdgeWorker.tickMs), repeating: .milliseconds(EdgeWorker.tickMs)) { [unowned self] in self.tick() }
        timer = t
        return l.localAddress.port
    }

    /// The current IMF-fixdate, reformatted at most once per second per loop.
    func date() -> [UInt8] {
        dateCache.imfFixdate(at: Int64(EdgeClock.unixSeconds()))
    }

    private var responseDateSecond: Int64 = .min
    private var cachedResponseDate = ResponseDate(imfFixdate: [])

    /// The current second's Date field with its head endings, rebuilt once per second.
    func responseDate() -> ResponseDate {
        let now = Int64(EdgeClock.unixSeconds())
        if now != responseDateSecond {
            cachedResponseDate = ResponseDate(imfFixdate: dateCache.imfFixdate(at: now))
            responseDateSecond = now
        }
        return cachedResponseDate
    }

    /// Plans a response with this loop's route memo and Date cache.
    func plan(_ head: RequestHead) -> ArtifactResponder.Plan {
        let snapshot = currentSnapshot()
        return responder.plan(head, snapshot: snapshot, responseDate: responseDate(), memo: routeMemo)
    }

    /// The catalog's snapshot, with the route memo validated for it.
    private func currentSnapshot() -> DeploymentCatalog.Snapshot {
        let swaps = catalog.swapCount
        if swaps != loopSnapshotSwaps || loopSnapshot == nil {
            loopSnapshot = catalog.snapshot
            loopSnapshotSwaps = swaps
        }
        let snapshot = loopSnapshot!
        routeMemo.validate(snapshotGeneration: snapshot.generation, routerGeneration: routerGeneration)
        return snapshot
    }

    /// A plain-HTTP request for an app that must use HTTPS: `308 Permanent Redirect` to the same
    /// host and target on the TLS port (308 keeps the method, RFC 9110 §15.4.9). nil: serve it here.
    func httpsRedirect(_ head: RequestHead) -> ArtifactResponder.Plan? {
        guard let tls = configuration.tls, !tls.redirectApps.isEmpty, boundTLSPort != 0,
            let (app, target, hostField) = routedApp(head), tls.redirects(app)
        else { return nil }
        let host = Router.hostName(hostField)
        let port = boundTLSPort == 443 ? "" : ":\(boundTLSPort)"
        let path = target.form == .absolute ? target.path + (target.query.map { "?" + $0 } ?? "") : String(decoding: head.target, as: UTF8.self)
        let close = !head.keepAlive
        return ArtifactResponder.error(
            308, "moved to https://\(host)\(port)\(path)", date: date(), close: close,
            http10KeepAlive: head.keepAlive && head.version == .http1_0,
            extra: "Location: https://\(host)\(port)\(path)\r\n", omitBody: head.method == .head)
    }

    /// The app a request is routed to, whatever its path resolves to (a 404 inside an app too).
    func routedApp(_ head: RequestHead) -> (app: String, target: RequestTarget, host: String)? {
        guard let target = try? RequestTarget.parse(head.target, method: head.method),
            let host = target.host ?? head.value(of: .host).map({ String(decoding: $0, as: UTF8.self) }),
            let route = responder.router.route(host: host, path: target.path, knownApps: currentSnapshot().appNames)
        else { return nil }
        return (route.app, target, host)
    }

    /// A response planned without an app (a 404 inside an app) names the app its request routes to
    /// when HSTS is configured, so the HTTPS response still carries the header.
    func withHSTSApp(_ plan: ArtifactResponder.Plan, for head: RequestHead) -> ArtifactResponder.Plan {
        guard plan.app == nil, let tls = configuration.tls, !tls.hstsApps.isEmpty, let (app, _, _) = routedApp(head)
        else { return plan }
        var named = plan
        named.app = app
        return named
    }

    /// The `Strict-Transport-Security` field line for `app`'s HTTPS responses, or nil (RFC 6797 §6.1).
    func hstsField(app: String?) -> [UInt8]? {
        guard let app, let tls = configuration.tls, tls.hsts(app) else { return nil }
        return hstsLine
    }

    private lazy var hstsLine: [UInt8] = Array("Strict-Transport-Security: max-age=\(configuration.tls?.hstsMaxAgeSeconds ?? 0)\r\n".utf8)

    /// The common request whose whole body is in the cache: its representation and cache entry,
    /// found without a `Plan` (see `ArtifactResponder.cacheHitCandidate`); nil plans in full.
    func cacheHit(_ head: RequestHead) -> (ArtifactResponder.CacheHitCandidate, ResponseCache.Entry)? {
        _ = currentSnapshot()
        guard let candidate = responder.cacheHitCandidate(head, memo: routeMemo),
            let entry = cache.getIfPresent(candidate.rep.cacheKey)
        else { return nil }
        return (candidate, entry)
    }

    /// Loads a body through the shared cache: one load per key however many wait for it.
    func loadBody(
        _ file: ServedFile, _ rep: ServedFile.Representation,
        _ done: @escaping (Result<ResponseCache.Entry, any Error>) -> Void
    ) {
        let loop = self.loop
        let worker = self
        let key = rep.cacheKey
        let box = LoopBound(done)
        let (hit, mustLoad) = worker.cache.getOrJoinLoad(key, countingLookup: false) { result in
            _ = loop.execute { box.value(result) }
        }
        if let hit {
            done(.success(hit))
            return
        }  // synchronous: the slot is ready before flush()
        guard mustLoad else { return }
        let loader = worker.bodyLoader
        let cache = worker.cache
        loop.runBlocking(
            { () -> ResponseCache.Entry in
                switch try loader.load(file, rep) {
                case .bytes(let bytes): return ResponseCache.Entry(fixedHeaders: [], body: bytes)
                case .file(let open): return ResponseCache.Entry(fixedHeaders: [], body: [], file: open)
                }
            },
            completion: { result in
                cache.finishLoad(key, result: result)
            })
    }

    /// The port the TLS listener bound (the real one when 0 was asked for).
    private(set) var boundTLSPort = 0

    private func accepted(_ tcp: TCPConnection, secure: Bool) {
        switch connections.admission() {
        case .accept:
            break
        case .refuseDraining:
            tcp.close()
            return
        case .refuseFull where secure:
            // No plaintext 503 on a TLS port before a handshake: just close.
            metrics.connectionsRefused.add(1, ordering: .relaxed)
            tcp.close()
            return
        case .refuseFull:
            // Over the cap: a short 503 and close, costing nothing more.
            metrics.connectionsRefused.add(1, ordering: .relaxed)
            let plan = ArtifactResponder.error(503, "too many connections", date: date(), close: true)
            var buffers = [WriteBuffer(plan.head)]
            if case .bytes(let b) = plan.body { buffers.append(WriteBuffer(b)) }
            tcp.write(buffers) { _ in tcp.close() }
            return
        }
        guard let ticket = admitClient(tcp, secure: secure) else { return }
        let metrics = self.metrics
        let transport = tcp.transport(tls: secure ? tlsContext : nil) { _ in
            metrics.tlsHandshakeFailures.add(1, ordering: .relaxed)
        }
        let connection = HTTPConnection(id: connections.nextID(), transport: transport, isSecure: secure, worker: self)
        connection.client = ticket
        connections.insert(connection, id: connection.id)
        metrics.connectionsOpen.add(1, ordering: .relaxed)
        metrics.connectionsAccepted.add(1, ordering: .relaxed)
        connection.start()
    }

    func connectionClosed(_ connection: any EdgeConnection) {
        guard connections.remove(connection, id: connection.id) else { return }
        releaseClient(connection.client)
        metrics.connectionsOpen.subtract(1, ordering: .relaxed)
    }

    /// Whether a connection's first bytes start HTTP/2: ALPN chose `h2` during the TLS handshake,
    /// or (with `edge.h2.cleartext`) a plain-text client opened with the connection preface.
    func speaksHTTP2(_ transport: any ConnectionTransport, firstBytes: UnsafeRawBufferPointer) -> Bool {
        guard configuration.http2.enabled else { return false }
        if let tls = transport as? TLSTransport { return tls.session.applicationProtocol == "h2" }
        return configuration.http2.cleartext && firstBytes.starts(with: HTTP2Connection.prefacePrefix)
    }

    /// Hands a connection that turned out to speak HTTP/2 to an `HTTP2Connection` on the same
    /// transport, with the bytes already read; the HTTP/1.1 connection object is dropped.
    func switchToHTTP2(from connection: HTTPConnection, firstBytes: UnsafeRawBufferPointer) {
        let successor = HTTP2Connection(id: connection.id, transport: connection.transport, worker: self)
        successor.client = connection.client
        connections.insert(successor, id: connection.id)
        metrics.http2Connections.add(1, ordering: .relaxed)
        successor.start(firstBytes: firstBytes)
    }

    var connectionCount: Int { connections.count }

    /// Records one response for metrics and access statistics (no locks, no I/O).
    func record(_ status: Int, bytes: Int, app: String?, file: ServedFile?, coding: UInt8) {
        metrics.record(status: status, bytes: bytes, coding: coding)
        if coding == ContentCoding.dcz.rawValue, let file { metrics.recordDelta(status: status, bytes: bytes, baseline: file.deltaBaseline) }
        if let app, let file, status < 400 { stats.record(worker: index, app: app, file: file, bytes: bytes) }
        if let app { stats.recordStatus(worker: index, app: app, status: status) }
    }

    /// Timeouts: header (slow senders get 408), idle keep-alive, send (clients that stop reading),
    /// TLS handshake; the core decides (in slices, see `ConnectionCore.sweep`), this carries out.
    private func tick() {
        ticks += 1
        if ticks % 4 == 0 { stats.handOver(worker: index) }
        accessLog?.handOver()
        let sweep = connections.sweep(now: loop.nowMilliseconds) { $0.timing }
        for (connection, timeout) in sweep.expired {
            switch timeout {
            case .handshake:
                metrics.tlsHandshakeTimeouts.add(1, ordering: .relaxed)
                connection.close()
            case .request:
                metrics.headerTimeouts.add(1, ordering: .relaxed)
                connection.timeOutRequest()
            case .idle, .send:
                connection.close()
            }
        }
        if sweep.drained {
            drained?()
            drained = nil
        }
    }

    private var drained: (() -> Void)?
    private var ticks = 0

    /// Stops accepting; idle connections close now, busy ones after their responses.
    func beginDrain(onDrained: @escaping () -> Void) {
        connections.beginDrain()
        listener?.close()
        listener = nil
        tlsListener?.close()
        tlsListener = nil
        for connection in connections.all { connection.drain() }
        if connections.drainFinished() { onDrained() } else { drained = onDrained }
    }

    /// Closes everything this worker owns (after the drain or its timeout).
    func closeAll() {
        for connection in connections.all { connection.close() }
        accessLog?.handOver()
        listener?.close()
        listener = nil
        tlsListener?.close()
        tlsListener = nil
        timer?.close()
        timer = nil
    }
}

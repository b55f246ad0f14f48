import ArtifactStore
import Foundation
import Glibc
import HTTPCore
import Synchronization
import TLS
import UVLoop

/// The admin API: its own listener (default 127.0.0.1:8081) on its own event loop thread,
/// guarded by a bearer token.
///
/// Why a loop of its own rather than loop 0 of the edge: admin work (rendering metrics, JSON,
/// SQLite-backed handlers' completions, slow or hostile admin clients) never shares a thread
/// with the serving loops, so it adds no latency to them, and the admin listener can be started,
/// stopped and tested independently of the edge. Handlers themselves run on libuv's thread pool
/// (`runBlocking`), so the admin loop only parses and writes.
///
/// Every route but `GET /_wharf/health` requires `Authorization: Bearer <token>`; anything else
/// gets 401 with `WWW-Authenticate: Bearer` before any handler runs, so nothing changes.
public final class AdminServer: Sendable {
    /// Limits for the admin listener (it is a control surface, not a public server).
    public struct Limits: Sendable {
        /// Largest request body held in memory; over it: 413.
        public var maxBodyBytes = 1 << 20
        /// Largest body of an upload route (streamed to a file); each route may set less.
        public var maxUploadBytes = 512 << 20
        public var maxConnections = 64
        /// A request must arrive completely within this time (408).
        public var requestTimeoutMs = 10_000
        /// An idle keep-alive connection is closed after this time.
        public var idleTimeoutMs = 30_000
        /// The per-address request rate of the admin API (`edge.rate_limit.admin_rate`); nil: none.
        public var clientLimits: ClientLimits?
        public init() {}
    }

    public let routes = AdminRoutes()
    public let token: AdminToken
    /// The browser dashboard's sessions, read token and history (see `Dashboard`).
    public let dashboard = Dashboard()
    public let host: String
    public let requestedPort: Int
    public let limits: Limits
    private let logger: @Sendable (String) -> Void
    private let thread = Mutex<LoopThread?>(nil)
    private let state = Mutex<AdminLoopState?>(nil)
    private let boundPort = Atomic<Int>(0)
    /// The certificates when the admin API is served over TLS; nil: plain HTTP.
    private let tlsContext = Mutex<TLSServerContext?>(nil)
    private let started = ContinuousClock.now
    private let metricsSources = Mutex<[@Sendable (inout PrometheusText) -> Void]>([])
    private let statusSections = Mutex<[(String, @Sendable () throws -> [UInt8])]>([])

    /// An admin server with only the generic routes (health, metrics, status); add sources and
    /// routes, then `start()`. See `init(edge:token:logger:)` for the edge's admin API.
    public init(
        host: String = "127.0.0.1", port: Int = 8081, token: AdminToken, limits: Limits = Limits(),
        logger: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.host = host
        self.requestedPort = port
        self.token = token
        self.limits = limits
        self.logger = logger
        registerGenericRoutes()
        DashboardRoutes(server: self).install(on: routes)
    }

    /// The port it listens on (the real one when 0 was asked for); 0 before `start()`.
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Adds families to `GET /_wharf/metrics`; sources run in the order added, off-loop.
    public func addMetrics(_ source: @escaping @Sendable (inout PrometheusText) -> Void) {
        metricsSources.withLock { $0.append(source) }
    }

    /// Adds a top-level key to `GET /_wharf/api/status`, computed off-loop on each request.
    public func addStatusSection<T: Encodable & SendableMetatype>(_ name: String, _ provider: @escaping @Sendable () throws -> T) {
        statusSections.withLock { $0.append((name, { AdminJSON.encode(try provider()) })) }
    }

    private func registerGenericRoutes() {
        do {
            try routes.add("GET", "/_wharf/health", requiresToken: false) { _ in
                AdminJSON.response(["status": "ok"])
            }
            // Weak: the route table belongs to this server and must not keep it alive.
            try routes.add("GET", "/_wharf/metrics", requiresToken: true) { [weak self] _ in
                guard let self else { throw AdminError(503, "the admin server has stopped") }
                var text = PrometheusText()
                text.gauge("wharf_uptime_seconds", help: "Seconds since the admin server was created.", uptimeSeconds)
                for source in metricsSources.withLock({ $0 }) { source(&text) }
                return AdminResponse(status: 200, body: Array(text.text.utf8), contentType: PrometheusText.contentType)
            }
            try routes.add("GET", "/_wharf/api/status", requiresToken: true) { [weak self] _ in
                guard let self else { throw AdminError(503, "the admin server has stopped") }
                return try statusResponse()
            }
        } catch {
            preconditionFailure("built-in admin routes are valid: \(error)")
        }
    }

    var uptimeSeconds: Double {
        let d = started.duration(to: .now).components
        return Double(d.seconds) + Double(d.attoseconds) / 1e18
    }

    /// `{"status":"ok","uptimeSeconds":…,"<section>":{…},…}` with sections in name order.
    private func statusResponse() throws -> AdminResponse {
        AdminResponse(status: 200, body: try statusJSON())
    }

    /// The body of `GET /_wharf/api/status`.
    func statusJSON() throws -> [UInt8] {
        var out = Array(#"{"status":"ok","uptimeSeconds":"#.utf8)
        out += Array(String(format: "%.3f", uptimeSeconds).utf8)
        for (name, provider) in statusSections.withLock({ $0 }).sorted(by: { $0.0 < $1.0 }) {
            out += Array(",".utf8)
            out += AdminJSON.encode(name)
            out += Array(":".utf8)
            out += try provider()
        }
        out += Array("}".utf8)
        return out
    }

    /// Serves the admin API over TLS with `context` (call before `start()`), or swaps the
    /// certificates of a running server (after a reload): new handshakes use them.
    public func useTLS(_ edgeContext: TLSServerContext) {
        let context = AdminServer.http1Only(edgeContext)
        tlsContext.withLock { $0 = context }
        if let loopState = state.withLock({ $0 }) {
            let ref = TLSContextRef(context)
            _ = loopState.loop.execute { loopState.tlsContext = ref.value }
        }
    }

    /// The admin API speaks HTTP/1.1 only: a context offering `h2` in ALPN (the edge's, with
    /// HTTP/2 on) would let clients such as curl and URLSession pick h2 and get no answer. The
    /// sibling context loads the same certificate files and shares the ticket keys.
    static func http1Only(_ context: TLSServerContext) -> TLSServerContext {
        guard context.alpnProtocols != ["http/1.1"] else { return context }
        do {
            return try TLSServerContext(
                certificates: context.certificateFiles, alpn: ["http/1.1"], previous: context,
                rejectUnknownServerNames: context.rejectsUnknownServerNames)
        } catch {
            return context
        }
    }

    /// True when the admin API is served over TLS.
    public var usesTLS: Bool { tlsContext.withLock { $0 != nil } }

    /// Binds the listener on a new loop thread; returns once it accepts connections.
    public func start() throws {
        let context = TLSContextRef(tlsContext.withLock { $0 })
        let loopThread = try LoopThread(name: "wharf-admin")
        let loop = loopThread.loop
        let dispatcher = AdminDispatcher(routes: routes, token: token, sessions: dashboard.sessions, logger: logger)
        do {
            let (loopState, bound) = try loop.executeAndWait { [self] () throws -> (AdminLoopState, Int) in
                let s = AdminLoopState(loop: loop, limits: limits, dispatcher: dispatcher, logger: logger)
                s.tlsContext = context.value
                let port = try s.listen(host: host, port: requestedPort)
                return (s, port)
            }
            state.withLock { $0 = loopState }
            thread.withLock { $0 = loopThread }
            boundPort.store(bound, ordering: .releasing)
        } catch {
            try? loopThread.stopAndJoin()
            throw error
        }
    }

    /// Stops accepting, closes every connection (a handler still running finishes first, its
    /// answer dropped), and joins the loop thread. Idempotent.
    public func shutdown() {
        dashboard.stop()
        guard
            let loopThread = thread.withLock({ t in
                defer { t = nil }
                return t
            })
        else { return }
        // The loop state stays alive until the thread is joined: the close callbacks of the
        // connections closed here run on later loop turns and call back into it.
        let loopState = state.withLock { s in
            defer { s = nil }
            return s
        }
        if let loopState {
            try? loopThread.loop.executeAndWait { loopState.closeAll() }
        }
        do { try loopThread.stopAndJoin() } catch { logger("admin loop did not close cleanly: \(error)") }
        withExtendedLifetime(loopState) {}
    }
}

/// Decides what to do with one complete request: authenticate, route, and run the handler on
/// the thread pool. Loop thread (except the handler itself).
final class AdminDispatcher: Sendable {
    let routes: AdminRoutes
    let token: AdminToken
    let sessions: DashboardSessions
    let logger: @Sendable (String) -> Void

    init(routes: AdminRoutes, token: AdminToken, sessions: DashboardSessions, logger: @escaping @Sendable (String) -> Void) {
        self.routes = routes
        self.token = token
        self.sessions = sessions
        self.logger = logger
    }

    func dispatch(_ pending: AdminConnection.Pending, on connection: AdminConnection) {
        if let refusal = connection.rateLimited() {
            connection.finish(refusal, for: pending)
            return
        }
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(pending.target, method: .other(Array(pending.method.utf8)))
        } catch {
            if let file = pending.upload { unlink(file.path) }
            connection.finish(.error(400, "bad request target: \(error)"), for: pending)
            return
        }
        let lookup = routes.lookup(method: pending.method, path: target.path)
        if case .found(let match) = lookup, !match.route.requiresToken {
            // No token was checked: the handler must not take the caller for the admin.
            run(match, pending, target, connection, isAdmin: false)
            return
        }
        if case .found(let match) = lookup, match.route.access == .delegated, let presented = bearer(pending.authorization) {
            run(match, pending, target, connection, credential: presented, isAdmin: token.matches(Array(presented.utf8)))
            return
        }
        // A dashboard page's request: a session cookie instead of the token (`DashboardGate`).
        var isAdmin = true
        var isReadSession = false
        if pending.authorization == nil,
            let decision = DashboardGate.decide(
                AdminRequest(method: pending.method == "HEAD" ? "GET" : pending.method, path: target.path, headers: pending.headers),
                sessions: sessions, tls: connection.owner.tlsContext != nil)
        {
            switch decision {
            case .refused(let response):
                if let file = pending.upload { unlink(file.path) }
                connection.finish(response, for: pending)
                return
            case .allowed(let admin):
                isAdmin = admin
                isReadSession = !admin
            }
        } else if !authorized(pending.authorization) {
            if let file = pending.upload { unlink(file.path) }
            let challenge =
                pending.authorization == nil
                ? #"Bearer realm="wharf-admin""#
                : #"Bearer realm="wharf-admin", error="invalid_token""#
            var response = AdminResponse.error(401, "a valid bearer token is required")
            response.headers = [.init(name: "WWW-Authenticate", value: challenge)]
            connection.finish(response, for: pending)
            return
        }
        switch lookup {
        case .found(let match):
            run(match, pending, target, connection, isAdmin: isAdmin, isReadSession: isReadSession)
        case .wrongMethod(let allowed):
            if let file = pending.upload { unlink(file.path) }
            var response = AdminResponse.error(405, "method \(pending.method) not allowed here")
            response.headers = [.init(name: "Allow", value: allowed.joined(separator: ", "))]
            connection.finish(response, for: pending)
        case .notFound:
            if let file = pending.upload { unlink(file.path) }
            connection.finish(.error(404, "no admin route for \(target.path)"), for: pending)
        }
    }

    /// `Authorization: Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1), compared in
    /// constant time.
    private func authorized(_ field: [UInt8]?) -> Bool {
        guard let credentials = bearerBytes(field) else { return false }
        return token.matches(credentials)
    }

    private func bearerBytes(_ field: [UInt8]?) -> ArraySlice<UInt8>? {
        guard let field, field.count > 7 else { return nil }
        let scheme = field.prefix(7).map { $0 | 0x20 }
        guard scheme == Array("bearer ".utf8) else { return nil }
        var credentials = field.dropFirst(7)
        while credentials.first == 0x20 { credentials = credentials.dropFirst() }
        return credentials.isEmpty ? nil : credentials
    }

    private func bearer(_ field: [UInt8]?) -> String? {
        bearerBytes(field).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The streaming target of the route a request head is for, if it has one (loop thread).
    func uploadTarget(method: String, target: ArraySlice<UInt8>) -> AdminUploadTarget? {
        guard let parsed = try? RequestTarget.parse(target, method: .other(Array(method.utf8))),
            case .found(let match) = routes.lookup(method: method, path: parsed.path)
        else { return nil }
        return match.route.upload
    }

    private func run(
        _ match: AdminRoutes.Match, _ pending: AdminConnection.Pending, _ target: RequestTarget,
        _ connection: AdminConnection, credential: String? = nil, isAdmin: Bool = true,
        isReadSession: Bool = false
    ) {
        var built = AdminRequest(
            method: pending.method == "HEAD" ? "GET" : pending.method, path: target.path, query: target.query,
            headers: pending.headers.filter { AdminDispatcher.passesToHandler($0, path: target.path) },
            body: pending.body, parameters: match.parameters, remainder: match.remainder)
        built.credential = credential
        built.isAdmin = isAdmin
        built.isReadSession = isReadSession
        built.upload = pending.upload
        let request = built
        let handler = match.route.handler
        let logger = self.logger
        connection.tcp.loop.runBlocking(
            { () -> AdminResponse in
                // Whatever the handler did not move away is removed once it has answered.
                defer { if let file = request.upload { unlink(file.path) } }
                do {
                    return try handler(request)
                } catch let error as AdminError {
                    return .error(error.status, error.message)
                } catch let error as StoreError {
                    return .error(AdminDispatcher.status(for: error), error.description)
                } catch {
                    logger("admin \(request.method) \(request.path) failed: \(error)")
                    return .error(500, "internal error: \(error)")
                }
            },
            completion: { [weak connection] result in
                let response = (try? result.get()) ?? .error(503, "the admin server is shutting down")
                connection?.finish(response, for: pending)
            })
    }

    /// Credentials stay with the server: no handler sees `Authorization`, and API handlers do not
    /// see `Cookie` (only the dashboard's own pages, outside `/_wharf/api/`, read their session).
    static func passesToHandler(_ header: AdminRequest.Header, path: String) -> Bool {
        let name = header.name.lowercased()
        return name != "authorization" && !(name == "cookie" && path.hasPrefix(AdminRoutes.apiPrefix))
    }

    static func status(for error: StoreError) -> Int {
        switch error {
        case .unknownApp, .deploymentNotFound: 404
        case .nothingToRollBack: 409
        case .unsafeAppName: 400
        default: 500
        }
    }
}

/// What lives on the admin loop: the listener, the connections (a `ConnectionCore`, as each edge
/// worker has: the same cap, timeouts and drain rules), the timeout timer.
/// `@unchecked Sendable`: it is created and used only on its loop (the confinement is the lock).
final class AdminLoopState: @unchecked Sendable {
    let loop: EventLoop
    let limits: AdminServer.Limits
    let dispatcher: AdminDispatcher
    private let logger: @Sendable (String) -> Void
    private var listener: TCPListener?
    private var timer: LoopTimer?
    /// Set: every accepted connection speaks TLS with these certificates.
    var tlsContext: TLSServerContext?
    private var connections: ConnectionCore<AdminConnection>
    private var dateCache = HTTPDateCache()
    var isDraining: Bool { connections.isDraining }

    init(loop: EventLoop, limits: AdminServer.Limits, dispatcher: AdminDispatcher, logger: @escaping @Sendable (String) -> Void) {
        self.loop = loop
        self.limits = limits
        self.dispatcher = dispatcher
        self.logger = logger
        // One request timeout for the handshake, the request and (as idle) a stalled stream.
        connections = ConnectionCore(
            maxConnections: limits.maxConnections,
            timeouts: ConnectionTimeouts(
                handshakeMs: limits.requestTimeoutMs, requestMs: limits.requestTimeoutMs,
                idleMs: limits.idleTimeoutMs, sendMs: limits.idleTimeoutMs),
            tickMs: AdminLoopState.tickMs)
    }

    /// How often the timeout sweep runs.
    static let tickMs = 1_000

    func listen(host: String, port: Int) throws -> Int {
        // No SO_REUSEPORT: a second admin server on the same port must fail, not share it.
        let l = try TCPListener.listen(
            on: loop, host: host, port: port, backlog: 128, reusePort: false,
            onError: { [unowned self] error in self.logger("admin accept failed: \(error)") },
            onAccept: { [unowned self] tcp in self.accepted(tcp) })
        listener = l
        let t = LoopTimer(loop: loop)
        t.start(after: .milliseconds(AdminLoopState.tickMs), repeating: .milliseconds(AdminLoopState.tickMs)) { [unowned self] in
            self.tick()
        }
        timer = t
        return l.localAddress.port
    }

    func date() -> [UInt8] { dateCache.imfFixdate(at: Int64(EdgeClock.unixSeconds())) }

    private func accepted(_ tcp: TCPConnection) {
        guard connections.admission() == .accept else {
            if tlsContext != nil {
                tcp.close()  // nothing can be said before a handshake
            } else {
                let busy = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                tcp.write(WriteBuffer(busy)) { _ in tcp.close() }
            }
            return
        }
        let logger = self.logger
        let transport = tcp.transport(tls: tlsContext) { error in logger("admin TLS session failed: \(error)") }
        let connection = AdminConnection(id: connections.nextID(), tcp: transport, owner: self)
        connection.client = tcp.remoteAddress.flatMap { ClientAddress($0.host) }
        connections.insert(connection, id: connection.id)
        connection.start()
    }

    func connectionClosed(_ connection: AdminConnection) {
        connections.remove(connection, id: connection.id)
    }

    var connectionCount: Int { connections.count }

    private func tick() {
        for (connection, timeout) in connections.sweep(now: loop.nowMilliseconds, timing: { $0.timing }).expired {
            switch timeout {
            case .request: connection.timeOut()
            case .handshake, .idle, .send: connection.close()  // .send: a streamed response nobody reads
            }
        }
    }

    func closeAll() {
        connections.beginDrain()
        listener?.close()
        listener = nil
        timer?.close()
        timer = nil
        for connection in connections.all { connection.close() }
    }
}

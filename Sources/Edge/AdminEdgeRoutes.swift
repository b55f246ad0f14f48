import ArtifactStore
import Foundation
import HTTPCore
import Synchronization

extension AdminServer {
    /// The edge's admin API on `edge.configuration.adminHost:adminPort`: the generic routes plus
    /// the edge's status section and metrics, apps, rollback, purge and warm.
    public convenience init(
        edge: EdgeServer, token: AdminToken, limits: Limits = Limits(),
        logger: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        var limits = limits
        if limits.clientLimits == nil { limits.clientLimits = edge.clientLimits }
        self.init(
            host: edge.configuration.adminHost, port: edge.configuration.adminPort, token: token,
            limits: limits, logger: logger)
        EdgeAdminRoutes(edge: edge).install(on: self)
        DashboardDataRoutes(edge: edge, server: self).install(on: self)
        let readToken = AdminToken.resolveReadToken(storePath: edge.store.path)
        dashboard.useReadToken(readToken)
        ReplicaRoutes(store: edge.store, readToken: readToken, counters: ReplicaCounters()).install(on: self)
    }
}

/// The edge's own admin routes, status section and metrics families.
struct EdgeAdminRoutes: Sendable {
    let edge: EdgeServer

    func install(on server: AdminServer) {
        server.addStatusSection("edge") { [edge] in EdgeStatus(edge) }
        server.addMetrics { [edge] text in EdgeAdminRoutes.metrics(edge, &text) }
        do {
            try server.routes.register("GET", "/_wharf/api/apps") { [self] _ in try apps() }
            try server.routes.register("POST", "/_wharf/api/apps/{app}/rollback") { [self] r in try rollback(r) }
            try server.routes.register("POST", "/_wharf/api/apps/{app}/purge") { [self] r in try purge(r) }
            try server.routes.register("POST", "/_wharf/api/warm") { [self] r in try warm(r) }
        } catch {
            preconditionFailure("edge admin routes are valid: \(error)")
        }
    }

    // MARK: apps

    struct AppInfo: Encodable {
        var app: String
        var deployment: String
        var version: String?
        var files: Int
        var bytes: Int64
        var createdAt: Int64
    }

    func apps() throws -> AdminResponse {
        let snapshot = edge.catalog.snapshot
        var list: [AppInfo] = []
        for (name, served) in snapshot.apps.sorted(by: { $0.key < $1.key }) {
            let manifest = try edge.store.deployment(id: served.id)
            list.append(
                AppInfo(
                    app: name, deployment: served.id, version: manifest?.version,
                    files: served.files.count, bytes: manifest?.totalSize ?? 0,
                    createdAt: manifest?.createdAt ?? 0))
        }
        return AdminJSON.response(["apps": list])
    }

    // MARK: rollback

    struct RollbackResult: Encodable {
        var app: String
        var previous: String?
        var deployment: String
    }

    /// Body optional: `{"to": "<deployment id>"}`; without it, the deployment before the current one.
    func rollback(_ request: AdminRequest) throws -> AdminResponse {
        let app = request.parameters["app"] ?? ""
        let to = try AdminBodies.rollback(request.body)
        let previous = try edge.store.currentDeploymentID(app: app)
        let now = try edge.store.rollback(app: app, to: to)
        // Visible to the edge at once rather than at the next alias poll.
        try edge.catalog.refresh()
        return AdminJSON.response(RollbackResult(app: app, previous: previous, deployment: now))
    }

    // MARK: purge

    struct PurgeResult: Encodable {
        var app: String
        var deployments: [String]
        var dropped: Int
    }

    /// Drops every cached representation of every retained deployment of the app.
    func purge(_ request: AdminRequest) throws -> AdminResponse {
        let app = request.parameters["app"] ?? ""
        try AdminBodies.purge(request.body)
        var ids = Set(try edge.store.deployments(app: app).map(\.id))
        if let served = edge.catalog.snapshot.apps[app] { ids.insert(served.id) }
        guard !ids.isEmpty else { throw AdminError(404, "app \"\(app)\" has no deployments") }
        let dropped = edge.cache.purge { ids.contains($0.deployment) }
        return AdminJSON.response(PurgeResult(app: app, deployments: ids.sorted(), dropped: dropped))
    }

    // MARK: warm

    /// `{"app": "demo", "paths": ["/index.html", …], "encodings": ["br", "identity"]}`;
    /// encodings optional (default: every representation each file has).
    func warm(_ request: AdminRequest) throws -> AdminResponse {
        let body = try AdminBodies.warm(request.body)
        let (app, paths) = (body.app, body.paths)
        var codings: [ContentCoding]?
        if let tokens = body.encodings {
            codings = try tokens.map { token in
                guard let c = CacheWarmer.coding(token) else {
                    throw AdminError(400, "unknown encoding \"\(token)\" (use br, zstd, gzip, identity)")
                }
                return c
            }
        }
        let report = try CacheWarmer(edge: edge).warm(app: app, paths: paths, codings: codings)
        return AdminJSON.response(report)
    }

    // MARK: status and metrics

    struct EdgeStatus: Encodable {
        struct Connections: Encodable { var open, accepted, refused, headerTimeouts: Int }
        struct Requests: Encodable {
            var total: Int
            var byClass: [String: Int]
            var byStatus: [String: Int]
            var byEncoding: [String: Int]
        }
        struct Cache: Encodable { var entries, bytes, budget, hits, misses, evictions, loads: Int }
        struct App: Encodable { var app, deployment: String }

        var uptimeSeconds: Double
        var workers: Int
        var connections: Connections
        var requests: Requests
        var bytesSent: Int
        var cache: Cache
        var apps: [App]

        init(_ edge: EdgeServer) {
            let m = edge.metrics
            let d = edge.createdAt.duration(to: .now).components
            uptimeSeconds = ((Double(d.seconds) + Double(d.attoseconds) / 1e18) * 1000).rounded() / 1000
            workers = edge.workerCount
            connections = Connections(
                open: m.connectionsOpen.load(ordering: .relaxed),
                accepted: m.connectionsAccepted.load(ordering: .relaxed),
                refused: m.connectionsRefused.load(ordering: .relaxed),
                headerTimeouts: m.headerTimeouts.load(ordering: .relaxed))
            let byClass = m.responsesByClass()
            requests = Requests(
                total: byClass.reduce(0) { $0 + $1.1 },
                byClass: Dictionary(uniqueKeysWithValues: byClass),
                byStatus: Dictionary(uniqueKeysWithValues: m.responsesByStatus().map { (String($0.0), $0.1) }),
                byEncoding: Dictionary(uniqueKeysWithValues: m.responsesByCoding()))
            bytesSent = m.bytesSent.load(ordering: .relaxed)
            let s = edge.cache.statistics()
            cache = Cache(
                entries: s.entries, bytes: s.bytesHeld, budget: s.budget, hits: s.hits, misses: s.misses,
                evictions: s.evictions, loads: s.loads)
            apps = edge.catalog.snapshot.apps.map { App(app: $0.key, deployment: $0.value.id) }.sorted { $0.app < $1.app }
        }
    }

    static func metrics(_ edge: EdgeServer, _ text: inout PrometheusText) {
        let m = edge.metrics
        text.counter(
            "wharf_http_requests_total", help: "HTTP responses sent by the edge, by status code.",
            label: "status", m.responsesByStatus().map { (String($0.0), $0.1) })
        text.counter(
            "wharf_http_response_bytes_total", help: "Response body bytes sent by the edge.",
            m.bytesSent.load(ordering: .relaxed))
        text.counter(
            "wharf_http_responses_by_encoding_total",
            help: "Full-body and range responses by content coding.", label: "encoding", m.responsesByCoding())
        text.counter(
            "wharf_http_response_bytes_by_encoding_total",
            help: "Body bytes of full-body and range responses by content coding.", label: "encoding",
            m.responseBytesByCoding())
        text.counter(
            "wharf_dictionary_responses_total",
            help: "RFC 9842 dcz delta responses (200) sent to clients holding an earlier version.",
            m.dictionaryResponses.load(ordering: .relaxed))
        text.counter(
            "wharf_dictionary_bytes_saved_total",
            help: "Body bytes dcz responses saved against the smallest br/zstd variant of the same file.",
            m.dictionaryBytesSaved.load(ordering: .relaxed))
        let durations = m.requestDurations()
        text.histogram(
            "wharf_http_request_duration_seconds",
            help: "Time from a request's first byte to its response handed to the socket.",
            buckets: durations.buckets.map { .init(upperBound: $0.upperBoundSeconds, cumulativeCount: $0.cumulativeCount) },
            sum: durations.sumSeconds, count: durations.count)
        let s = edge.cache.statistics()
        text.counter("wharf_cache_hits_total", help: "Response cache lookups that found the entry.", s.hits)
        text.counter("wharf_cache_misses_total", help: "Response cache lookups that did not.", s.misses)
        text.counter("wharf_cache_loads_total", help: "Bodies loaded from the store on a miss (one per key however many waited).", s.loads)
        text.counter("wharf_cache_evictions_total", help: "Entries evicted to stay within the budget.", s.evictions)
        text.gauge("wharf_cache_entries", help: "Entries held by the response cache.", Double(s.entries))
        text.gauge("wharf_cache_bytes", help: "Bytes held by the response cache (bodies, headers, overhead).", Double(s.bytesHeld))
        text.gauge("wharf_cache_budget_bytes", help: "Byte budget of the response cache.", Double(s.budget))
        text.gauge(
            "wharf_connections_open", help: "Client connections open on the edge.",
            Double(m.connectionsOpen.load(ordering: .relaxed)))
        text.counter(
            "wharf_connections_accepted_total", help: "Client connections accepted by the edge.",
            m.connectionsAccepted.load(ordering: .relaxed))
        text.counter(
            "wharf_connections_refused_total", help: "Connections refused over the per-worker limit (503).",
            m.connectionsRefused.load(ordering: .relaxed))
        text.counter(
            "wharf_header_timeouts_total", help: "Requests that timed out before their head arrived (408).",
            m.headerTimeouts.load(ordering: .relaxed))
        text.counter(
            "wharf_tls_failures_total", help: "TLS sessions that failed (bad handshake or record).",
            m.tlsHandshakeFailures.load(ordering: .relaxed))
        text.counter(
            "wharf_tls_handshake_timeouts_total", help: "TLS clients closed for not finishing their handshake in time.",
            m.tlsHandshakeTimeouts.load(ordering: .relaxed))
        text.counter(
            "wharf_http2_connections_total", help: "Connections that spoke HTTP/2.",
            m.http2Connections.load(ordering: .relaxed))
        text.counter("wharf_http2_streams_total", help: "HTTP/2 requests answered.", m.http2Streams.load(ordering: .relaxed))
        text.counter(
            "wharf_http2_abuse_closures_total", help: "HTTP/2 connections closed with ENHANCE_YOUR_CALM (a budget ran out).",
            m.http2AbuseClosures.load(ordering: .relaxed))
        text.counter(
            "wharf_http2_protocol_errors_total", help: "HTTP/2 connections closed for a protocol error.",
            m.http2ProtocolErrors.load(ordering: .relaxed))
        edge.clientLimits.metrics(&text)
        edge.accessLog?.metrics(&text)
        text.gauge("wharf_edge_workers", help: "Event-loop threads serving requests.", Double(edge.workerCount))
        text.gauge("wharf_apps_served", help: "Apps with a current deployment.", Double(edge.catalog.snapshot.apps.count))
    }
}

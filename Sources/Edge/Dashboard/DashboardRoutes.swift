import ArtifactStore
import Foundation

/// The dashboard's routes on an admin server: the sign-in page at `/_wharf/`, sign-in and
/// sign-out, the pages under `/_wharf/ui/`, and their script and stylesheet. None of these needs
/// a bearer token (a browser cannot send one); each page checks the session cookie itself and
/// sends an unknown browser to the sign-in page. The data the pages show comes from the admin
/// API, which accepts the session cookie in place of the token (`DashboardGate`).
struct DashboardRoutes: Sendable {
    weak var server: AdminServer?

    func install(on routes: AdminRoutes) {
        do {
            try routes.add("GET", "/_wharf/", requiresToken: false) { [self] r in try serve { home(r, $0) } }
            try routes.add("POST", "/_wharf/session", requiresToken: false) { [self] r in try serve { signIn(r, $0) } }
            try routes.add("POST", "/_wharf/session/end", requiresToken: false) { [self] r in try serve { signOut(r, $0) } }
            try routes.add("GET", "/_wharf/ui/{page}", requiresToken: false) { [self] r in try serve { page(r, $0) } }
            try routes.add("GET", "/_wharf/ui/assets/{file}", requiresToken: false) { r in DashboardRoutes.asset(r) }
        } catch {
            preconditionFailure("dashboard routes are valid: \(error)")
        }
    }

    private func serve(_ body: (AdminServer) -> AdminResponse) throws -> AdminResponse {
        guard let server else { throw AdminError(503, "the admin server has stopped") }
        return body(server)
    }

    private func liveSession(_ request: AdminRequest, _ server: AdminServer) -> DashboardSessions.Session? {
        DashboardGate.sessionID(request.headers).flatMap { server.dashboard.sessions.session($0) }
    }

    /// `GET /_wharf/`: the sign-in page, or straight to the overview for a signed-in browser.
    private func home(_ request: AdminRequest, _ server: AdminServer) -> AdminResponse {
        if liveSession(request, server) != nil { return DashboardPages.redirect("/_wharf/ui/overview") }
        return DashboardPages.response(200, DashboardPages.signIn())
    }

    /// `POST /_wharf/session` with the form field `token`: a new session (a new id whatever the
    /// browser sent) in an HttpOnly, SameSite=Strict cookie, Secure when the listener is TLS.
    private func signIn(_ request: AdminRequest, _ server: AdminServer) -> AdminResponse {
        let sessions = server.dashboard.sessions
        // Login CSRF: another site must not sign a browser in (to a session of its choosing).
        if DashboardGate.isCrossSite(request, tls: server.usesTLS) {
            return DashboardPages.response(403, DashboardPages.signIn(error: "Cross-site sign-in refused."))
        }
        guard sessions.signInAllowed() else {
            return DashboardPages.response(
                429, DashboardPages.signIn(error: "Too many failed sign-ins; try again in a minute."),
                headers: [.init(name: "Retry-After", value: "60")])
        }
        guard let form = DashboardGate.form(request.body) else {
            return DashboardPages.response(400, DashboardPages.signIn(error: "The sign-in form could not be read."))
        }
        guard let token = form["token"], !token.isEmpty, token.utf8.count <= 1024,
            let role = server.dashboard.role(for: token, adminToken: server.token)
        else {
            sessions.recordFailure()
            return DashboardPages.response(401, DashboardPages.signIn(error: "That token is not valid."))
        }
        let session = sessions.create(role: role, replacing: DashboardGate.sessionID(request.headers))
        return DashboardPages.redirect("/_wharf/ui/overview", headers: [cookie(session.id, server.usesTLS)])
    }

    /// `POST /_wharf/session/end` with the form field `csrf`: ends the session, clears the cookie.
    private func signOut(_ request: AdminRequest, _ server: AdminServer) -> AdminResponse {
        let clear = cookie("", server.usesTLS, expire: true)
        guard let session = liveSession(request, server) else { return DashboardPages.redirect("/_wharf/", headers: [clear]) }
        if DashboardGate.isCrossSite(request, tls: server.usesTLS)
            || !DashboardGate.carriesCSRF(request, session: session, form: DashboardGate.form(request.body))
        {
            return AdminResponse.error(403, "missing or wrong CSRF token")
        }
        server.dashboard.sessions.end(session.id)
        return DashboardPages.redirect("/_wharf/", headers: [clear])
    }

    private func cookie(_ value: String, _ tls: Bool, expire: Bool = false) -> AdminRequest.Header {
        var text = "\(DashboardGate.cookieName)=\(value); Path=/_wharf/; HttpOnly; SameSite=Strict"
        if tls { text += "; Secure" }
        if expire { text += "; Max-Age=0" }
        return .init(name: "Set-Cookie", value: text)
    }

    /// `GET /_wharf/ui/{page}`: the page for a live session, else a redirect to the sign-in page.
    private func page(_ request: AdminRequest, _ server: AdminServer) -> AdminResponse {
        guard let session = liveSession(request, server) else { return DashboardPages.redirect("/_wharf/") }
        guard let html = DashboardPages.page(request.parameters["page"] ?? "", session: session) else {
            return DashboardPages.response(404, "<!doctype html><title>Not found</title><p>No such page.</p>")
        }
        return DashboardPages.response(200, html)
    }

    /// The script, stylesheet and icon: public (they hold no data and no secret), compiled into the binary.
    static func asset(_ request: AdminRequest) -> AdminResponse {
        switch request.parameters["file"] {
        case "dashboard.js":
            AdminResponse(
                status: 200, body: Array(DashboardScript.source.utf8), contentType: "text/javascript; charset=utf-8",
                headers: DashboardPages.securityHeaders)
        case "dashboard.css":
            AdminResponse(
                status: 200, body: Array(DashboardStyle.source.utf8), contentType: "text/css; charset=utf-8",
                headers: DashboardPages.securityHeaders)
        case "favicon.svg":
            AdminResponse(
                status: 200, body: Array(DashboardStyle.favicon.utf8), contentType: "image/svg+xml",
                headers: DashboardPages.securityHeaders)
        default:
            .error(404, "no such dashboard asset")
        }
    }
}

/// The dashboard's own JSON on the edge's admin server (token or session, as every `/_wharf/api/` route).
struct DashboardDataRoutes: Sendable {
    let edge: EdgeServer
    weak var server: AdminServer?

    /// Registers the data routes and starts the history sampler.
    func install(on server: AdminServer) {
        do {
            try server.routes.register("GET", "/_wharf/api/dashboard/history") { [self] _ in try history() }
            try server.routes.register("GET", "/_wharf/api/dashboard/apps") { [self] _ in try apps() }
            try server.routes.register("GET", "/_wharf/api/dashboard/apps/{app}") { [self] r in try appDetail(r) }
        } catch {
            preconditionFailure("dashboard data routes are valid: \(error)")
        }
        // Ends by itself once the admin server is gone, even one never started or shut down.
        server.dashboard.startSampling { [self] in self.server == nil ? nil : counters() }
    }

    private func counters() -> DashboardHistory.Counters {
        let status = (try? server?.statusJSON()).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        return DashboardHistory.Counters(edge: edge, status: status)
    }

    struct HistoryJSON: Encodable {
        var intervalSeconds: Double
        var capacity: Int
        var points: [DashboardHistory.Point]
    }

    /// `GET /_wharf/api/dashboard/history`: the last hour's points plus the live partial one.
    func history() throws -> AdminResponse {
        guard let server else { throw AdminError(503, "the admin server has stopped") }
        let points = server.dashboard.history.points(current: counters(), at: Date().timeIntervalSince1970)
        return AdminJSON.response(
            HistoryJSON(
                intervalSeconds: DashboardHistory.intervalSeconds,
                capacity: DashboardHistory.capacity, points: points))
    }

    /// `GET /_wharf/api/dashboard/apps/{app}`: one app's popularity, hot paths and cache warm state.
    func appDetail(_ request: AdminRequest) throws -> AdminResponse {
        guard let server else { throw AdminError(503, "the admin server has stopped") }
        return try DashboardAppDetail(edge: edge, popularity: server.dashboard.popularity, warmLog: server.dashboard.warmLog).respond(request)
    }

    struct AppJSON: Encodable {
        struct Deployment: Encodable {
            var id: String
            var version: String?
            var message: String?
            /// Milliseconds since the Unix epoch, as the store records it.
            var createdAtMs: Int64
            var files: Int
            var bytes: Int64
            var current: Bool
        }
        var app: String
        var current: String?
        var deployments: [Deployment]
    }

    /// `GET /_wharf/api/dashboard/apps`: every app with its retained deployments (newest first,
    /// at most 50 each), the current one marked.
    func apps() throws -> AdminResponse {
        var out: [AppJSON] = []
        for app in try edge.store.apps().sorted().prefix(1000) {
            let deployments = try edge.store.deployments(app: app).prefix(50).map {
                AppJSON.Deployment(
                    id: $0.id, version: $0.version, message: $0.message, createdAtMs: $0.createdAt,
                    files: $0.fileCount, bytes: $0.totalSize, current: $0.isCurrent)
            }
            out.append(AppJSON(app: app, current: deployments.first(where: \.current)?.id, deployments: Array(deployments)))
        }
        return AdminJSON.response(["apps": out])
    }
}

import ArtifactStore
import Deploy
import Edge

/// Puts the app registry and the upload API on the admin listener: adapts the admin server's
/// requests to `Deploy`'s plain ones, streams blob bodies into the store's upload area, reloads
/// the edge's catalog after a promote, and adds the `wharf_deploy_*` counters to the metrics.
struct DeployWiring {
    let registry: RegistryAPI
    let uploads: UploadAPI

    init(edge: EdgeServer, store: Store, limits: UploadLimits, notifications: NotificationWiring? = nil) throws {
        registry = RegistryAPI(store: store)
        let configuration = edge.configuration
        uploads = try UploadAPI(
            store: store, limits: limits,
            urls: { [edge] app in DeployWiring.urls(app, configuration: configuration, port: edge.port, tlsPort: edge.tlsPort) },
            onPublished: { [edge] _ in _ = try? edge.catalog.refresh() },
            onFinalized: { app, deployment, promoted, urls in
                notifications?.uploadFinalized(app: app, deployment: deployment, promoted: promoted, urls: urls)
            })
    }

    /// Where an app is served: its registered host names (on the edge's ports) and the
    /// `/apps/<app>/` prefix on the listeners.
    static func urls(_ app: RegisteredApp, configuration: EdgeConfiguration, port: Int, tlsPort: Int) -> [String] {
        var out: [String] = []
        let hasTLS = configuration.tls != nil && tlsPort > 0
        for host in app.hostnames {
            if hasTLS { out.append("https://\(host)\(tlsPort == 443 ? "" : ":\(tlsPort)")/") }
            out.append("http://\(host)\(port == 80 ? "" : ":\(port)")/")
        }
        if let domain = configuration.domain { out.append("http://\(app.name).\(domain):\(port)/") }
        let host = configuration.listenHost.contains(":") ? "[\(configuration.listenHost)]" : configuration.listenHost
        if hasTLS { out.append("https://localhost:\(tlsPort)/apps/\(app.name)/") }
        out.append("http://\(host):\(port)/apps/\(app.name)/")
        return out
    }

    func register(on admin: AdminServer) throws {
        let routes = admin.routes
        let r = registry
        try routes.register("GET", "/_wharf/api/registry") { DeployWiring.reply(r.list(DeployWiring.adapt($0))) }
        try routes.register("POST", "/_wharf/api/registry") { DeployWiring.reply(r.add(DeployWiring.adapt($0))) }
        try routes.register("GET", "/_wharf/api/registry/{app}", access: .delegated) { DeployWiring.reply(r.show(DeployWiring.adapt($0))) }
        try routes.register("PATCH", "/_wharf/api/registry/{app}") { DeployWiring.reply(r.set(DeployWiring.adapt($0))) }
        try routes.register("DELETE", "/_wharf/api/registry/{app}") { DeployWiring.reply(r.remove(DeployWiring.adapt($0))) }
        try routes.register("GET", "/_wharf/api/registry/{app}/tokens") { DeployWiring.reply(r.tokens(DeployWiring.adapt($0))) }
        try routes.register("POST", "/_wharf/api/registry/{app}/tokens") { DeployWiring.reply(r.createToken(DeployWiring.adapt($0))) }
        try routes.register("POST", "/_wharf/api/registry/{app}/tokens/{id}/rotate") { DeployWiring.reply(r.rotateToken(DeployWiring.adapt($0))) }
        try routes.register("DELETE", "/_wharf/api/registry/{app}/tokens/{id}") { DeployWiring.reply(r.revokeToken(DeployWiring.adapt($0))) }

        let u = uploads
        let upload = AdminUploadTarget(directory: u.area.incoming, maxBytes: Int(u.limits.maxFileBytes))
        try routes.register("POST", "/_wharf/api/apps/{app}/deploys", access: .delegated) { DeployWiring.reply(u.open(DeployWiring.adapt($0))) }
        try routes.register("GET", "/_wharf/api/apps/{app}/deploys/{id}", access: .delegated) { DeployWiring.reply(u.status(DeployWiring.adapt($0))) }
        try routes.register("PUT", "/_wharf/api/apps/{app}/deploys/{id}/blobs/{hash}", access: .delegated, upload: upload) {
            DeployWiring.reply(u.putBlob(DeployWiring.adapt($0)))
        }
        try routes.register("POST", "/_wharf/api/apps/{app}/deploys/{id}/finalize", access: .delegated) {
            DeployWiring.reply(u.finalize(DeployWiring.adapt($0)))
        }
        try routes.register("POST", "/_wharf/api/apps/{app}/deploys/{id}/promote", access: .delegated) {
            DeployWiring.reply(u.promote(DeployWiring.adapt($0)))
        }
        // Archives (tar, tar.gz, tar.zst) in one request, for simple clients: POST or PUT.
        let archive = AdminUploadTarget(directory: u.area.incoming, maxBytes: Int(min(u.limits.maxBytes, 512 << 20)))
        for method in ["POST", "PUT"] {
            try routes.register(method, "/_wharf/api/apps/{app}/archives", access: .delegated, upload: archive) {
                DeployWiring.reply(u.archive(DeployWiring.adapt($0)))
            }
        }

        let metrics = u.metrics
        admin.addMetrics { text in
            for counter in metrics.counters { text.counter(counter.name, help: counter.help, counter.value) }
        }
    }

    static func adapt(_ request: AdminRequest) -> DeployRequest {
        var headers: [String: String] = [:]
        for header in request.headers { headers[header.name.lowercased()] = header.value }
        var out = DeployRequest(
            method: request.method, parameters: request.parameters, headers: headers, body: request.body,
            upload: request.upload.map { (path: $0.path, size: $0.size, sha256: $0.sha256) },
            credential: request.credential, isAdmin: request.isAdmin)
        out.query = request.queryItems
        return out
    }

    static func reply(_ response: DeployResponse) -> AdminResponse {
        var out = AdminResponse(status: response.status, body: response.body)
        if response.status == 401 { out.headers = [.init(name: "WWW-Authenticate", value: #"Bearer realm="wharf-admin", error="invalid_token""#)] }
        return out
    }
}

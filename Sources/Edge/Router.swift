/// Decides which app a request is for, from its Host and its path, and what path inside the app
/// it asks for. Pure: the edge hands it the decoded path and the Host value.
///
/// Order: an explicit host → app entry (configured, then registered in the app registry); then `<app>.<domain>` for the configured domain; then the
/// path prefix `/apps/<app>/…`; then the default app (configured, or the only app in the store).
public struct Router: Sendable {
    /// Where a request goes: the app and the path inside that app's deployment (always starts with "/").
    public struct Route: Sendable, Equatable {
        public var app: String
        public var path: String
        /// The prefix the app is mounted under ("" for host routes and the default app, "/apps/x" for prefixes).
        public var mount: String
    }

    public var domain: String?
    public var hosts: [String: String]
    public var defaultApp: String?
    public var pathPrefix: String

    public init(domain: String? = nil, hosts: [String: String] = [:], defaultApp: String? = nil, pathPrefix: String = "/apps/") {
        self.domain = domain.map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        self.hosts = Dictionary(uniqueKeysWithValues: hosts.map { ($0.key.lowercased(), $0.value) })
        self.defaultApp = defaultApp.flatMap { $0.isEmpty ? nil : $0 }
        self.pathPrefix = pathPrefix
    }

    /// Routes a request. `host` is the Host header value (may carry a port), `path` the normalized
    /// absolute path; `knownApps` says which apps exist (the default app falls back to the only one).
    public func route(host: String?, path: String, knownApps: KnownApps) -> Route? {
        if let host {
            let name = Router.hostName(host)
            if let app = hosts[name] ?? knownApps.hostnames[name], knownApps.contains(app) {
                return Route(app: app, path: path, mount: "")
            }
            if let domain, name.hasSuffix("." + domain) {
                let app = String(name.dropLast(domain.count + 1))
                if !app.contains("."), knownApps.contains(app) {
                    return Route(app: app, path: path, mount: "")
                }
            }
        }
        if path.hasPrefix(pathPrefix) {
            let rest = path.dropFirst(pathPrefix.count)
            let app = rest.prefix { $0 != "/" }
            if !app.isEmpty, knownApps.contains(String(app)) {
                let inner = rest.dropFirst(app.count)
                return Route(
                    app: String(app), path: inner.isEmpty ? "/" : String(inner),
                    mount: pathPrefix + app)
            }
        }
        if let app = defaultApp ?? (knownApps.count == 1 ? knownApps.first : nil), knownApps.contains(app) {
            return Route(app: app, path: path, mount: "")
        }
        return nil
    }

    /// The host name of a Host value: lower-cased, port and trailing dot removed (IPv6 literals kept).
    static func hostName(_ host: String) -> String {
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            if let close = name.firstIndex(of: "]") { name = name[...close] }
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        return String(name)
    }
}

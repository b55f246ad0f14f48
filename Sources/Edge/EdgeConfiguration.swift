import HTTP2

/// Everything the edge server reads from configuration, with the defaults DESIGN.md names.
/// Filled by the CLI from wharf.yaml and `WHARF_…` variables; validated before anything starts.
public struct EdgeConfiguration: Sendable, Equatable {
    /// Public listener.
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    /// Admin API listener (its own socket; bearer token).
    public var adminHost = "127.0.0.1"
    public var adminPort = 8081
    /// Event-loop threads; 0 means one per core.
    public var workers = 0
    /// Byte budget of the response cache (header + body bytes held).
    public var cacheBytes = 256 << 20
    /// Bodies larger than this are not cached in memory but sent from the blob file.
    public var sendfileThresholdBytes = 1 << 20
    /// Send `103 Early Hints` ahead of HTML entry points that have preload hints.
    public var earlyHints = true
    /// `<app>.<domain>` routing; nil disables it.
    public var domain: String?
    /// Explicit Host → app entries.
    public var hosts: [String: String] = [:]
    /// The app serving paths no other route claims; nil means "the only app, if there is one".
    public var defaultApp: String?
    /// Request parsing limits.
    public var maxRequestLineBytes = 8 * 1024
    public var maxHeaderBytes = 64 * 1024
    public var maxHeaderCount = 100
    /// Connection limits and timeouts (milliseconds).
    public var maxConnectionsPerWorker = 20_000
    public var headerTimeoutMs = 10_000
    public var idleTimeoutMs = 60_000
    public var sendTimeoutMs = 60_000
    /// How long SIGINT/SIGTERM waits for in-flight responses.
    public var drainTimeoutMs = 5_000
    /// Stop reading from a connection while more than this many bytes wait to be sent.
    public var writeHighWaterBytes = 1 << 20
    /// How often the edge checks the store for alias changes (milliseconds).
    public var aliasPollMs = 250
    /// Serve the admin API over TLS with the edge's certificates (`edge.tls` must be on). Required
    /// when the admin listener is not on loopback: the bearer token must not cross a network in clear.
    public var adminTLS = false
    /// The HTTPS listener; nil when TLS is off.
    public var tls: EdgeTLSConfiguration?
    /// HTTP/2: offered by ALPN on the TLS listener, and as cleartext h2c with prior knowledge.
    public var http2 = EdgeHTTP2Configuration()
    /// Per-client request rate and connection limits (`edge.rate_limit.*`).
    public var clientLimits = ClientLimitsConfiguration()
    /// The access log (`edge.access_log.*`); off by default.
    public var accessLog = AccessLogConfiguration()

    public init() {}

    /// 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Every problem in the configuration, as (key, reason) pairs; empty when valid.
    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        func port(_ key: String, _ value: Int) {
            if !(0...65535).contains(value) { found.append((key, "port \(value) is outside 0…65535")) }
        }
        port("edge.listen", listenPort)
        port("edge.admin_listen", adminPort)
        if listenPort != 0 && listenPort == adminPort && listenHost == adminHost {
            found.append(("edge.admin_listen", "must differ from edge.listen"))
        }
        if workers < 0 || workers > 256 { found.append(("edge.workers", "must be 0 (one per core) to 256")) }
        if cacheBytes < 0 { found.append(("edge.cache_bytes", "must not be negative")) }
        if sendfileThresholdBytes < 1 { found.append(("edge.sendfile_threshold", "must be at least 1 byte")) }
        if maxRequestLineBytes < 64 { found.append(("edge.limits.request_line_bytes", "must be at least 64")) }
        if maxHeaderBytes < 256 { found.append(("edge.limits.header_bytes", "must be at least 256")) }
        if maxHeaderCount < 1 { found.append(("edge.limits.header_count", "must be at least 1")) }
        if maxConnectionsPerWorker < 1 { found.append(("edge.limits.max_connections_per_worker", "must be at least 1")) }
        for (key, value) in [
            ("edge.timeouts.header_ms", headerTimeoutMs), ("edge.timeouts.idle_ms", idleTimeoutMs),
            ("edge.timeouts.send_ms", sendTimeoutMs), ("edge.drain_timeout_ms", drainTimeoutMs),
            ("edge.alias_poll_ms", aliasPollMs),
        ] where value < 1 {
            found.append((key, "must be at least 1 ms"))
        }
        if let tls {
            found += tls.problems(plainHost: listenHost, plainPort: listenPort)
            if tls.listenPort != 0 && tls.listenPort == adminPort && tls.listenHost == adminHost {
                found.append(("edge.tls.listen", "must differ from edge.admin_listen"))
            }
        }
        found += http2.settings.problems().map { ("edge.h2.\($0.key)", $0.reason) }
        if adminTLS && tls == nil {
            found.append(("edge.admin_tls", "needs edge.tls (the admin listener uses the edge's certificates)"))
        }
        if !adminTLS && !EdgeConfiguration.isLoopback(adminHost) {
            found.append(
                ("edge.admin_listen", "\(adminHost) is not loopback: set edge.admin_tls: true (the admin token must not cross a network in clear)"))
        }
        found += clientLimits.problems()
        found += accessLog.problems()
        if let domain, domain.contains("/") || domain.contains(" ") { found.append(("edge.domain", "is not a host name")) }
        return found
    }
}

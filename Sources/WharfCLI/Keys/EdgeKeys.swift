/// The edge's own keys (`store`, `edge.*` listeners, routing, limits, timeouts, rate limits and the
/// access log); TLS, HTTP/2 and the tier have sections of their own. Defaults are those of
/// `EdgeConfiguration`, `ClientLimitsConfiguration` and `AccessLogConfiguration` (a test checks).
enum EdgeKeys {
    static let store = SettingKey<String>("store", ".wharf", .any, "store directory (--store, $WHARF_STORE)")
    static let listen = SettingKey<String>("edge.listen", "127.0.0.1:8080", .any, "public listener HOST:PORT (--listen)")
    static let adminListen = SettingKey<String>("edge.admin_listen", "127.0.0.1:8081", .any, "admin API listener HOST:PORT (--admin-listen)")
    static let adminTLS = SettingKey<Bool>("edge.admin_tls", false, .any, "admin API over TLS with the edge's certificates; required off loopback")
    static let workers = SettingKey<Int>("edge.workers", 0, .within(0, 256), "event-loop threads; 0 = one per core (--workers)")
    static let cacheBytes = SettingKey<Int>("edge.cache_bytes", 256 << 20, .atLeast(0), "response cache budget in bytes (--cache-bytes)")
    static let sendfileThreshold = SettingKey<Int>(
        "edge.sendfile_threshold", 1 << 20, .atLeast(1),
        "larger bodies are sent from the blob file, not cached (capped at edge.cache_bytes/16, at least 64 KiB)")
    static let earlyHints = SettingKey<Bool>("edge.early_hints", true, .any, "103 Early Hints before HTML entry points with preload hints")
    static let domain = SettingKey<String>("edge.domain", "", .any, "serve `<app>.<domain>` by Host; empty disables")
    static let hosts = SettingKey<[String]>("edge.hosts", [], .any, "explicit `host=app` entries")
    static let defaultApp = SettingKey<String>("edge.default_app", "", .any, "app for unclaimed paths; empty = the only app, if one")
    static let aliasPollMs = SettingKey<Int>("edge.alias_poll_ms", 250, .atLeast(1), "how often alias changes from other processes are picked up")
    static let drainTimeoutMs = SettingKey<Int>("edge.drain_timeout_ms", 5000, .atLeast(1), "SIGINT/SIGTERM: time given to in-flight responses")
    static let writeHighWater = SettingKey<Int>(
        "edge.write_high_water", 1 << 20, .any, "stop reading a connection while this many bytes wait to be sent")
    static let requestLineBytes = SettingKey<Int>("edge.limits.request_line_bytes", 8192, .atLeast(64), "longer request line → 414")
    static let headerBytes = SettingKey<Int>("edge.limits.header_bytes", 65536, .atLeast(256), "larger header section → 431")
    static let headerCount = SettingKey<Int>("edge.limits.header_count", 100, .atLeast(1), "more header fields → 431")
    static let maxConnectionsPerWorker = SettingKey<Int>("edge.limits.max_connections_per_worker", 20000, .atLeast(1), "over → 503 and close")
    static let headerTimeoutMs = SettingKey<Int>("edge.timeouts.header_ms", 10000, .atLeast(1), "a request head must arrive within this → 408")
    static let idleTimeoutMs = SettingKey<Int>(
        "edge.timeouts.idle_ms", 60000, .atLeast(1),
        "keep-alive idle connections are closed after this (timeouts are checked in slices: up to 2/5 of the shortest late)")
    static let sendTimeoutMs = SettingKey<Int>("edge.timeouts.send_ms", 60000, .atLeast(1), "a client that reads nothing for this long is dropped")

    static let maxConnectionsPerAddress = SettingKey<Int>(
        "edge.limits.max_connections_per_address", 16384, .atLeast(0),
        "open connections per client address, all loops; over → 429 and close; 0 = no cap")
    static let rateLimitEnabled = SettingKey<Bool>(
        "edge.rate_limit.enabled", false, .any, "per-client request rate limiting (README \"Rate limits\")")
    static let rate = SettingKey<Double>(
        "edge.rate_limit.rate", 20, .above(0, atMost: 1_000_000), "requests per second per client address (the default bucket)")
    static let burst = SettingKey<Int>("edge.rate_limit.burst", 40, .within(1, 1_000_000), "requests a client may make at once")
    static let rules = SettingKey<[String]>("edge.rate_limit.rules", [], .any, "`APP[/PREFIX]=RATE/BURST` buckets of their own")
    static let exempt = SettingKey<[String]>("edge.rate_limit.exempt", [], .any, "addresses or CIDR ranges never limited")
    static let trustedProxies = SettingKey<[String]>(
        "edge.rate_limit.trusted_proxies", [], .any, "peers whose Forwarded / X-Forwarded-For name the client")
    static let tableEntries = SettingKey<Int>("edge.rate_limit.table_entries", 65536, .within(1024, 16_777_216), "buckets kept (8 bytes each)")
    static let adminRate = SettingKey<Double>(
        "edge.rate_limit.admin_rate", 0, .within(0, 1_000_000), "the admin API's requests per second per address; 0 = unlimited")
    static let adminBurst = SettingKey<Int>("edge.rate_limit.admin_burst", 100, .within(1, 1_000_000), "the admin API's burst")

    static let accessLogPath = SettingKey<String>("edge.access_log.path", "", .any, "access log file; empty = off; SIGUSR1 reopens it")
    static let accessLogFormat = SettingKey<String>("edge.access_log.format", "combined", .oneOf(["combined", "json"]), "line format")
    static let accessLogBufferBytes = SettingKey<Int>(
        "edge.access_log.buffer_bytes", 1 << 20, .within(4096, Double(1 << 30)),
        "lines waiting per loop before they are dropped (counted)")
    static let accessLogFlushMs = SettingKey<Int>("edge.access_log.flush_ms", 500, .within(10, 60_000), "how often the writer writes")

    static let keys: [KeyDescriptor] = [
        store.descriptor, listen.descriptor, adminListen.descriptor, adminTLS.descriptor, workers.descriptor, cacheBytes.descriptor,
        sendfileThreshold.descriptor, earlyHints.descriptor, domain.descriptor, hosts.descriptor, defaultApp.descriptor,
        aliasPollMs.descriptor, drainTimeoutMs.descriptor, writeHighWater.descriptor, requestLineBytes.descriptor,
        headerBytes.descriptor, headerCount.descriptor, maxConnectionsPerWorker.descriptor, maxConnectionsPerAddress.descriptor,
        headerTimeoutMs.descriptor, idleTimeoutMs.descriptor, sendTimeoutMs.descriptor,
        rateLimitEnabled.descriptor, rate.descriptor, burst.descriptor, rules.descriptor, exempt.descriptor, trustedProxies.descriptor,
        tableEntries.descriptor, adminRate.descriptor, adminBurst.descriptor,
        accessLogPath.descriptor, accessLogFormat.descriptor, accessLogBufferBytes.descriptor, accessLogFlushMs.descriptor,
    ]
}

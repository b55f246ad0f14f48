import Configuration
import Deploy
import Edge
import Foundation
import HTTP2
import Scheduler
import SystemPackage
import TLS

/// Reads wharf.yaml (optional) and `WHARF_…` environment variables into typed configurations.
/// Precedence: flags (applied by the commands) > environment > file > built-in defaults.
/// Every value that is present but wrong is reported with its key and the reason.
struct ConfigurationLoader {
    struct Problem: Error, CustomStringConvertible {
        var key: String
        var reason: String
        var description: String { "\(key): \(reason)" }
    }

    /// The resolved settings of one run.
    struct Settings {
        var store: String = ".wharf"
        var edge = EdgeConfiguration()
        var scheduler = SchedulerConfiguration()
        var warm = WarmSettings()
        var monitor = MonitorSettings()
        var deploy = UploadLimits()
        var tier = TierSettings()
    }

    let reader: ConfigReader
    private(set) var problems: [Problem] = []
    /// Every key asked of the providers while resolving: the keys Wharf knows.
    var asked = ConfigKeyRecorder.KeySet()
    /// The leaf keys the configuration file sets (empty without a file).
    var fileKeys: [String] = []

    /// Builds the reader: environment variables named WHARF_<KEY> (dots → underscores), then the file.
    static func load(configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> ConfigurationLoader {
        var stripped: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("WHARF_") {
            stripped[String(name.dropFirst("WHARF_".count))] = value
        }
        let asked = ConfigKeyRecorder.KeySet()
        var providers: [any ConfigProvider] = [
            ConfigKeyRecorder(inner: EnvironmentVariablesProvider(environmentVariables: stripped), asked: asked)
        ]
        var fileKeys: [String] = []
        if let configFile {
            guard FileManager.default.fileExists(atPath: configFile) else {
                throw Problem(key: "--config", reason: "no such file: \(configFile)")
            }
            do {
                providers.append(ConfigKeyRecorder(inner: try await FileProvider<YAMLSnapshot>(filePath: FilePath(configFile)), asked: asked))
                fileKeys = try UnknownConfigKeys.leafKeys(ofYAML: String(contentsOfFile: configFile, encoding: .utf8))
            } catch {
                throw Problem(key: "--config", reason: "cannot read \(configFile) as YAML: \(error)")
            }
        }
        var loader = ConfigurationLoader(reader: ConfigReader(providers: providers), asked: asked)
        loader.fileKeys = fileKeys
        return loader
    }

    /// Resolves every key into Settings, collecting problems instead of stopping at the first.
    mutating func settings() -> Settings {
        var s = Settings()
        s.store = string("store") ?? s.store
        var e = s.edge
        if let v = string("edge.listen") { (e.listenHost, e.listenPort) = address("edge.listen", v) ?? (e.listenHost, e.listenPort) }
        if let v = string("edge.admin_listen") { (e.adminHost, e.adminPort) = address("edge.admin_listen", v) ?? (e.adminHost, e.adminPort) }
        e.workers = int("edge.workers") ?? e.workers
        e.cacheBytes = int("edge.cache_bytes") ?? e.cacheBytes
        e.sendfileThresholdBytes = int("edge.sendfile_threshold") ?? e.sendfileThresholdBytes
        e.earlyHints = bool("edge.early_hints") ?? e.earlyHints
        if let d = string("edge.domain") { e.domain = d.isEmpty ? nil : d }
        if let d = string("edge.default_app") { e.defaultApp = d.isEmpty ? nil : d }
        if let list = stringArray("edge.hosts") {
            for item in list {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
                    e.hosts[parts[0].lowercased()] = parts[1]
                } else {
                    problems.append(Problem(key: "edge.hosts", reason: "entry '\(item)' is not host=app"))
                }
            }
        }
        e.aliasPollMs = int("edge.alias_poll_ms") ?? e.aliasPollMs
        e.drainTimeoutMs = int("edge.drain_timeout_ms") ?? e.drainTimeoutMs
        e.writeHighWaterBytes = int("edge.write_high_water") ?? e.writeHighWaterBytes
        e.maxRequestLineBytes = int("edge.limits.request_line_bytes") ?? e.maxRequestLineBytes
        e.maxHeaderBytes = int("edge.limits.header_bytes") ?? e.maxHeaderBytes
        e.maxHeaderCount = int("edge.limits.header_count") ?? e.maxHeaderCount
        e.maxConnectionsPerWorker = int("edge.limits.max_connections_per_worker") ?? e.maxConnectionsPerWorker
        e.headerTimeoutMs = int("edge.timeouts.header_ms") ?? e.headerTimeoutMs
        e.idleTimeoutMs = int("edge.timeouts.idle_ms") ?? e.idleTimeoutMs
        e.sendTimeoutMs = int("edge.timeouts.send_ms") ?? e.sendTimeoutMs
        e.tls = tlsSettings()
        e.http2 = http2Settings()
        e.adminTLS = bool("edge.admin_tls") ?? e.adminTLS
        e.clientLimits = clientLimitSettings()
        e.accessLog = accessLogSettings()
        s.edge = e
        s.scheduler = schedulerSettings()
        let (warm, warmProblems) = WarmSettings.read(self)
        let (monitor, monitorProblems) = MonitorSettings.read(self, scheduler: s.scheduler)
        (s.warm, s.monitor) = (warm, monitor)
        problems += warmProblems + monitorProblems
        let (deploy, deployProblems) = DeploySettings.read(self)
        s.deploy = deploy
        problems += deployProblems
        let (tier, tierProblems) = TierSettings.read(self)
        s.tier = tier
        problems += tierProblems
        // Every key has been asked for by now. Unknown ones are reported only when nothing else is
        // wrong: a reader that stopped at a bad value has not asked for the keys after it.
        if problems.isEmpty {
            for p in UnknownConfigKeys.problems(fileKeys: fileKeys, known: asked.all) {
                problems.append(Problem(key: p.key, reason: p.reason))
            }
        }
        return s
    }

    /// The `edge.tls.*` keys: TLS is on when `edge.tls.enabled` is true, or when a listener or a
    /// certificate is given (and `enabled` is not false).
    private mutating func tlsSettings() -> EdgeTLSConfiguration? {
        let enabled = bool("edge.tls.enabled")
        let listen = string("edge.tls.listen")
        let certificates = stringArray("edge.tls.certificates") ?? []
        var t = EdgeTLSConfiguration()
        if let listen { (t.listenHost, t.listenPort) = address("edge.tls.listen", listen) ?? (t.listenHost, t.listenPort) }
        for item in certificates {
            let parts = item.split(separator: "=", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
            if (2...3).contains(parts.count), !parts.contains(where: \.isEmpty) {
                t.certificates.append(TLSCertificateFiles(certificateChainPath: parts[0], privateKeyPath: parts[1],
                                                          ocspResponsePath: parts.count == 3 ? parts[2] : nil))
            } else {
                problems.append(Problem(key: "edge.tls.certificates", reason: "entry '\(item)' is not CHAIN.pem=KEY.pem[=OCSP.der]"))
            }
        }
        t.handshakeTimeoutMs = int("edge.tls.handshake_timeout_ms") ?? t.handshakeTimeoutMs
        t.ticketKeyRotationSeconds = int("edge.tls.ticket_key_rotation_s") ?? t.ticketKeyRotationSeconds
        t.strictServerNames = bool("edge.tls.strict_sni") ?? t.strictServerNames
        t.redirectApps = Set(stringArray("edge.tls.redirect") ?? [])
        t.hstsApps = Set(stringArray("edge.tls.hsts") ?? [])
        t.hstsMaxAgeSeconds = int("edge.tls.hsts_max_age") ?? t.hstsMaxAgeSeconds
        // Decided after every key is read, so each is known whether TLS is on or off.
        guard enabled ?? (listen != nil || !certificates.isEmpty) else { return nil }
        return t
    }

    /// The `edge.h2.*` keys: HTTP/2 on the TLS listener (ALPN `h2`), cleartext h2c, and its limits.
    private mutating func http2Settings() -> EdgeHTTP2Configuration {
        var h = EdgeHTTP2Configuration()
        h.enabled = bool("edge.h2.enabled") ?? h.enabled
        h.cleartext = bool("edge.h2.cleartext") ?? h.cleartext
        var l = h.settings
        l.maxConcurrentStreams = int("edge.h2.max_concurrent_streams") ?? l.maxConcurrentStreams
        l.initialWindowBytes = int("edge.h2.initial_window_bytes") ?? l.initialWindowBytes
        l.maxHeaderListBytes = int("edge.h2.max_header_list_bytes") ?? l.maxHeaderListBytes
        l.maxContinuations = int("edge.h2.max_continuations") ?? l.maxContinuations
        l.resetBurst = int("edge.h2.reset_burst") ?? l.resetBurst
        l.resetRatePerSecond = int("edge.h2.reset_rate") ?? l.resetRatePerSecond
        l.controlFrameBurst = int("edge.h2.control_frame_burst") ?? l.controlFrameBurst
        l.controlFrameRatePerSecond = int("edge.h2.control_frame_rate") ?? l.controlFrameRatePerSecond
        l.headerOverflowBudget = int("edge.h2.header_overflow_budget") ?? l.headerOverflowBudget
        h.settings = l
        return h
    }

    /// The `edge.rate_limit.*` keys and `edge.limits.max_connections_per_address`.
    private mutating func clientLimitSettings() -> ClientLimitsConfiguration {
        var c = ClientLimitsConfiguration()
        c.enabled = bool("edge.rate_limit.enabled") ?? c.enabled
        c.rate = double("edge.rate_limit.rate") ?? c.rate
        c.burst = int("edge.rate_limit.burst") ?? c.burst
        c.tableEntries = int("edge.rate_limit.table_entries") ?? c.tableEntries
        c.adminRate = double("edge.rate_limit.admin_rate") ?? c.adminRate
        c.adminBurst = int("edge.rate_limit.admin_burst") ?? c.adminBurst
        c.maxConnectionsPerAddress = int("edge.limits.max_connections_per_address") ?? c.maxConnectionsPerAddress
        for item in stringArray("edge.rate_limit.rules") ?? [] {
            if let rule = ClientLimitsConfiguration.Rule(item) { c.rules.append(rule) }
            else { problems.append(Problem(key: "edge.rate_limit.rules", reason: "entry '\(item)' is not APP[/PREFIX]=RATE/BURST")) }
        }
        for (key, path) in [("edge.rate_limit.exempt", \ClientLimitsConfiguration.exempt),
                            ("edge.rate_limit.trusted_proxies", \ClientLimitsConfiguration.trustedProxies)] {
            for item in stringArray(key) ?? [] {
                if let range = AddressRange(item.trimmingCharacters(in: .whitespaces)) { c[keyPath: path].append(range) }
                else { problems.append(Problem(key: key, reason: "entry '\(item)' is not an IP address or CIDR range")) }
            }
        }
        return c
    }

    /// The `edge.access_log.*` keys.
    private mutating func accessLogSettings() -> AccessLogConfiguration {
        var a = AccessLogConfiguration()
        a.path = string("edge.access_log.path") ?? a.path
        if let f = string("edge.access_log.format") {
            if let format = AccessLogConfiguration.Format(rawValue: f) { a.format = format }
            else { problems.append(Problem(key: "edge.access_log.format", reason: "'\(f)' is not combined or json")) }
        }
        a.bufferBytes = int("edge.access_log.buffer_bytes") ?? a.bufferBytes
        a.flushMs = int("edge.access_log.flush_ms") ?? a.flushMs
        return a
    }

    /// The `scheduler.*` keys (see edge-config/wharf.yaml).
    private mutating func schedulerSettings() -> SchedulerConfiguration {
        var c = SchedulerConfiguration()
        c.database = string("scheduler.database") ?? c.database
        c.minSlots = int("scheduler.min_slots") ?? c.minSlots
        c.maxSlots = int("scheduler.max_slots") ?? c.maxSlots
        c.tickMs = int("scheduler.tick_ms") ?? c.tickMs
        c.retryLimit = int("scheduler.retry_limit") ?? c.retryLimit
        c.retryBaseSeconds = double("scheduler.retry_base_s") ?? c.retryBaseSeconds
        c.leaseSeconds = double("scheduler.lease_s") ?? c.leaseSeconds
        c.rescueIntervalSeconds = double("scheduler.rescue_interval_s") ?? min(c.rescueIntervalSeconds, c.leaseSeconds / 2)
        c.timeoutSeconds = double("scheduler.timeout_s") ?? c.timeoutSeconds
        c.warningSeconds = double("scheduler.warning_s") ?? c.warningSeconds
        c.killGraceSeconds = double("scheduler.kill_grace_s") ?? c.killGraceSeconds
        c.shutdownGraceSeconds = double("scheduler.shutdown_grace_s") ?? c.shutdownGraceSeconds
        c.logCapBytes = int("scheduler.log_cap_bytes") ?? c.logCapBytes
        c.toolchain = string("scheduler.toolchain") ?? c.toolchain
        c.defaultCommand = string("scheduler.default_cmd") ?? c.defaultCommand
        c.output = string("scheduler.output") ?? c.output
        var w = c.weights
        w.agePerHour = double("scheduler.weights.age_per_hour") ?? w.agePerHour
        w.kind = double("scheduler.weights.kind") ?? w.kind
        w.hint = double("scheduler.weights.hint") ?? w.hint
        w.popularity = double("scheduler.weights.popularity") ?? w.popularity
        w.cost = double("scheduler.weights.cost") ?? w.cost
        w.fairShare = double("scheduler.weights.fair_share") ?? w.fairShare
        w.attempts = double("scheduler.weights.attempts") ?? w.attempts
        c.weights = w
        c.policy = string("scheduler.policy") ?? c.policy
        var a = c.autoscale
        a.burstIdleTimeout = double("scheduler.autoscale.burst_idle_s") ?? a.burstIdleTimeout
        a.coreIdleTimeout = double("scheduler.autoscale.core_idle_s") ?? a.coreIdleTimeout
        a.quietPeriod = double("scheduler.autoscale.quiet_s") ?? a.quietPeriod
        a.coreFactor = double("scheduler.autoscale.core_factor") ?? a.coreFactor
        a.coreTimeConstant = double("scheduler.autoscale.core_time_constant_s") ?? a.coreTimeConstant
        a.padFactor = double("scheduler.autoscale.pad_factor") ?? a.padFactor
        a.soonFreeShare = double("scheduler.autoscale.soon_free_share") ?? a.soonFreeShare
        if let share = double("scheduler.autoscale.warm_share") {
            // WarmShareCap clamps to 0...1; an out-of-range value is reported instead of clamped.
            if share.isFinite, share > 0, share <= 1 {
                a.warmCap = WarmShareCap(share: share)
            } else {
                problems.append(Problem(key: "scheduler.autoscale.warm_share", reason: "must be > 0 and at most 1 (got \(share))"))
            }
        }
        if let hours = double("scheduler.autoscale.warm_deadline_h") { a.warmDeadline = hours * 3600 }
        a.warmMargin = double("scheduler.autoscale.warm_margin_s") ?? a.warmMargin
        c.autoscale = a
        c.warmWindow = double("scheduler.placement.warm_window") ?? c.warmWindow
        c.retentionDays = double("scheduler.retention_days") ?? c.retentionDays
        c.sandbox = sandboxSettings(timeout: c.timeoutSeconds, warning: c.warningSeconds)
        return c
    }

    /// The `scheduler.sandbox.*`, `scheduler.build.*` and `scheduler.limits.*` keys.
    private mutating func sandboxSettings(timeout: Double, warning: Double) -> SandboxSettings {
        var x = SandboxSettings()
        x.mode = string("scheduler.sandbox.mode") ?? x.mode
        x.user = string("scheduler.sandbox.user") ?? x.user
        x.root = string("scheduler.sandbox.root") ?? x.root
        x.readOnlyPaths = stringArray("scheduler.sandbox.read_only_paths") ?? x.readOnlyPaths
        x.keepFailedSeconds = double("scheduler.sandbox.keep_failed_s") ?? x.keepFailedSeconds
        x.cgroups = bool("scheduler.sandbox.cgroups") ?? x.cgroups
        x.dependencyCacheBytes = int("scheduler.sandbox.deps_cache_bytes") ?? x.dependencyCacheBytes
        x.watchIntervalSeconds = double("scheduler.sandbox.watch_interval_s") ?? x.watchIntervalSeconds
        x.environment.path = string("scheduler.build.path") ?? x.environment.path
        x.environment.inherit = stringArray("scheduler.build.inherit_env") ?? x.environment.inherit
        x.environment.variables = assignments("scheduler.build.env") ?? x.environment.variables
        x.environment.secrets = assignments("scheduler.build.secrets") ?? x.environment.secrets
        var defaults = BuildLimits.seedDefaults
        defaults.timeout = timeout
        defaults.warningAfter = warning > 0 && warning < timeout ? warning : nil
        x.limits.defaults = limitOverrides("scheduler.limits").applied(to: defaults)
        for type in BuildTypeCatalog.default.types.keys.sorted() {
            let overrides = limitOverrides("scheduler.limits." + type)
            if !overrides.isEmpty { x.limits.buildTypes[type] = overrides }
        }
        for app in stringArray("scheduler.limits.apps") ?? [] {
            x.limits.apps[app] = limitOverrides("scheduler.limits.app." + app)
        }
        return x
    }

    /// `NAME=value` entries of a list key.
    private mutating func assignments(_ key: String) -> [String: String]? {
        guard let list = stringArray(key) else { return nil }
        var result: [String: String] = [:]
        for item in list {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                // Never echo the entry: it may be a secret.
                problems.append(Problem(key: key, reason: "an entry is not NAME=value"))
                continue
            }
            result[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return result
    }

    /// The limit fields under `prefix` (a 0 size or count means "no limit").
    private mutating func limitOverrides(_ prefix: String) -> BuildLimitOverrides {
        var o = BuildLimitOverrides()
        func size(_ field: String) -> Int? {
            guard let value = int(prefix + "." + field) else { return nil }
            if value == 0 { o.unlimited.insert(field) }
            return value == 0 ? nil : value
        }
        o.memoryBytes = size("memory_bytes")
        o.processes = size("processes")
        o.diskBytes = size("disk_bytes")
        o.openFiles = size("open_files")
        if let cpus = double(prefix + ".cpus") {
            if cpus == 0 { o.unlimited.insert("cpus") } else { o.cpus = cpus }
        }
        o.timeout = double(prefix + ".timeout_s")
        o.warningAfter = double(prefix + ".warning_s")
        o.network = bool(prefix + ".network")
        return o
    }

    /// Appends the semantic problems of resolved settings (ranges, conflicts).
    mutating func validate(_ settings: Settings) {
        for p in settings.edge.problems() { problems.append(Problem(key: p.key, reason: p.reason)) }
        // Certificates are loaded as the server would load them: unreadable, not PEM, key
        // mismatch, expired and not-yet-valid files are refused here with the file and reason.
        for p in settings.edge.tls?.checkCertificates() ?? [] { problems.append(Problem(key: p.key, reason: p.reason)) }
        if settings.store.isEmpty { problems.append(Problem(key: "store", reason: "must not be empty")) }
        for p in settings.scheduler.problems() { problems.append(Problem(key: p.key, reason: p.reason)) }
    }

    // MARK: typed reads that tell "absent" from "present but wrong"

    private mutating func read<T>(_ key: String, _ type: String, _ get: () throws -> T) -> T? {
        do {
            return try get()
        } catch {
            let text = String(describing: error)
            if !text.hasPrefix("Missing required config value") {
                problems.append(Problem(key: key, reason: "expected \(type) (\(text))"))
            }
            return nil
        }
    }
    private mutating func string(_ key: String) -> String? {
        read(key, "a string") { [reader] in try reader.requiredString(forKey: ConfigKey(key)) }
    }
    private mutating func int(_ key: String) -> Int? {
        read(key, "an integer") { [reader] in try reader.requiredInt(forKey: ConfigKey(key)) }
    }
    private mutating func double(_ key: String) -> Double? {
        read(key, "a number") { [reader] in try reader.requiredDouble(forKey: ConfigKey(key)) }
    }
    private mutating func bool(_ key: String) -> Bool? {
        read(key, "true or false") { [reader] in try reader.requiredBool(forKey: ConfigKey(key)) }
    }
    private mutating func stringArray(_ key: String) -> [String]? {
        read(key, "a list of strings") { [reader] in try reader.requiredStringArray(forKey: ConfigKey(key)) }
    }

    /// Parses HOST:PORT (IPv6 as [::1]:PORT).
    mutating func address(_ key: String, _ value: String) -> (String, Int)? {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]) else {
            problems.append(Problem(key: key, reason: "'\(value)' is not HOST:PORT"))
            return nil
        }
        var host = String(value[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty {
            problems.append(Problem(key: key, reason: "'\(value)' has no host"))
            return nil
        }
        return (host, port)
    }
}

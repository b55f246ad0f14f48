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
    var problems: [Problem] = []
    /// Every key asked of the providers while resolving (with the key table: the keys Wharf knows).
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
        s.store = present(EdgeKeys.store) ?? s.store
        var e = s.edge
        if let v = present(EdgeKeys.listen) { (e.listenHost, e.listenPort) = address(EdgeKeys.listen.name, v) ?? (e.listenHost, e.listenPort) }
        if let v = present(EdgeKeys.adminListen) { (e.adminHost, e.adminPort) = address(EdgeKeys.adminListen.name, v) ?? (e.adminHost, e.adminPort) }
        e.workers = present(EdgeKeys.workers) ?? e.workers
        e.cacheBytes = present(EdgeKeys.cacheBytes) ?? e.cacheBytes
        e.sendfileThresholdBytes = present(EdgeKeys.sendfileThreshold) ?? e.sendfileThresholdBytes
        e.earlyHints = present(EdgeKeys.earlyHints) ?? e.earlyHints
        if let d = present(EdgeKeys.domain) { e.domain = d.isEmpty ? nil : d }
        if let d = present(EdgeKeys.defaultApp) { e.defaultApp = d.isEmpty ? nil : d }
        if let list = present(EdgeKeys.hosts) {
            for item in list {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
                    e.hosts[parts[0].lowercased()] = parts[1]
                } else {
                    problems.append(Problem(key: EdgeKeys.hosts.name, reason: "entry '\(item)' is not host=app"))
                }
            }
        }
        e.aliasPollMs = present(EdgeKeys.aliasPollMs) ?? e.aliasPollMs
        e.drainTimeoutMs = present(EdgeKeys.drainTimeoutMs) ?? e.drainTimeoutMs
        e.writeHighWaterBytes = present(EdgeKeys.writeHighWater) ?? e.writeHighWaterBytes
        e.maxRequestLineBytes = present(EdgeKeys.requestLineBytes) ?? e.maxRequestLineBytes
        e.maxHeaderBytes = present(EdgeKeys.headerBytes) ?? e.maxHeaderBytes
        e.maxHeaderCount = present(EdgeKeys.headerCount) ?? e.maxHeaderCount
        e.maxConnectionsPerWorker = present(EdgeKeys.maxConnectionsPerWorker) ?? e.maxConnectionsPerWorker
        e.headerTimeoutMs = present(EdgeKeys.headerTimeoutMs) ?? e.headerTimeoutMs
        e.idleTimeoutMs = present(EdgeKeys.idleTimeoutMs) ?? e.idleTimeoutMs
        e.sendTimeoutMs = present(EdgeKeys.sendTimeoutMs) ?? e.sendTimeoutMs
        e.tls = tlsSettings()
        e.http2 = http2Settings()
        e.adminTLS = present(EdgeKeys.adminTLS) ?? e.adminTLS
        e.clientLimits = clientLimitSettings()
        e.accessLog = accessLogSettings()
        s.edge = e
        s.scheduler = schedulerSettings()
        s.warm = WarmSettings.read(&self)
        s.monitor = MonitorSettings.read(&self, scheduler: s.scheduler)
        s.deploy = DeploySettings.read(&self)
        s.tier = TierSettings.read(&self)
        // The known keys are the table's, plus the ones asked for on the way (an app's own limits,
        // under the apps `scheduler.limits.apps` names), so every problem is reported at once.
        let known = Set(ConfigKeyTable.expanded().map(\.name)).union(asked.all)
        for p in UnknownConfigKeys.problems(fileKeys: fileKeys, known: known) {
            problems.append(Problem(key: p.key, reason: p.reason))
        }
        return s
    }

    /// The `edge.tls.*` keys: TLS is on when `edge.tls.enabled` is true, or when a listener or a
    /// certificate is given (and `enabled` is not false).
    private mutating func tlsSettings() -> EdgeTLSConfiguration? {
        let enabled = present(TLSKeys.enabled)
        let listen = present(TLSKeys.listen)
        let certificates = present(TLSKeys.certificates) ?? []
        var t = EdgeTLSConfiguration()
        if let listen { (t.listenHost, t.listenPort) = address(TLSKeys.listen.name, listen) ?? (t.listenHost, t.listenPort) }
        for item in certificates {
            let parts = item.split(separator: "=", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
            if (2...3).contains(parts.count), !parts.contains(where: \.isEmpty) {
                t.certificates.append(
                    TLSCertificateFiles(
                        certificateChainPath: parts[0], privateKeyPath: parts[1],
                        ocspResponsePath: parts.count == 3 ? parts[2] : nil))
            } else {
                problems.append(Problem(key: TLSKeys.certificates.name, reason: "entry '\(item)' is not CHAIN.pem=KEY.pem[=OCSP.der]"))
            }
        }
        t.handshakeTimeoutMs = present(TLSKeys.handshakeTimeoutMs) ?? t.handshakeTimeoutMs
        t.ticketKeyRotationSeconds = present(TLSKeys.ticketKeyRotationSeconds) ?? t.ticketKeyRotationSeconds
        t.strictServerNames = present(TLSKeys.strictSNI) ?? t.strictServerNames
        t.redirectApps = Set(present(TLSKeys.redirect) ?? [])
        t.hstsApps = Set(present(TLSKeys.hsts) ?? [])
        t.hstsMaxAgeSeconds = present(TLSKeys.hstsMaxAge) ?? t.hstsMaxAgeSeconds
        // Decided after every key is read, so each is known whether TLS is on or off.
        guard enabled ?? (listen != nil || !certificates.isEmpty) else { return nil }
        return t
    }

    /// The `edge.h2.*` keys: HTTP/2 on the TLS listener (ALPN `h2`), cleartext h2c, and its limits.
    private mutating func http2Settings() -> EdgeHTTP2Configuration {
        var h = EdgeHTTP2Configuration()
        h.enabled = present(HTTP2Keys.enabled) ?? h.enabled
        h.cleartext = present(HTTP2Keys.cleartext) ?? h.cleartext
        var l = h.settings
        l.maxConcurrentStreams = present(HTTP2Keys.maxConcurrentStreams) ?? l.maxConcurrentStreams
        l.initialWindowBytes = present(HTTP2Keys.initialWindowBytes) ?? l.initialWindowBytes
        l.maxHeaderListBytes = present(HTTP2Keys.maxHeaderListBytes) ?? l.maxHeaderListBytes
        l.maxContinuations = present(HTTP2Keys.maxContinuations) ?? l.maxContinuations
        l.resetBurst = present(HTTP2Keys.resetBurst) ?? l.resetBurst
        l.resetRatePerSecond = present(HTTP2Keys.resetRate) ?? l.resetRatePerSecond
        l.controlFrameBurst = present(HTTP2Keys.controlFrameBurst) ?? l.controlFrameBurst
        l.controlFrameRatePerSecond = present(HTTP2Keys.controlFrameRate) ?? l.controlFrameRatePerSecond
        l.headerOverflowBudget = present(HTTP2Keys.headerOverflowBudget) ?? l.headerOverflowBudget
        h.settings = l
        return h
    }

    /// The `edge.rate_limit.*` keys and `edge.limits.max_connections_per_address`.
    private mutating func clientLimitSettings() -> ClientLimitsConfiguration {
        var c = ClientLimitsConfiguration()
        c.enabled = present(EdgeKeys.rateLimitEnabled) ?? c.enabled
        c.rate = present(EdgeKeys.rate) ?? c.rate
        c.burst = present(EdgeKeys.burst) ?? c.burst
        c.tableEntries = present(EdgeKeys.tableEntries) ?? c.tableEntries
        c.adminRate = present(EdgeKeys.adminRate) ?? c.adminRate
        c.adminBurst = present(EdgeKeys.adminBurst) ?? c.adminBurst
        c.maxConnectionsPerAddress = present(EdgeKeys.maxConnectionsPerAddress) ?? c.maxConnectionsPerAddress
        for item in present(EdgeKeys.rules) ?? [] {
            if let rule = ClientLimitsConfiguration.Rule(item) {
                c.rules.append(rule)
            } else {
                problems.append(Problem(key: EdgeKeys.rules.name, reason: "entry '\(item)' is not APP[/PREFIX]=RATE/BURST"))
            }
        }
        for (key, path) in [
            (EdgeKeys.exempt, \ClientLimitsConfiguration.exempt),
            (EdgeKeys.trustedProxies, \ClientLimitsConfiguration.trustedProxies),
        ] {
            for item in present(key) ?? [] {
                if let range = AddressRange(item.trimmingCharacters(in: .whitespaces)) {
                    c[keyPath: path].append(range)
                } else {
                    problems.append(Problem(key: key.name, reason: "entry '\(item)' is not an IP address or CIDR range"))
                }
            }
        }
        return c
    }

    /// The `edge.access_log.*` keys.
    private mutating func accessLogSettings() -> AccessLogConfiguration {
        var a = AccessLogConfiguration()
        a.path = present(EdgeKeys.accessLogPath) ?? a.path
        // The table allows only the formats there are.
        if let f = present(EdgeKeys.accessLogFormat), let format = AccessLogConfiguration.Format(rawValue: f) { a.format = format }
        a.bufferBytes = present(EdgeKeys.accessLogBufferBytes) ?? a.bufferBytes
        a.flushMs = present(EdgeKeys.accessLogFlushMs) ?? a.flushMs
        return a
    }

    /// The `scheduler.*` keys (see edge-config/wharf.yaml).
    private mutating func schedulerSettings() -> SchedulerConfiguration {
        var c = SchedulerConfiguration()
        c.database = present(SchedulerKeys.database) ?? c.database
        c.minSlots = present(SchedulerKeys.minSlots) ?? c.minSlots
        c.maxSlots = present(SchedulerKeys.maxSlots) ?? c.maxSlots
        c.tickMs = present(SchedulerKeys.tickMs) ?? c.tickMs
        c.retryLimit = present(SchedulerKeys.retryLimit) ?? c.retryLimit
        c.retryBaseSeconds = present(SchedulerKeys.retryBaseSeconds) ?? c.retryBaseSeconds
        c.leaseSeconds = present(SchedulerKeys.leaseSeconds) ?? c.leaseSeconds
        c.rescueIntervalSeconds = present(SchedulerKeys.rescueIntervalSeconds) ?? min(c.rescueIntervalSeconds, c.leaseSeconds / 2)
        c.timeoutSeconds = present(SchedulerKeys.timeoutSeconds) ?? c.timeoutSeconds
        c.warningSeconds = present(SchedulerKeys.warningSeconds) ?? c.warningSeconds
        c.killGraceSeconds = present(SchedulerKeys.killGraceSeconds) ?? c.killGraceSeconds
        c.shutdownGraceSeconds = present(SchedulerKeys.shutdownGraceSeconds) ?? c.shutdownGraceSeconds
        c.logCapBytes = present(SchedulerKeys.logCapBytes) ?? c.logCapBytes
        c.toolchain = present(SchedulerKeys.toolchain) ?? c.toolchain
        c.defaultCommand = present(SchedulerKeys.defaultCommand) ?? c.defaultCommand
        c.output = present(SchedulerKeys.output) ?? c.output
        var w = c.weights
        w.agePerHour = present(SchedulerKeys.agePerHour) ?? w.agePerHour
        w.kind = present(SchedulerKeys.kind) ?? w.kind
        w.hint = present(SchedulerKeys.hint) ?? w.hint
        w.popularity = present(SchedulerKeys.popularity) ?? w.popularity
        w.cost = present(SchedulerKeys.cost) ?? w.cost
        w.fairShare = present(SchedulerKeys.fairShare) ?? w.fairShare
        w.attempts = present(SchedulerKeys.attempts) ?? w.attempts
        c.weights = w
        c.policy = present(SchedulerKeys.policy) ?? c.policy
        var a = c.autoscale
        a.burstIdleTimeout = present(SchedulerKeys.burstIdleSeconds) ?? a.burstIdleTimeout
        a.coreIdleTimeout = present(SchedulerKeys.coreIdleSeconds) ?? a.coreIdleTimeout
        a.quietPeriod = present(SchedulerKeys.quietSeconds) ?? a.quietPeriod
        a.coreFactor = present(SchedulerKeys.coreFactor) ?? a.coreFactor
        a.coreTimeConstant = present(SchedulerKeys.coreTimeConstant) ?? a.coreTimeConstant
        a.padFactor = present(SchedulerKeys.padFactor) ?? a.padFactor
        a.soonFreeShare = present(SchedulerKeys.soonFreeShare) ?? a.soonFreeShare
        // WarmShareCap clamps to 0...1; the table refuses an out-of-range value instead.
        if let share = present(SchedulerKeys.warmShare) { a.warmCap = WarmShareCap(share: share) }
        if let hours = present(SchedulerKeys.warmDeadlineHours) { a.warmDeadline = hours * 3600 }
        a.warmMargin = present(SchedulerKeys.warmMarginSeconds) ?? a.warmMargin
        c.autoscale = a
        c.warmWindow = present(SchedulerKeys.warmWindow) ?? c.warmWindow
        c.retentionDays = present(SchedulerKeys.retentionDays) ?? c.retentionDays
        c.sandbox = sandboxSettings(timeout: c.timeoutSeconds, warning: c.warningSeconds)
        return c
    }

    /// The `scheduler.sandbox.*`, `scheduler.build.*` and `scheduler.limits.*` keys.
    private mutating func sandboxSettings(timeout: Double, warning: Double) -> SandboxSettings {
        var x = SandboxSettings()
        x.mode = present(SandboxKeys.mode) ?? x.mode
        x.user = present(SandboxKeys.user) ?? x.user
        x.root = present(SandboxKeys.root) ?? x.root
        x.readOnlyPaths = present(SandboxKeys.readOnlyPaths) ?? x.readOnlyPaths
        x.keepFailedSeconds = present(SandboxKeys.keepFailedSeconds) ?? x.keepFailedSeconds
        x.cgroups = present(SandboxKeys.cgroups) ?? x.cgroups
        x.dependencyCacheBytes = present(SandboxKeys.depsCacheBytes) ?? x.dependencyCacheBytes
        x.watchIntervalSeconds = present(SandboxKeys.watchIntervalSeconds) ?? x.watchIntervalSeconds
        x.environment.path = present(SandboxKeys.path) ?? x.environment.path
        x.environment.inherit = present(SandboxKeys.inheritEnv) ?? x.environment.inherit
        x.environment.variables = assignments(SandboxKeys.env) ?? x.environment.variables
        x.environment.secrets = assignments(SandboxKeys.secrets) ?? x.environment.secrets
        var defaults = BuildLimits.seedDefaults
        defaults.timeout = timeout
        defaults.warningAfter = warning > 0 && warning < timeout ? warning : nil
        x.limits.defaults = limitOverrides(SandboxKeys.limitsPrefix).applied(to: defaults)
        for type in BuildTypeCatalog.default.types.keys.sorted() {
            let overrides = limitOverrides(SandboxKeys.limitsPrefix + "." + type)
            if !overrides.isEmpty { x.limits.buildTypes[type] = overrides }
        }
        for app in present(SandboxKeys.apps) ?? [] {
            x.limits.apps[app] = limitOverrides(SandboxKeys.limitsPrefix + ".app." + app)
        }
        return x
    }

    /// `NAME=value` entries of a list key.
    private mutating func assignments(_ key: SettingKey<[String]>) -> [String: String]? {
        guard let list = present(key) else { return nil }
        var result: [String: String] = [:]
        for item in list {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                // Never echo the entry: it may be a secret.
                problems.append(Problem(key: key.name, reason: "an entry is not NAME=value"))
                continue
            }
            result[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return result
    }

    /// The limit fields under `prefix` (a 0 size or count means "no limit").
    private mutating func limitOverrides(_ prefix: String) -> BuildLimitOverrides {
        var o = BuildLimitOverrides()
        typealias Limit = SandboxKeys.Limit
        func size(_ field: SettingKey<Int>) -> Int? {
            guard let value = present(field.under(prefix)) else { return nil }
            if value == 0 { o.unlimited.insert(field.name) }
            return value == 0 ? nil : value
        }
        o.memoryBytes = size(Limit.memoryBytes)
        o.processes = size(Limit.processes)
        o.diskBytes = size(Limit.diskBytes)
        o.openFiles = size(Limit.openFiles)
        if let cpus = present(Limit.cpus.under(prefix)) {
            if cpus == 0 { o.unlimited.insert(Limit.cpus.name) } else { o.cpus = cpus }
        }
        o.timeout = present(Limit.timeout.under(prefix))
        o.warningAfter = present(Limit.warning.under(prefix))
        o.network = present(Limit.network.under(prefix))
        return o
    }

    /// Appends the semantic problems of resolved settings (ranges, conflicts).
    mutating func validate(_ settings: Settings) {
        for p in settings.edge.problems() { problems.append(Problem(key: p.key, reason: p.reason)) }
        // Certificates are loaded as the server would load them: unreadable, not PEM, key
        // mismatch, expired and not-yet-valid files are refused here with the file and reason.
        for p in settings.edge.tls?.checkCertificates() ?? [] { problems.append(Problem(key: p.key, reason: p.reason)) }
        if settings.store.isEmpty { problems.append(Problem(key: EdgeKeys.store.name, reason: "must not be empty")) }
        for p in settings.scheduler.problems() { problems.append(Problem(key: p.key, reason: p.reason)) }
    }

    // MARK: reads of declared keys, telling "absent" from "present but wrong"

    /// The key's value, nil when absent. A value of the wrong type, or one the key does not allow,
    /// is a problem naming the key (and, for a range, the value and the range), and reads as absent.
    mutating func present<Value>(_ key: SettingKey<Value>) -> Value? {
        let value: Value
        do {
            value = try Value.read(reader, key.name)
        } catch {
            let text = String(describing: error)
            if !text.hasPrefix("Missing required config value") {
                problems.append(Problem(key: key.name, reason: "expected \(Self.expectation(Value.typeName)) (\(text))"))
            }
            return nil
        }
        if let refusal = key.refusal(value) {
            // A secret's entries are never echoed.
            let reason = key.name == SandboxKeys.secrets.name ? "an entry is not allowed" : refusal
            problems.append(Problem(key: key.name, reason: reason))
            return nil
        }
        return value
    }

    /// The key's value, its default when absent or refused.
    mutating func value<Value>(_ key: SettingKey<Value>) -> Value { present(key) ?? key.defaultValue }

    static func expectation(_ typeName: String) -> String {
        switch typeName {
        case "integer": "an integer"
        case "number": "a number"
        case "boolean": "true or false"
        case "list": "a list of strings"
        default: "a string"
        }
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

import ArgumentParser
import ArtifactStore
import Edge
import Foundation
import Glibc
import Scheduler
import TLS
import UVLoop

/// Flags shared by `serve`, `edge` and `check-config`; each overrides wharf.yaml and `WHARF_…`.
struct ServerOptions: ParsableArguments {
    @Option(help: "Configuration file (YAML); see edge-config/wharf.yaml.") var config: String?
    @Option(help: "Store directory (default: store key, $WHARF_STORE, ./.wharf).") var store: String?
    @Option(help: "Public listener HOST:PORT (default 127.0.0.1:8080).") var listen: String?
    @Option(name: .customLong("admin-listen"), help: "Admin API listener HOST:PORT (default 127.0.0.1:8081).")
    var adminListen: String?
    @Option(help: "Event-loop threads (0 = one per core).") var workers: Int?
    @Option(name: .customLong("cache-bytes"), help: "Response cache budget in bytes.") var cacheBytes: Int?

    /// Resolves file → environment → flags, and validates; throws with every problem listed.
    func resolve() async throws -> ConfigurationLoader.Settings {
        var loader = try await ConfigurationLoader.load(configFile: config)
        var settings = loader.settings()
        if let store { settings.store = store }
        if let listen, let (h, p) = loader.address("--listen", listen) { (settings.edge.listenHost, settings.edge.listenPort) = (h, p) }
        if let adminListen, let (h, p) = loader.address("--admin-listen", adminListen) {
            (settings.edge.adminHost, settings.edge.adminPort) = (h, p)
        }
        if let workers { settings.edge.workers = workers }
        if let cacheBytes { settings.edge.cacheBytes = cacheBytes }
        loader.validate(settings)
        if !loader.problems.isEmpty {
            throw InvalidConfiguration(problems: loader.problems)
        }
        return settings
    }
}

struct InvalidConfiguration: Error, CustomStringConvertible {
    var problems: [ConfigurationLoader.Problem]
    var description: String {
        "invalid configuration:\n" + problems.map { "  \($0.key): \($0.reason)" }.joined(separator: "\n")
    }
}

/// `wharf check-config`: resolves and validates the configuration, prints it, starts nothing.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the configuration (file, environment, flags) and print it.")
    @OptionGroup var options: ServerOptions
    @Flag(name: .customLong("list-keys"), help: "Print every configuration key: name, type, default, allowed values, meaning; and exit.")
    var listKeys = false
    @Flag(help: "With --list-keys: print README's Configuration table (Markdown) instead.")
    var markdown = false

    func run() async throws {
        if listKeys {
            print(markdown ? ConfigKeyTable.markdown() : ConfigKeyTable.listing())
            return
        }
        let s = try await options.resolve()
        let e = s.edge
        print("store: \(s.store)")
        print("edge.listen: \(e.listenHost):\(e.listenPort)")
        print("edge.admin_listen: \(e.adminHost):\(e.adminPort)\(e.adminTLS ? " (TLS, edge.admin_tls)" : "")")
        print("edge.workers: \(e.workers)")
        print("edge.cache_bytes: \(e.cacheBytes)")
        print("edge.sendfile_threshold: \(e.sendfileThresholdBytes)")
        print("edge.early_hints: \(e.earlyHints)")
        print("edge.domain: \(e.domain ?? "")")
        print("edge.default_app: \(e.defaultApp ?? "")")
        print("edge.hosts: \(e.hosts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
        for line in TLSWiring.describe(e.tls, store: s.store) { print(line) }
        let r = e.clientLimits
        print(
            "edge.rate_limit: \(r.enabled ? "on" : "off"), rate \(MonitorSettings.number(r.rate)), burst \(r.burst), rules \(r.rules.map(\.description)), "
                + "exempt \(r.exempt.map(\.description)), trusted_proxies \(r.trustedProxies.map(\.description)), table_entries \(r.tableEntries), "
                + "admin_rate \(r.adminRate == 0 ? "off" : MonitorSettings.number(r.adminRate)), admin_burst \(r.adminBurst)")
        print("edge.limits.max_connections_per_address: \(r.maxConnectionsPerAddress == 0 ? "off" : String(r.maxConnectionsPerAddress))")
        let l = e.accessLog
        print(
            "edge.access_log: \(l.enabled ? "'\(l.path)'" : "off"), format \(l.format.rawValue), buffer_bytes \(l.bufferBytes), flush_ms \(l.flushMs)"
        )
        let c = s.scheduler
        print("scheduler.database: \(c.redactedDatabase ?? SchedulerFiles.database(s.store) + " (SQLite)")")
        if let url = c.postgresURL {
            do {
                print("scheduler.database: reachable, PostgreSQL \(try PostgresQueueStorage.check(url))")
            } catch {
                print("scheduler.database: \(error)")
                throw ExitCode(1)
            }
        }
        print(
            "scheduler.slots: \(c.minSlots)...\(c.maxSlots), tick_ms \(c.tickMs), lease_s \(c.leaseSeconds), rescue_interval_s \(c.rescueIntervalSeconds)"
        )
        print(
            "scheduler.retry: \(c.retryLimit) retries from \(c.retryBaseSeconds) s; timeout_s \(c.timeoutSeconds), warning_s \(c.warningSeconds), kill_grace_s \(c.killGraceSeconds), shutdown_grace_s \(c.shutdownGraceSeconds)"
        )
        print("scheduler.build: default_cmd '\(c.defaultCommand)', output '\(c.output)', log_cap_bytes \(c.logCapBytes), toolchain '\(c.toolchain)'")
        let w = c.weights
        print(
            "scheduler.weights: age_per_hour \(w.agePerHour), kind \(w.kind), hint \(w.hint), popularity \(w.popularity), cost \(w.cost), fair_share \(w.fairShare), attempts \(w.attempts)"
        )
        let a = c.autoscale
        print("scheduler.policy: \(c.policy)")
        print("scheduler.placement.warm_window: \(c.warmWindow)")
        print(
            "scheduler.autoscale: burst_idle_s \(a.burstIdleTimeout), core_idle_s \(a.coreIdleTimeout), quiet_s \(a.quietPeriod), core_factor \(a.coreFactor), core_time_constant_s \(a.coreTimeConstant), pad_factor \(a.padFactor), soon_free_share \(a.soonFreeShare)"
        )
        print("scheduler.autoscale: warm_share \(a.warmCap.share), warm_deadline_h \(a.warmDeadline / 3600), warm_margin_s \(a.warmMargin)")
        let p = s.warm
        print("popularity.half_life_h: \(MonitorSettings.number(p.halfLifeHours)), flush_interval_s: \(p.flushIntervalSeconds)")
        print(
            "cron.zone: \(p.cronZone), warm_schedule: '\(p.warmSchedule)'\(p.warmSchedule.isEmpty ? " (nightly warm off)" : ""), catch_up_window_s: \(p.catchUpWindowSeconds)"
        )
        print("warm.top_n: \(p.topN), paths_per_app: \(p.pathsPerApp), max_evict_share: \(MonitorSettings.number(p.maxEvictShare))")
        for line in s.monitor.lines { print(line) }
        print(DeploySettings.describe(s.deploy))
        for line in s.tier.lines { print(line) }
        let x = c.sandbox
        print("scheduler.retention_days: \(MonitorSettings.number(c.retentionDays))")
        print(
            "scheduler.sandbox: mode \(x.mode), user \(x.user), root '\(x.sandboxRoot(store: s.store))', read_only_paths \(x.readOnlyPaths), "
                + "keep_failed_s \(MonitorSettings.number(x.keepFailedSeconds)), cgroups \(x.cgroups), deps_cache_bytes \(x.dependencyCacheBytes), "
                + "watch_interval_s \(MonitorSettings.number(x.watchIntervalSeconds))")
        // Names only: values may be secret.
        print(
            "scheduler.build: path '\(x.environment.path)', inherit_env \(x.environment.inherit), env \(x.environment.variables.keys.sorted()), "
                + "secrets \(x.environment.secrets.keys.sorted()) (values not shown)")
        print("scheduler.limits: \(x.limits.defaults.summary)")
        for (type, overrides) in x.limits.buildTypes.sorted(by: { $0.key < $1.key }) {
            print("scheduler.limits.\(type): \(overrides.applied(to: x.limits.defaults).summary)")
        }
        for (app, overrides) in x.limits.apps.sorted(by: { $0.key < $1.key }) {
            print("scheduler.limits.app.\(app): \(overrides.applied(to: x.limits.defaults).summary)")
        }
        do {
            for note in try SandboxPreflight.prepare(x, store: s.store, probeOnly: true).notes { print("build sandbox: " + note) }
        } catch {
            print("build sandbox: \(error)")
            throw ExitCode(1)
        }
        print("configuration OK")
    }
}

/// `wharf edge`: the edge alone.
struct EdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge", abstract: "Serve deployed apps (edge only: popularity and cron run here, builds need `wharf scheduler`).")
    @OptionGroup var options: ServerOptions
    @Option(
        help:
            "Pull deployments and blobs from this origin (https://HOST:PORT of its admin listener; http:// on loopback) into --store instead of serving a local store (edge.tier.origin)."
    )
    var origin: String?

    func run() async throws {
        let settings = try await options.resolve()
        if let origin {
            var tier = settings.tier
            tier.origin = origin
            if let problem = tier.problems().first { throw InvalidConfiguration(problems: [problem]) }
            try await TierEdgeRunner(options: options, settings: settings, tier: tier).run()
        } else if !settings.tier.origin.isEmpty {
            try await TierEdgeRunner(options: options, settings: settings, tier: settings.tier).run()
        } else {
            try await ServerRunner(options: options, withScheduler: false).run()
        }
    }
}

/// `wharf serve`: edge and scheduler side by side (the default way to run Wharf).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve deployed apps and run the build scheduler.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await ServerRunner(options: options, withScheduler: true).run()
    }
}

/// Starts the servers, then waits for signals on this thread: SIGINT/SIGTERM drain and exit 0,
/// SIGHUP reloads the configuration (routing and early hints apply live).
struct ServerRunner {
    var options: ServerOptions
    var withScheduler: Bool

    func run() async throws {
        let settings = try await options.resolve()
        // Block the signals in every thread (loop threads inherit the mask); this thread sigwaits.

        ServerSignals.install()
        let store = try Store.open(at: settings.store)
        let log: @Sendable (String) -> Void = { line in
            let text = "wharf: \(line)\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
        let openFiles = OpenFileLimit.raiseToHardLimit()
        let loops = settings.edge.workers == 0 ? ProcessInfo.processInfo.activeProcessorCount : settings.edge.workers
        let connectionCap = settings.edge.maxConnectionsPerWorker * max(1, loops)
        if openFiles > 0, UInt64(connectionCap) + 256 > openFiles {
            log(
                "note: open files are limited to \(openFiles), fewer than the connection cap (\(connectionCap)) plus 256 for stores, logs and listeners; raise the hard limit (ulimit -Hn) to use it all"
            )
        }
        var edgeConfiguration = settings.edge
        edgeConfiguration.tls = try TLSWiring.withCertificates(settings.edge.tls, store: settings.store, log: log)
        let edge = try EdgeServer(configuration: edgeConfiguration, store: store, logger: log)
        try edge.start()
        log(
            "edge listening on http://\(settings.edge.listenHost):\(edge.port)/ (\(settings.edge.workers == 0 ? ProcessInfo.processInfo.activeProcessorCount : settings.edge.workers) workers, store \(settings.store))"
        )
        if let tls = edgeConfiguration.tls {
            let host = tls.listenHost.contains(":") ? "[\(tls.listenHost)]" : tls.listenHost
            log(
                "edge listening on https://\(host == "127.0.0.1" ? "localhost" : host):\(edge.tlsPort)/ (certificates: \(edge.tlsCertificates.map { "\($0.names.joined(separator: ",")) until \($0.notAfter)" }.joined(separator: "; ")))"
            )
        }

        // The admin API on its own listener; its token from WHARF_ADMIN_TOKEN or <store>/admin-token.
        let admin: AdminServer
        let notifications: NotificationWiring
        var adminTokenSource = ""
        do {
            let token = try AdminToken.resolve(storePath: store.path)
            admin = AdminServer(edge: edge, token: token, logger: log)
            if settings.edge.adminTLS, let context = edge.currentTLSContext { admin.useTLS(context) }
            // Deploy notifications: finished builds and upload finalizes of apps with `notify` URLs.
            let configuration = edge.configuration
            let logRoot = settings.scheduler.buildSettings(storePath: URL(fileURLWithPath: settings.store).standardizedFileURL.path).logRoot
            notifications = try NotificationWiring(
                store: store, storePath: settings.store, settings: settings.scheduler, logRoot: logRoot,
                urls: { [edge] app in DeployWiring.urls(app, configuration: configuration, port: edge.port, tlsPort: edge.tlsPort) }, log: log)
            try DeployWiring(edge: edge, store: store, limits: settings.deploy, notifications: notifications).register(on: admin)
            // Push webhooks and build status on the store's queue (its own handle: the scheduler, here
            // or in a `wharf scheduler` process, picks new jobs up from the database each tick).
            try HookWiring(store: store, queue: notifications.queue, defaults: settings.scheduler.submissionDefaults).register(on: admin.routes)
            try BuildStatusAPI(queue: notifications.queue, store: store, logRoot: logRoot).register(on: admin.routes)
            adminTokenSource = "\(token.source)"
        } catch {
            log("admin API could not start: \(error)")
            edge.shutdown()
            throw error
        }

        // The scheduler beside the edge: same store, its own loop thread; job and alert routes, its
        // metrics and status on the admin API; the performance monitor on its database.
        var scheduler: SchedulerRunner?
        var monitor: MonitorWiring?
        var warm: WarmWiring?
        do {
            var build = settings.scheduler.buildSettings(storePath: URL(fileURLWithPath: settings.store).standardizedFileURL.path)
            if withScheduler {
                let runner = try SchedulerRunner(settings: settings.scheduler, storePath: settings.store, store: store, logger: log)
                try runner.register(on: admin.routes)
                let watcher = try MonitorWiring(settings: settings.monitor, runner: runner, logger: log)
                try watcher.register(on: admin)
                build = runner.settings.buildSettings(storePath: runner.storePath)
                await runner.start()
                scheduler = runner
                await watcher.start()
                monitor = watcher
            }
            // Popularity from this edge's traffic, and cron with the nightly warm batch preloading this
            // edge (with `wharf edge` alone, the builds it queues wait for a `wharf scheduler` on the store).
            let warming = try WarmWiring(
                edge: edge, settings: settings.warm, build: build, errorSpike: settings.monitor.errorSpike,
                defaults: settings.scheduler.submissionDefaults, scheduler: settings.scheduler,
                warmLog: admin.dashboard.warmLog)
            await warming.start(log: log)
            warm = warming
            admin.dashboard.usePopularity(warming.flush.popularity)
            log(
                "popularity flushed every \(settings.warm.flushIntervalSeconds) s; cron ticking; nightly warm "
                    + (settings.warm.warmSchedule.isEmpty ? "off" : "'\(settings.warm.warmSchedule)' \(settings.warm.cronZone)"))
        } catch {
            log("\(withScheduler ? "scheduler" : "popularity and cron") could not start: \(error)")
            await monitor?.stop()
            await scheduler?.stop()
            notifications.stop()
            admin.shutdown()
            edge.shutdown()
            throw error
        }
        // The admin listener accepts only once every route is on it (scheduler, hooks, build
        // status): a client that acts on this line must not find a route missing (a push hook sent
        // right after start-up was answered 401 as an unknown admin path).
        do {
            try admin.start()
            notifications.start()
            log(
                "admin API on \(admin.usesTLS ? "https" : "http")://\(settings.edge.adminHost):\(admin.port)/_wharf/ (bearer token from \(adminTokenSource))"
            )
        } catch {
            log("admin API could not start: \(error)")
            await warm?.stop()
            await monitor?.stop()
            await scheduler?.stop()
            admin.shutdown()
            edge.shutdown()
            throw error
        }

        while true {
            let received = await SignalWait.next()
            if received == SIGUSR1 {
                // Log rotation: the writer reopens the access log by name before its next write.
                edge.accessLog?.reopen()
                continue
            }
            if received == SIGHUP {
                do {
                    let fresh = try await options.resolve()
                    edge.reload(fresh.edge)
                    if let tls = try TLSWiring.withCertificates(fresh.edge.tls, store: settings.store, log: log), edgeConfiguration.tls != nil {
                        // New handshakes use the reloaded files; open connections keep theirs.
                        try edge.reloadCertificates(tls.certificates)
                        if admin.usesTLS, let context = edge.currentTLSContext { admin.useTLS(context) }
                        log(
                            "TLS certificates reloaded: \(edge.tlsCertificates.map { "\($0.names.joined(separator: ",")) until \($0.notAfter)" }.joined(separator: "; "))"
                        )
                    }
                    log(
                        "configuration reloaded (edge settings and TLS certificates; listeners, scheduler, monitor, popularity, cron and warm keys apply at restart)"
                    )
                } catch {
                    log("reload refused, keeping the running configuration: \(error)")
                }
                continue
            }
            if let warm {
                log("signal \(received): stopping cron and the popularity flush (one last flush)")
                await warm.stop()
            }
            await monitor?.stop()
            if let scheduler {
                log("signal \(received): stopping the scheduler (running builds get up to \(settings.scheduler.shutdownGraceSeconds) s)")
                await scheduler.stop()
            }
            notifications.stop()
            log("signal \(received): draining (up to \(settings.edge.drainTimeoutMs) ms)")
            admin.shutdown()
            edge.shutdown()
            log("stopped")
            return
        }
    }
}

/// `wharf scheduler`: the build scheduler alone (no edge, no admin API), on the same store.
struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler", abstract: "Run the build scheduler alone: dispatch queued builds, publish their output.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let settings = try await options.resolve()
        ServerSignals.install()
        let log: @Sendable (String) -> Void = { line in
            let text = "wharf: \(line)\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
        let store = try Store.open(at: settings.store)
        let runner = try SchedulerRunner(settings: settings.scheduler, storePath: settings.store, store: store, logger: log)
        let monitor = try MonitorWiring(settings: settings.monitor, runner: runner, logger: log)
        // Deploy notifications of finished builds (no edge here: the URLs are the app's host names).
        let notifications = try NotificationWiring(
            store: store, storePath: settings.store, settings: settings.scheduler,
            logRoot: runner.settings.buildSettings(storePath: runner.storePath).logRoot,
            urls: { app in app.hostnames.map { "http://\($0)/" } }, log: log)
        await runner.start()
        await monitor.start()
        notifications.start()
        while true {
            let received = await SignalWait.next()
            if received == SIGHUP {
                log("SIGHUP: the scheduler's configuration is read at start; restart to change it")
                continue
            }
            if received == SIGUSR1 { continue }  // no access log here
            await monitor.stop()
            notifications.stop()
            log("signal \(received): stopping the scheduler (running builds get up to \(settings.scheduler.shutdownGraceSeconds) s)")
            await runner.stop()
            return
        }
    }
}

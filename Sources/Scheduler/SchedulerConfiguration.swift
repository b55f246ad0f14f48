import Foundation
import Postgres

/// The scheduler's configuration: the `scheduler.*` keys with their defaults (documented in
/// edge-config/wharf.yaml), their checks (`problems()`), and what they make: the queue's
/// configuration, the scheduling policy, the build settings. Beside `EdgeConfiguration`; the wiring
/// only reads the file into it.
public struct SchedulerConfiguration: Sendable {
    public init() {}

    /// Where the queue lives: empty for `<store>/scheduler.sqlite` (the default), or a
    /// `postgres://user[:password]@host[:port]/db` URL shared by several schedulers (`scheduler.database`).
    public var database = ""
    public var minSlots = 1
    public var maxSlots = 10
    /// How often the control loop ticks (rescue, autoscale, dispatch).
    public var tickMs = 500
    /// Retries after the first attempt.
    public var retryLimit = 3
    public var retryBaseSeconds = 10.0
    /// A running job not heartbeated for this long is rescued by the next scheduler that looks.
    public var leaseSeconds = 60.0
    public var rescueIntervalSeconds = 30.0
    public var timeoutSeconds = 1800.0
    /// 0 turns the warning off.
    public var warningSeconds = 1200.0
    public var killGraceSeconds = 10.0
    /// On SIGINT/SIGTERM, running builds get this long to finish before they are abandoned to their leases.
    public var shutdownGraceSeconds = 30.0
    public var logCapBytes = 64 << 20
    public var toolchain = ""
    public var defaultCommand = "./build.sh"
    public var output = "dist"
    public var weights = PriorityWeights.default
    /// `adaptive` (the default) or `seed` (the seeds' rule, kept as a baseline).
    public var policy = "adaptive"
    /// The adaptive autoscaler's knobs (`scheduler.autoscale.*`).
    public var autoscale = AdaptiveAutoscaler.Settings()
    /// The adaptive policy's warm-first window in score points (`scheduler.placement.warm_window`).
    public var warmWindow = SchedulingPolicy.defaultWarmWindow
    /// Finished jobs, their logs and build-cache rows older than this are pruned (`scheduler.retention_days`).
    public var retentionDays = 30.0
    /// The build sandbox: isolation, environment, limits, dependency caches.
    public var sandbox = SandboxSettings()

    /// The scheduling policy these settings name; `utcOffset` places the warm deadline in local time.
    /// The PostgreSQL URL of a shared queue, nil for the store's SQLite file.
    public var postgresURL: PostgresURL? { database.isEmpty ? nil : PostgresURL(database) }

    /// `scheduler.database` as logs may show it: the PostgreSQL URL without its password, nil for SQLite.
    public var redactedDatabase: String? { postgresURL?.redacted }

    public func schedulingPolicy(utcOffset: Double) -> SchedulingPolicy {
        if policy == "seed" { return .seed() }
        var settings = autoscale
        settings.utcOffset = utcOffset
        return .adaptive(settings: settings, weights: weights, warmWindow: warmWindow)
    }

    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if !database.isEmpty, PostgresURL(database) == nil {
            // Never echo the value: it may hold a password.
            found.append(("scheduler.database", "must be empty (SQLite in the store) or a URL postgres://user[:password]@host[:port]/database"))
        }
        if minSlots < 0 || maxSlots < 1 || minSlots > maxSlots || maxSlots > 10_000 {
            found.append(("scheduler.min_slots", "need 0 ≤ min_slots ≤ max_slots, 1 ≤ max_slots ≤ 10000 (got \(minSlots), \(maxSlots))"))
        }
        if !(10...60_000).contains(tickMs) { found.append(("scheduler.tick_ms", "must be 10...60000")) }
        if !(0...99).contains(retryLimit) { found.append(("scheduler.retry_limit", "must be 0...99")) }
        if !(retryBaseSeconds >= 0 && retryBaseSeconds.isFinite) { found.append(("scheduler.retry_base_s", "must be ≥ 0")) }
        if !(leaseSeconds > 0 && leaseSeconds.isFinite) { found.append(("scheduler.lease_s", "must be > 0")) }
        if !(rescueIntervalSeconds > 0 && rescueIntervalSeconds.isFinite) { found.append(("scheduler.rescue_interval_s", "must be > 0")) }
        if !(timeoutSeconds > 0 && timeoutSeconds.isFinite) { found.append(("scheduler.timeout_s", "must be > 0")) }
        if !(warningSeconds >= 0 && warningSeconds.isFinite) { found.append(("scheduler.warning_s", "must be ≥ 0 (0 = no warning)")) }
        if !(killGraceSeconds >= 0 && killGraceSeconds.isFinite) { found.append(("scheduler.kill_grace_s", "must be ≥ 0")) }
        if !(shutdownGraceSeconds >= 0 && shutdownGraceSeconds.isFinite) { found.append(("scheduler.shutdown_grace_s", "must be ≥ 0")) }
        if logCapBytes < 1024 { found.append(("scheduler.log_cap_bytes", "must be ≥ 1024")) }
        if defaultCommand.trimmingCharacters(in: .whitespaces).isEmpty { found.append(("scheduler.default_cmd", "must not be empty")) }
        if output.isEmpty || output.hasPrefix("/") || output.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            found.append(("scheduler.output", "must be a relative path without '.' or '..'"))
        }
        do { try weights.validate() } catch { found.append(("scheduler.weights", "\(error)")) }
        if SchedulingPolicy.named(policy) == nil || policy == "seed_rule" || policy == "default" {
            found.append(("scheduler.policy", "must be adaptive or seed (got '\(policy)')"))
        }
        let a = autoscale
        func seconds(_ key: String, _ value: Double) {
            if !(value.isFinite && value >= 0 && value <= 86_400) { found.append(("scheduler.autoscale." + key, "must be 0...86400 seconds")) }
        }
        seconds("burst_idle_s", a.burstIdleTimeout)
        seconds("core_idle_s", a.coreIdleTimeout)
        seconds("quiet_s", a.quietPeriod)
        seconds("warm_margin_s", a.warmMargin)
        if !(a.coreTimeConstant.isFinite && a.coreTimeConstant >= 1 && a.coreTimeConstant <= 86_400) {
            found.append(("scheduler.autoscale.core_time_constant_s", "must be 1...86400 seconds"))
        }
        if !(warmWindow.isFinite && (0...10_000).contains(warmWindow)) {
            found.append(("scheduler.placement.warm_window", "must be 0...10000 score points"))
        }
        if !(retentionDays.isFinite && retentionDays > 0 && retentionDays <= 36_500) {
            found.append(("scheduler.retention_days", "must be > 0 and at most 36500"))
        }
        found += sandbox.problems()
        if !(a.coreFactor.isFinite && (0...10).contains(a.coreFactor)) { found.append(("scheduler.autoscale.core_factor", "must be 0...10")) }
        if !(a.padFactor.isFinite && (0...10).contains(a.padFactor)) { found.append(("scheduler.autoscale.pad_factor", "must be 0...10")) }
        if !(a.soonFreeShare.isFinite && (0...1).contains(a.soonFreeShare)) {
            found.append(("scheduler.autoscale.soon_free_share", "must be 0...1"))
        }
        if !(a.warmCap.share > 0) { found.append(("scheduler.autoscale.warm_share", "must be > 0 and at most 1")) }
        if !(a.warmDeadline.isFinite && a.warmDeadline >= 0 && a.warmDeadline < 86_400) {
            found.append(("scheduler.autoscale.warm_deadline_h", "must be 0...24 (hours after local midnight)"))
        }
        return found
    }

    public var queueConfiguration: JobQueue.Configuration {
        JobQueue.Configuration(
            weights: weights, retry: RetryPolicy(maxRetries: retryLimit, baseDelay: retryBaseSeconds),
            leaseDuration: leaseSeconds)
    }

    public var submissionDefaults: JobSubmission.Defaults { .init(command: defaultCommand, output: output, toolchainVersion: toolchain) }

    public func buildSettings(storePath: String, sandbox prepared: PreparedSandbox? = nil) -> BuildSettings {
        BuildSettings(
            workRoot: prepared?.workRoot ?? storePath + "/sandbox/work", logRoot: storePath + "/logs", outputDirectory: output,
            defaultCommand: defaultCommand, toolchainVersion: toolchain, killGrace: killGraceSeconds, logCapBytes: logCapBytes,
            buildEnvironment: sandbox.environment, limitPolicy: sandbox.limits, isolation: prepared?.isolation ?? .none,
            cgroups: prepared?.cgroups, slotCacheRoot: prepared?.slotCacheRoot, slotCacheBytes: sandbox.dependencyCacheBytes,
            keepFailedWorkspaces: sandbox.keepFailedSeconds, watchInterval: sandbox.watchIntervalSeconds)
    }
}

import Foundation
import Scheduler

/// The build sandbox's keys: `scheduler.sandbox.*` (isolation), `scheduler.build.*` (a build's
/// environment) and `scheduler.limits.*` (resources), with the limit fields declared once and
/// repeated under `scheduler.limits.<type>` and `scheduler.limits.app.<app>`. Defaults are
/// `SandboxSettings`' and `BuildLimits.seedDefaults`' (a test checks).
enum SandboxKeys {
    static let mode = SettingKey<String>(
        "scheduler.sandbox.mode", "auto", .oneOf(["auto", "bubblewrap", "user", "none"]),
        "auto: bubblewrap where it works, else the build user, else Wharf's own user; bubblewrap | user: required")
    static let user = SettingKey<String>("scheduler.sandbox.user", "wharf-build", .any, "the unprivileged build user (never root)")
    static let root = SettingKey<String>("scheduler.sandbox.root", "", .any, "workspaces and slot caches (absolute); empty = <store>/sandbox")
    static let readOnlyPaths = SettingKey<[String]>("scheduler.sandbox.read_only_paths", [], .any, "more directories bound read-only into bubblewrap")
    static let keepFailedSeconds = SettingKey<Double>(
        "scheduler.sandbox.keep_failed_s", 3600, .atLeast(0), "a failed attempt's workspace is kept this long")
    static let cgroups = SettingKey<Bool>(
        "scheduler.sandbox.cgroups", true, .any, "memory, CPU and process limits through cgroup v1 when writable (else rlimits)")
    static let depsCacheBytes = SettingKey<Int>(
        "scheduler.sandbox.deps_cache_bytes", 5 << 30, .atLeast(Double(1 << 20)),
        "each slot's dependency cache ($WHARF_DEPS_CACHE), LRU evicted")
    static let watchIntervalSeconds = SettingKey<Double>(
        "scheduler.sandbox.watch_interval_s", 2, .within(0.1, 600),
        "how often a running build's workspace size and process count are checked")
    static let path = SettingKey<String>("scheduler.build.path", BuildEnvironment.defaultPath, .any, "a build's PATH")
    static let inheritEnv = SettingKey<[String]>(
        "scheduler.build.inherit_env", [], .any,
        "names of the scheduler's variables a build may see (never WHARF_* or LD_*)")
    static let env = SettingKey<[String]>("scheduler.build.env", [], .any, "`NAME=value` entries every build gets")
    static let secrets = SettingKey<[String]>("scheduler.build.secrets", [], .any, "`NAME=value` entries every build gets, never shown")
    static let apps = SettingKey<[String]>("scheduler.limits.apps", [], .any, "apps with limits of their own, under scheduler.limits.app.<app>")

    /// The limit fields, named under `scheduler.limits` (every build; 0 = no limit). The same
    /// fields under `scheduler.limits.<type>` and `scheduler.limits.app.<app>` override them.
    enum Limit {
        static let memoryBytes = SettingKey<Int>("memory_bytes", 4 << 30, .atLeast(0), "memory (≥ 16 MiB; 0 = no limit): over it the build is killed")
        static let cpus = SettingKey<Double>("cpus", 2, .within(0, 1024), "CPU quota (0.01…1024; 0 = no limit)")
        static let processes = SettingKey<Int>("processes", 512, .within(0, 1_000_000), "processes (≥ 8; 0 = no limit): fork beyond it fails")
        static let diskBytes = SettingKey<Int>(
            "disk_bytes", 10 << 30, .atLeast(0), "the workspace's size and the largest file (≥ 1 MiB; 0 = no limit)")
        static let openFiles = SettingKey<Int>("open_files", 4096, .within(0, 1_048_576), "open files (≥ 16; 0 = no limit)")
        static let timeout = SettingKey<Double>("timeout_s", 1800, .above(0), "if set, wins over scheduler.timeout_s")
        static let warning = SettingKey<Double>("warning_s", 1200, .above(0), "if set, wins over scheduler.warning_s")
        static let network = SettingKey<Bool>("network", false, .any, "under bubblewrap a build has no network unless true")
        static let all: [KeyDescriptor] = [
            memoryBytes.descriptor, cpus.descriptor, processes.descriptor, diskBytes.descriptor,
            openFiles.descriptor, timeout.descriptor, warning.descriptor, network.descriptor,
        ]
    }

    /// Where the limit fields of every build are; those of a type and an app are under it.
    static let limitsPrefix = "scheduler.limits"
    /// The prefixes the limit fields appear under, `<type>` and `<app>` as placeholders.
    static let limitPrefixes = [limitsPrefix, limitsPrefix + ".<type>", limitsPrefix + ".app.<app>"]

    static let keys: [KeyDescriptor] =
        [
            mode.descriptor, user.descriptor, root.descriptor, readOnlyPaths.descriptor, keepFailedSeconds.descriptor,
            cgroups.descriptor, depsCacheBytes.descriptor, watchIntervalSeconds.descriptor,
            path.descriptor, inheritEnv.descriptor, env.descriptor, secrets.descriptor, apps.descriptor,
        ] + limitPrefixes.flatMap { prefix in Limit.all.map { $0.under(prefix) } }
}

extension SettingKey {
    /// The same key under `prefix` (`memory_bytes` under `scheduler.limits.flutter_web`).
    func under(_ prefix: String) -> SettingKey { SettingKey(prefix + "." + name, defaultValue, allowed, doc) }
    /// The same key with a placeholder spelled out (`monitor.thresholds.<type>` for `flutter_web`).
    func spelled(_ placeholder: String, as value: String) -> SettingKey {
        SettingKey(name.replacingOccurrences(of: placeholder, with: value), defaultValue, allowed, doc)
    }
}

extension KeyDescriptor {
    func under(_ prefix: String) -> KeyDescriptor {
        var copy = self
        copy.name = prefix + "." + name
        return copy
    }
}

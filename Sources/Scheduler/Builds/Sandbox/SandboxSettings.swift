import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The build sandbox's configuration (`scheduler.sandbox.*`, `scheduler.build.*` environment keys,
/// `scheduler.limits.*`), with the seeds' defaults.
public struct SandboxSettings: Sendable {
    /// `auto` (bubblewrap where it works, else the build user alone, else Wharf's user), `bubblewrap`,
    /// `user` (both refuse to start when they cannot be had) or `none`.
    public var mode = "auto"
    public var user = "wharf-build"
    /// Where workspaces and slot caches go; empty: `<store>/sandbox`.
    public var root = ""
    public var readOnlyPaths: [String] = []
    public var keepFailedSeconds = 3600.0
    public var cgroups = true
    public var dependencyCacheBytes = 5 << 30
    public var watchIntervalSeconds = 2.0
    public var environment = BuildEnvironment()
    public var limits = BuildLimitPolicy()

    public init() {}

    public func sandboxRoot(store: String) -> String { root.isEmpty ? store + "/sandbox" : root }

    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if mode != "auto" && BuildIsolation.Mode(rawValue: mode) == nil {
            found.append(("scheduler.sandbox.mode", "must be auto, bubblewrap, user or none (got '\(mode)')"))
        }
        if user.isEmpty || user == "root" { found.append(("scheduler.sandbox.user", "must name an unprivileged user")) }
        if !root.isEmpty && !root.hasPrefix("/") { found.append(("scheduler.sandbox.root", "must be an absolute path")) }
        for path in readOnlyPaths where !path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            found.append(("scheduler.sandbox.read_only_paths", "'\(path)' is not an absolute path without '..'"))
        }
        if !(keepFailedSeconds.isFinite && keepFailedSeconds >= 0) { found.append(("scheduler.sandbox.keep_failed_s", "must be ≥ 0")) }
        if dependencyCacheBytes < 1 << 20 { found.append(("scheduler.sandbox.deps_cache_bytes", "must be at least 1 MiB")) }
        if !(watchIntervalSeconds.isFinite && watchIntervalSeconds >= 0.1 && watchIntervalSeconds <= 600) {
            found.append(("scheduler.sandbox.watch_interval_s", "must be 0.1...600"))
        }
        for problem in environment.problems() { found.append(("scheduler.build.env", problem)) }
        for (field, reason) in limits.defaults.problems() { found.append(("scheduler.limits." + field, reason)) }
        for (type, overrides) in limits.buildTypes {
            for (field, reason) in overrides.applied(to: limits.defaults).problems() {
                found.append(("scheduler.limits.\(type).\(field)", reason))
            }
        }
        for (app, overrides) in limits.apps {
            for (field, reason) in overrides.applied(to: limits.defaults).problems() {
                found.append(("scheduler.limits.app.\(app).\(field)", reason))
            }
        }
        return found
    }
}

/// The sandbox as made ready at start: the isolation that works here, the cgroups, the directories,
/// and sentences for the log and `check-config` saying what builds get.
public struct PreparedSandbox: Sendable {
    public var isolation: BuildIsolation
    public var cgroups: CgroupRoots?
    public var workRoot: String
    public var slotCacheRoot: String
    public var notes: [String]
}

/// Readies the sandbox before the first build: resolves the isolation, finds cgroups, makes the
/// sandbox directories (0711: the build user passes through, lists nothing), takes group and other
/// permissions off everything else in the store (databases, admin token, blobs, logs), and checks, as
/// the build user, that it can read none of the store's secrets. Throws with the file and the fix
/// when something is wrong.
public enum SandboxPreflight {
    public static func prepare(_ settings: SandboxSettings, store: String, probeOnly: Bool = false) throws -> PreparedSandbox {
        let (isolation, sentence) = try BuildIsolation.resolve(
            requested: settings.mode, user: settings.user,
            readOnlyPaths: settings.readOnlyPaths)
        var notes = [sentence]
        var cgroups: CgroupRoots?
        if settings.cgroups, let roots = CgroupRoots.detect() {
            cgroups = roots
            if !probeOnly { roots.removeStale() }
            let missing = CgroupRoots.controllers.filter { roots.parents[$0] == nil }
            notes.append(
                "limits: cgroups v1 (\(roots.parents.keys.sorted().joined(separator: ", ")))"
                    + (missing.isEmpty ? "" : "; rlimits stand in for \(missing.joined(separator: ", "))"))
        } else {
            notes.append(
                "limits: rlimits only (\(settings.cgroups ? "no writable cgroup v1 hierarchy" : "scheduler.sandbox.cgroups: false")): "
                    + "memory as address space, processes per build user, no CPU quota")
        }
        var root = settings.sandboxRoot(store: store)
        // (The store itself becomes 0711 below: what matters is the directories above it.)
        if settings.root.isEmpty, let identity = isolation.identity, (try? checkReachable(store, by: identity)) == nil {
            // The store lies under a directory the build user cannot pass (a 0700 home or temp dir):
            // the default sandbox moves to a place it can reach, one per store.
            let absolute = URL(fileURLWithPath: store).standardizedFileURL.path
            root =
                fallbackParent + "/"
                + String(absolute.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }, radix: 16)
            notes.append("the build user cannot reach \(settings.sandboxRoot(store: store)); workspaces and slot caches go to \(root)")
        }
        let prepared = PreparedSandbox(
            isolation: isolation, cgroups: cgroups, workRoot: root + "/work", slotCacheRoot: root + "/slots",
            notes: notes)
        if probeOnly { return prepared }
        let manager = FileManager.default
        try manager.createDirectory(atPath: store, withIntermediateDirectories: true)
        for directory in [root, prepared.workRoot, prepared.slotCacheRoot] + (root.hasPrefix(fallbackParent + "/") ? [fallbackParent] : []) {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            guard chmod(directory, 0o711) == 0 else { throw problem("cannot set mode 0711 on \(directory): \(String(cString: strerror(errno)))") }
        }
        guard let identity = isolation.identity else { return prepared }
        // The store: the build user may pass through it to reach the sandbox, and nothing else.
        guard chmod(store, 0o711) == 0 else { throw problem("cannot set mode 0711 on the store \(store): \(String(cString: strerror(errno)))") }
        let sandboxName = URL(fileURLWithPath: root).standardizedFileURL.path
        for name in try manager.contentsOfDirectory(atPath: store) {
            let path = store + "/" + name
            if URL(fileURLWithPath: path).standardizedFileURL.path == sandboxName { continue }
            try tighten(path, keep: 0o700)
        }
        try checkReachable(root, by: identity)
        let secrets = try manager.contentsOfDirectory(atPath: store).filter { $0 == "admin-token" || $0.contains(".sqlite") }
            .map { store + "/" + $0 }
        if let readable = try readableByBuildUser(secrets, isolation: isolation, identity: identity) {
            throw problem("the build user \(identity.name) can read \(readable); make it private to Wharf (chmod 600)")
        }
        return prepared
    }

    /// Where a store's sandbox goes when the build user cannot reach the store (and no root is set).
    static let fallbackParent = "/var/lib/wharf-sandbox"

    static func problem(_ text: String) -> SchedulerError { .invalidConfiguration("build sandbox: " + text) }

    /// Takes group and other permissions beyond `keep` off `path` (not following a link).
    static func tighten(_ path: String, keep: mode_t) throws {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFLNK else { return }
        let mode = info.st_mode & 0o7777
        let wanted = (mode & 0o700) | (mode & keep & 0o077)
        if wanted != mode, chmod(path, wanted) != 0 {
            throw problem(
                "\(path) has mode \(String(mode, radix: 8)), open to other users, and cannot be changed: "
                    + "\(String(cString: strerror(errno))); run chmod \(String(wanted, radix: 8)) \(path)")
        }
    }

    /// Every directory above `path` must let others pass (`o+x`), or the build user cannot reach its workspace.
    static func checkReachable(_ path: String, by identity: BuildIdentity) throws {
        var current = URL(fileURLWithPath: path).standardizedFileURL
        while current.path != "/" {
            current.deleteLastPathComponent()
            var info = stat()
            guard stat(current.path, &info) == 0 else { continue }
            let passable =
                info.st_uid == identity.uid
                ? info.st_mode & 0o100 != 0
                : info.st_gid == identity.gid ? info.st_mode & 0o010 != 0 : info.st_mode & 0o001 != 0
            if !passable {
                throw problem(
                    "the build user \(identity.name) cannot reach \(path): \(current.path) has mode "
                        + "\(String(info.st_mode & 0o7777, radix: 8)); set scheduler.sandbox.root to a directory it can reach")
            }
        }
    }

    /// Asks the kernel, as the build user, whether any of `paths` is readable; the first that is.
    static func readableByBuildUser(_ paths: [String], isolation: BuildIsolation, identity: BuildIdentity) throws -> String? {
        guard !paths.isEmpty else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: isolation.setpriv)
        process.arguments =
            [
                "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--clear-groups", "--",
                "/bin/sh", "-c", "for f in \"$@\"; do if [ -r \"$f\" ]; then echo \"$f\"; exit 0; fi; done", "probe",
            ] + paths
        process.environment = ["PATH": BuildEnvironment.defaultPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

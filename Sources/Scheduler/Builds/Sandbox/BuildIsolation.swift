import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A user a build runs as.
public struct BuildIdentity: Sendable, Equatable, Codable {
    public var name: String
    var uid: UInt32
    var gid: UInt32

    init(name: String, uid: UInt32, gid: UInt32) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }

    /// The user `name` from the password database, or nil.
    static func lookUp(_ name: String) -> BuildIdentity? {
        guard let entry = getpwnam(name) else { return nil }
        return BuildIdentity(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }
}

/// How builds are kept away from Wharf and from each other.
///
/// - `bubblewrap`: each build runs as an unprivileged user inside bubblewrap's namespaces: system
///   directories read-only, its workspace (and its slot's dependency cache) writable, a private `/tmp`
///   and `/proc`, nothing of the store or of other slots' workspaces, no network unless its limits
///   allow it.
/// - `user`: the same unprivileged user without namespaces (machines without user namespaces): file
///   modes keep it out of the store, the databases and the admin token; it sees the rest of the
///   filesystem as that user does, and the network.
/// - `none`: the build runs as Wharf's own user (a non-root Wharf cannot switch users). Only the
///   clean environment and the limits protect Wharf then.
public struct BuildIsolation: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable, Codable, CaseIterable {
        case none, user, bubblewrap
    }

    public var mode: Mode
    /// The shared build user; slot `local-N` runs as `perSlot[N]` when that user exists.
    var identity: BuildIdentity?
    var perSlot: [Int: BuildIdentity]
    /// Directories bound read-only into the sandbox besides `/usr` and `/etc` (toolchains under `/opt`, …).
    public var readOnlyPaths: [String]
    var bwrap: String
    var setpriv: String

    public static let none = BuildIsolation(mode: .none)

    init(
        mode: Mode, identity: BuildIdentity? = nil, perSlot: [Int: BuildIdentity] = [:], readOnlyPaths: [String] = [],
        bwrap: String = "/usr/bin/bwrap", setpriv: String = "/usr/bin/setpriv"
    ) {
        self.mode = mode
        self.identity = identity
        self.perSlot = perSlot
        self.readOnlyPaths = readOnlyPaths
        self.bwrap = bwrap
        self.setpriv = setpriv
    }

    /// The user the build on `slotID` runs as (nil: Wharf's own).
    func identity(forSlot slotID: String?) -> BuildIdentity? {
        guard mode != .none else { return nil }
        if let slotID, let number = Self.slotNumber(slotID), let own = perSlot[number] { return own }
        return identity
    }

    /// `local-3` → 3.
    static func slotNumber(_ slotID: String) -> Int? {
        guard let dash = slotID.lastIndex(of: "-") else { return nil }
        return Int(slotID[slotID.index(after: dash)...])
    }

    /// The command that runs `argv` (already a full command line) inside this isolation for one build:
    /// `setpriv` to the build user with no supplementary groups and no new privileges, then `bwrap`.
    /// - Parameters:
    ///   - writable: directories bound read-write at their own paths (workspace first; the build starts there).
    func wrap(_ argv: [String], identity: BuildIdentity?, writable: [String], network: Bool) -> [String] {
        var command: [String] = []
        if let identity {
            command += [setpriv, "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--clear-groups", "--no-new-privs", "--"]
        }
        guard mode == .bubblewrap else { return command + argv }
        command += [bwrap, "--die-with-parent", "--unshare-all"]
        if network { command.append("--share-net") }
        command += ["--hostname", "wharf-build", "--ro-bind", "/usr", "/usr"]
        for top in ["/bin", "/lib", "/lib32", "/lib64", "/sbin"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: top) {
                command += ["--symlink", target, top]
            } else if FileManager.default.fileExists(atPath: top) {
                command += ["--ro-bind", top, top]
            }
        }
        command += ["--ro-bind", "/etc", "/etc"]
        for path in readOnlyPaths where FileManager.default.fileExists(atPath: path) { command += ["--ro-bind", path, path] }
        command += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for path in writable { command += ["--bind", path, path] }
        if let first = writable.first { command += ["--chdir", first] }
        return command + ["--"] + argv
    }

    /// Picks the isolation for `requested` (`auto`, `bubblewrap`, `user` or `none`) on this machine,
    /// trying what it needs (the user exists, Wharf can switch to it, bubblewrap starts a sandbox
    /// as that user). Returns the isolation and a sentence saying what builds get and why.
    static func resolve(
        requested: String, user: String, readOnlyPaths: [String] = [], perSlotUsers: Int = 16,
        bwrap: String = "/usr/bin/bwrap", setpriv: String = "/usr/bin/setpriv"
    ) throws -> (BuildIsolation, String) {
        let wanted: Mode?
        if requested == "auto" {
            wanted = nil
        } else if let mode = Mode(rawValue: requested) {
            wanted = mode
        } else {
            throw SchedulerError.invalidConfiguration("scheduler.sandbox.mode must be auto, bubblewrap, user or none (got '\(requested)')")
        }
        if wanted == Mode.none {
            return (.none, "builds run as Wharf's own user with a clean environment (scheduler.sandbox.mode: none)")
        }
        let strict = wanted != nil
        func fallBack(_ reason: String) throws -> (BuildIsolation, String) {
            if strict { throw SchedulerError.invalidConfiguration("scheduler.sandbox.mode \(requested): \(reason)") }
            return (.none, "builds run as Wharf's own user, isolated by a clean environment only: \(reason)")
        }
        guard geteuid() == 0 else { return try fallBack("Wharf is not root, so it cannot switch builds to another user") }
        guard let identity = BuildIdentity.lookUp(user) else {
            return try fallBack("no user '\(user)' (make deps creates it; or set scheduler.sandbox.user)")
        }
        guard identity.uid != 0 else { return try fallBack("the build user '\(user)' is root") }
        guard access(setpriv, X_OK) == 0 else { return try fallBack("\(setpriv) is missing (util-linux)") }
        var perSlot: [Int: BuildIdentity] = [:]
        for n in 1...max(1, perSlotUsers) {
            if let own = BuildIdentity.lookUp("\(user)-\(n)"), own.uid != 0 { perSlot[n] = own }
        }
        var isolation = BuildIsolation(
            mode: .user, identity: identity, perSlot: perSlot, readOnlyPaths: readOnlyPaths,
            bwrap: bwrap, setpriv: setpriv)
        let slots = perSlot.isEmpty ? "one shared uid" : "one uid per slot for slots 1...\(perSlot.keys.max()!)"
        if wanted == .user {
            return (isolation, "builds run as '\(user)' (\(slots)) without namespaces (scheduler.sandbox.mode: user)")
        }
        var sandboxed = isolation
        sandboxed.mode = .bubblewrap
        if let failure = sandboxed.probe(identity: identity) {
            if wanted == .bubblewrap { throw SchedulerError.invalidConfiguration("scheduler.sandbox.mode bubblewrap: \(failure)") }
            return (
                isolation,
                "builds run as '\(user)' (\(slots)) WITHOUT a bubblewrap sandbox: \(failure); "
                    + "they see the filesystem as that user and may use the network"
            )
        }
        isolation.mode = .bubblewrap
        return (
            isolation,
            "builds run as '\(user)' (\(slots)) inside bubblewrap: read-only system, own workspace, "
                + "private /tmp and /proc, no network unless allowed"
        )
    }

    /// Starts `true` in the sandbox as `identity`; nil when it worked, else why not.
    func probe(identity: BuildIdentity) -> String? {
        guard access(bwrap, X_OK) == 0 else { return "\(bwrap) is missing (Debian package bubblewrap)" }
        let process = Process()
        let argv = wrap(["/bin/true"], identity: identity, writable: [], network: false)
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = ["PATH": BuildEnvironment.defaultPath]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return "cannot start \(argv[0]): \(error)" }
        process.waitUntilExit()
        if process.terminationStatus == 0 { return nil }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return "bubblewrap cannot make a sandbox here (user namespaces off?): \(text.isEmpty ? "exit \(process.terminationStatus)" : text)"
    }
}

import Foundation

/// A build request as a user types it (CLI flags or the admin API's JSON): strings to be checked and
/// turned into a `JobRequest`. Shared by `wharf build submit` and `POST /_wharf/api/jobs`, so both
/// refuse the same bad input with the same message, before anything is queued.
public struct JobSubmission: Sendable, Equatable {
    public var app: String
    public var buildType: String
    /// A directory; relative paths are resolved against `relativeTo` in `request(...)`.
    var source: String
    public var command: String?
    /// The build's output directory relative to the source (nil: the scheduler's default).
    var output: String?
    /// `release`, `normal`, `low`, or `1`...`3`.
    var priority: String?
    /// `user_push`, `manual`, `retry`, `cache_warm` (default manual).
    public var kind: String?
    var activate: Bool
    public var owner: String
    /// Skip the build cache lookup; the result is still recorded in the cache.
    public var force: Bool

    public init(
        app: String, buildType: String, source: String, command: String? = nil, output: String? = nil,
        priority: String? = nil, kind: String? = nil, activate: Bool = true, owner: String = "", force: Bool = false
    ) {
        self.app = app
        self.buildType = buildType
        self.source = source
        self.command = command
        self.output = output
        self.priority = priority
        self.kind = kind
        self.activate = activate
        self.owner = owner
        self.force = force
    }

    /// What the running scheduler does when a job does not say: its command and output directory.
    public struct Defaults: Sendable, Equatable {
        public var command: String
        var output: String
        /// Part of each job's dependency hash (a new toolchain starts every dependency cache cold).
        var toolchainVersion: String
        public init(command: String = "./build.sh", output: String = "dist", toolchainVersion: String = "") {
            self.command = command
            self.output = output
            self.toolchainVersion = toolchainVersion
        }
    }

    /// Why a submission was refused (beyond the queue's own `SchedulerError` checks).
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case invalidPriority(String)
        case invalidKind(String)
        case invalidOutput(String)
        case sourceNotDirectory(String)
        case commandNotFound(String)
        case invalidCommand

        public var description: String {
            switch self {
            case .invalidPriority(let p): "invalid priority '\(p)': use release, normal, low, or 1 (low) ... 3 (release)"
            case .invalidKind(let k):
                "invalid kind '\(k)' (known: \(JobKind.allCases.map(\.rawValue).joined(separator: ", ")))"
            case .invalidOutput(let o): "invalid output directory '\(o)': a relative path inside the source, without '.' or '..'"
            case .sourceNotDirectory(let s): "source '\(s)' is not a directory"
            case .commandNotFound(let c): "build command '\(c)' not found (not in the source directory, not on PATH)"
            case .invalidCommand: "invalid build command: empty, over 8 KiB, or containing NUL"
            }
        }
    }

    /// Checks everything and returns the request to enqueue. `relativeTo` resolves a relative source
    /// (the CLI's working directory); `path` is the PATH searched for the command's program.
    public func request(
        defaults: Defaults, catalog: BuildTypeCatalog, relativeTo directory: String,
        path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    ) throws -> JobRequest {
        let hint = try Self.parsePriority(priority)
        let jobKind =
            try kind.map { value in
                guard let parsed = JobKind(rawValue: value) else { throw Problem.invalidKind(value) }
                return parsed
            } ?? .manual
        guard !source.isEmpty, !source.utf8.contains(0) else { throw SchedulerError.invalidSource(source) }
        let absolute = source.hasPrefix("/") ? source : directory + "/" + source
        let sourcePath = URL(fileURLWithPath: absolute).standardizedFileURL.path
        var request = JobRequest(
            app: app, owner: owner, buildType: buildType, kind: jobKind, source: sourcePath,
            command: nil, priorityHint: hint, activate: activate, force: force)
        try request.validate(catalog: catalog, checkSourceExists: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: sourcePath, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Problem.sourceNotDirectory(sourcePath)
        }
        request.dependencyHash = SourceTreeHasher.dependencyHash(directory: sourcePath, toolchainVersion: defaults.toolchainVersion)
        let effective = command ?? defaults.command
        guard !effective.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, effective.utf8.count <= 8192,
            !effective.utf8.contains(0)
        else { throw Problem.invalidCommand }
        if let program = Self.program(of: effective), !Self.programExists(program, source: sourcePath, path: path) {
            throw Problem.commandNotFound(program)
        }
        let out = output ?? defaults.output
        guard Self.isValidOutput(out) else { throw Problem.invalidOutput(out) }
        if out != defaults.output {
            request.command = Self.wrap(effective, output: out, into: defaults.output)
        } else {
            request.command = command
        }
        return request
    }

    /// `release`/`normal`/`low` or a number 1...3; nil is normal.
    static func parsePriority(_ text: String?) throws -> PriorityHint {
        guard let text else { return .normal }
        switch text.lowercased() {
        case "release", "high": return .release
        case "normal": return .normal
        case "low": return .low
        default:
            guard let number = Int(text) else { throw Problem.invalidPriority(text) }
            do { return try PriorityHint(validating: number) } catch { throw Problem.invalidPriority(text) }
        }
    }

    static func isValidOutput(_ output: String) -> Bool {
        guard !output.isEmpty, output.utf8.count <= 1024, !output.hasPrefix("/"), !output.utf8.contains(0) else { return false }
        let parts = output.split(separator: "/", omittingEmptySubsequences: true)
        return !parts.isEmpty && parts.allSatisfy { $0 != "." && $0 != ".." }
    }

    /// The program a simple command starts with (`./build.sh`, `npm`), or nil when the command starts
    /// with shell syntax this check does not interpret (assignments, groups, quotes).
    static func program(of command: String) -> String? {
        guard let first = command.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first else { return nil }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-+")
        guard first.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
        return String(first)
    }

    static let shellBuiltins: Set<String> = [
        ".", ":", "cd", "command", "echo", "eval", "exec", "exit", "export", "false", "printf", "read", "set", "test",
        "true", "type", "ulimit", "umask", "unset", "wait",
    ]

    static func programExists(_ program: String, source: String, path: String) -> Bool {
        if program.contains("/") {
            let full = program.hasPrefix("/") ? program : source + "/" + program
            return FileManager.default.isExecutableFile(atPath: full)
        }
        if shellBuiltins.contains(program) { return true }
        return path.split(separator: ":").contains { dir in
            FileManager.default.isExecutableFile(atPath: "\(dir)/\(program)")
        }
    }

    /// Runs `command`, then moves its `output` to where the scheduler publishes from (`target`).
    static func wrap(_ command: String, output: String, into target: String) -> String {
        let staging = ".wharf-output-staging"
        return
            "{ \(command)\n} && rm -rf -- \(staging) && mv -- \(quote(output)) \(staging) && rm -rf -- \(quote(target)) && mv -- \(staging) \(quote(target))"
    }

    static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

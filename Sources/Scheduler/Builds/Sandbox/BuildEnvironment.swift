import Foundation

/// The explicit environment of a build. Nothing of the scheduler's own environment reaches a build
/// (its admin token, database paths, cloud credentials) unless `inherit` names the variable: a
/// build is hostile code. What a build gets, later entries winning: a minimal base (`PATH`, `LANG`,
/// `HOME` and `TMPDIR` inside its workspace), the allowlisted variables, the configured variables,
/// Wharf's own (`WHARF_JOB_ID`, `WHARF_DEPS_CACHE`, …), and the secrets (redacted in logs).
public struct BuildEnvironment: Sendable, Equatable {
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"
    public var path: String
    var language: String
    /// Names of the scheduler's variables a build may inherit (never a `WHARF_` one: see `problems`).
    public var inherit: [String]
    /// Variables every build gets (`scheduler.build.env`).
    public var variables: [String: String]
    /// Variables every build gets whose values never reach a log, the API or a job record.
    public var secrets: [String: String]

    public init(
        path: String = BuildEnvironment.defaultPath, language: String = "C.UTF-8", inherit: [String] = [],
        variables: [String: String] = [:], secrets: [String: String] = [:]
    ) {
        self.path = path
        self.language = language
        self.inherit = inherit
        self.variables = variables
        self.secrets = secrets
    }

    /// Names that may not be inherited or set: Wharf's own configuration and secrets, and what the
    /// dynamic loader would run before the build's first line.
    static func isReserved(_ name: String) -> Bool {
        name.hasPrefix("WHARF_") || name.hasPrefix("LD_")
    }

    /// A variable name a shell accepts.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// Reasons this environment is unusable (empty when fine).
    public func problems() -> [String] {
        var found: [String] = []
        for name in inherit where !Self.isValidName(name) || Self.isReserved(name) {
            found.append("'\(name)' cannot be inherited (\(Self.isReserved(name) ? "reserved for Wharf" : "not a variable name"))")
        }
        for name in Array(variables.keys) + Array(secrets.keys) where !Self.isValidName(name) || Self.isReserved(name) {
            found.append("'\(name)' cannot be set (\(Self.isReserved(name) ? "reserved for Wharf" : "not a variable name"))")
        }
        if path.isEmpty { found.append("PATH must not be empty") }
        return found
    }

    /// The complete environment of one build.
    /// - Parameters:
    ///   - workspace: the build's working directory (`HOME` is `<workspace>/.home`, `TMPDIR` `<workspace>/.tmp`).
    ///   - wharf: Wharf's own variables for this build (`WHARF_JOB_ID`, `WHARF_DEPS_CACHE`).
    ///   - extraSecrets: per-job secrets on top of the configured ones.
    ///   - parent: the scheduler's environment, read only for the allowlisted names.
    func resolve(
        workspace: String, wharf: [String: String] = [:], extraSecrets: [String: String] = [:],
        parent: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: String] {
        var result: [String: String] = [
            "PATH": path, "LANG": language, "HOME": workspace + "/.home", "TMPDIR": workspace + "/.tmp",
            "USER": "wharf-build", "SHELL": "/bin/sh",
        ]
        for name in inherit where !Self.isReserved(name) {
            if let value = parent[name] { result[name] = value }
        }
        for (name, value) in variables where !Self.isReserved(name) { result[name] = value }
        for (name, value) in wharf { result[name] = value }
        for (name, value) in secrets.merging(extraSecrets, uniquingKeysWith: { $1 }) where !Self.isReserved(name) {
            result[name] = value
        }
        return result
    }
}

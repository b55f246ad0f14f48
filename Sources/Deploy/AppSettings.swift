import ArtifactStore
import Foundation
import HTTPCore

/// Changes to an app's registry entry, each field optional (nil: leave as is), checked before
/// anything is stored. Shared by `wharf apps add|set` and the admin API.
public struct AppSettings: Sendable, Equatable {
    public var hostnames: [String]?
    /// `.some(nil)`: uploads only; `.some((url, branch))`: a git source.
    public var git: GitSource??
    public var buildCommand: String??
    public var outputDirectory: String??
    public var targetType: String?
    public var notify: [String]?
    public var maxFiles: Int??
    public var maxBytes: Int64??
    /// Globs of files served as downloads (`[]` clears them).
    public var downloads: [String]?
    /// Content types and extensions uploads may contain (`[]`: anything).
    public var allowedTypes: [String]?
    /// Retention: the newest N deployments / those younger than D days (`.some(nil)` clears).
    public var keepDeployments: Int??
    public var keepDays: Int??
    /// Build variables to set (a value) or remove (nil), by name; others are kept.
    public var env: [String: String?] = [:]
    /// Build secrets to set (a value) or remove (nil), by name. Write-only: the registry returns
    /// their names, never their values.
    public var secrets: [String: String?] = [:]

    public struct GitSource: Sendable, Equatable {
        public var url: String
        public var branch: String
        public init(url: String, branch: String) {
            self.url = url
            self.branch = branch
        }
    }

    public init() {}

    /// The JSON keys the API accepts (besides `name` on creation).
    static let keys: Set<String> = [
        "hostnames", "git", "branch", "buildCommand", "outputDir", "targetType", "notify",
        "maxFiles", "maxBytes", "downloads", "allowedTypes", "keepDeployments", "keepDays",
        "env", "secrets",
    ]

    /// Reads settings from a JSON object (`git: null` clears the git source).
    init(json: JSONFields) throws(DeployError) {
        if let hosts = try json.strings("hostnames", maxCount: 32) { hostnames = hosts }
        if json.isNull("git") {
            git = .some(nil)
        } else if let url = try json.string("git") {
            git = .some(GitSource(url: url, branch: try json.string("branch") ?? "main"))
        } else if json.has("branch") {
            throw DeployError(400, "\"branch\" needs \"git\"")
        }
        if json.has("buildCommand") { buildCommand = .some(try json.string("buildCommand")) }
        if json.has("outputDir") { outputDirectory = .some(try json.string("outputDir")) }
        targetType = try json.string("targetType")
        notify = try json.strings("notify", maxCount: 16)
        if json.has("maxFiles") { maxFiles = .some(try json.integer("maxFiles").map { Int($0) }) }
        if json.has("maxBytes") { maxBytes = .some(try json.integer("maxBytes")) }
        if json.isNull("downloads") {
            downloads = []
        } else if let globs = try json.strings("downloads", maxCount: DownloadPattern.maxCount) {
            downloads = globs
        }
        if json.isNull("allowedTypes") {
            allowedTypes = []
        } else if let types = try json.strings("allowedTypes", maxCount: AllowedTypes.maxCount) {
            allowedTypes = types
        }
        if json.has("keepDeployments") { keepDeployments = .some(try json.integer("keepDeployments").map { Int($0) }) }
        if json.has("keepDays") { keepDays = .some(try json.integer("keepDays").map { Int($0) }) }
        env = try Self.variableChanges(json, "env")
        secrets = try Self.variableChanges(json, "secrets")
    }

    /// `{"NAME": "value" | null, …}`: values set, nulls removed (shape only; names and sizes are
    /// `applied(to:)`'s to check).
    static func variableChanges(_ json: JSONFields, _ key: String) throws(DeployError) -> [String: String?] {
        guard let value = json.fields[key], !(value is NSNull) else { return [:] }
        guard let object = value as? [String: Any] else {
            throw DeployError(400, "wrong shape: \"\(key)\" must be an object of NAME: string or null")
        }
        guard object.count <= maxBuildVariables else { throw DeployError(400, "\"\(key)\" has more than \(maxBuildVariables) names") }
        var out: [String: String?] = [:]
        for (name, element) in object {
            if element is NSNull {
                out[name] = .some(nil)
            } else if let text = element as? String {
                out[name] = .some(text)
            } else {
                throw DeployError(400, "wrong shape: \"\(key)\".\(name) must be a string or null")
            }
        }
        return out
    }

    /// At most this many build variables and this many secrets per app; each value at most 32 KiB.
    static let maxBuildVariables = 64
    static let maxBuildValueBytes = 32 << 10

    /// A build variable name as `scheduler.build.env` accepts it: a shell name (`[A-Za-z_][A-Za-z0-9_]*`,
    /// at most 128 bytes), not reserved for Wharf (`WHARF_*`) or the dynamic loader (`LD_*`).
    static func checkVariable(_ name: String, value: String?, what: String) throws(DeployError) {
        let bytes = Array(name.utf8)
        func letter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f }
        guard (1...128).contains(bytes.count), letter(bytes[0]), bytes.allSatisfy({ letter($0) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw DeployError(400, "\(what) name \"\(name.prefix(140))\" is not a variable name (A-Z a-z 0-9 _, not starting with a digit)")
        }
        guard !name.hasPrefix("WHARF_"), !name.hasPrefix("LD_") else {
            throw DeployError(400, "\(what) name \(name) is reserved (WHARF_* for Wharf, LD_* for the dynamic loader)")
        }
        if let value, value.utf8.count > maxBuildValueBytes || value.utf8.contains(0) {
            throw DeployError(400, "\(what) \(name): a value is at most \(maxBuildValueBytes) bytes, without NUL")
        }
    }

    /// `app` with these settings applied, every value checked (400 naming the first bad one).
    public func applied(to app: RegisteredApp) throws(DeployError) -> RegisteredApp {
        var out = app
        if let hostnames {
            out.hostnames = try AppSettings.checkHostnames(hostnames)
        }
        if let git {
            if let git {
                try AppSettings.checkGitURL(git.url)
                try AppSettings.checkBranch(git.branch)
                out.source = .git(url: git.url, branch: git.branch)
            } else {
                out.source = .uploads
            }
        }
        if let buildCommand {
            if let c = buildCommand, c.isEmpty || c.utf8.count > 4096 || c.utf8.contains(0) {
                throw DeployError(400, "buildCommand must be 1–4096 bytes without NUL")
            }
            out.buildCommand = buildCommand
        }
        if let outputDirectory {
            if let d = outputDirectory { try AppSettings.checkOutputDirectory(d) }
            out.outputDirectory = outputDirectory
        }
        if let targetType {
            guard (1...64).contains(targetType.utf8.count),
                targetType.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f })
            else {
                throw DeployError(400, "targetType must be a build type such as javascript_web, flutter_web, flutter_android")
            }
            out.targetType = targetType
        }
        if let notify {
            for url in notify
            where !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.utf8.count > 2048
                || url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f })
            {
                throw DeployError(400, "notify target \"\(url)\" must be an http(s) URL")
            }
            out.notify = notify
        }
        if let maxFiles {
            if let n = maxFiles, !(1...1_000_000).contains(n) { throw DeployError(400, "maxFiles must be 1–1000000") }
            out.maxFiles = maxFiles
        }
        if let maxBytes {
            if let n = maxBytes, !(1...(Int64(1) << 40)).contains(n) { throw DeployError(400, "maxBytes must be 1 byte – 1 TiB") }
            out.maxBytes = maxBytes
        }
        if let downloads {
            out.downloads = try AppSettings.checkDownloadPatterns(downloads)
        }
        if let allowedTypes {
            out.allowedTypes = try AllowedTypes.check(allowedTypes)
        }
        if let keepDeployments {
            if let n = keepDeployments, !(1...10_000).contains(n) { throw DeployError(400, "keepDeployments must be 1–10000") }
            out.keepDeployments = keepDeployments
        }
        if let keepDays {
            if let n = keepDays, !(1...36_500).contains(n) { throw DeployError(400, "keepDays must be 1–36500") }
            out.keepDays = keepDays
        }
        for (name, value) in env.sorted(by: { $0.key < $1.key }) {
            try AppSettings.checkVariable(name, value: value, what: "env")
            out.buildEnv[name] = value
        }
        guard out.buildEnv.count <= AppSettings.maxBuildVariables else {
            throw DeployError(400, "at most \(AppSettings.maxBuildVariables) build variables per app")
        }
        var secretNames = Set(out.buildSecretNames)
        for (name, value) in secrets.sorted(by: { $0.key < $1.key }) {
            try AppSettings.checkVariable(name, value: value, what: "secret")
            if value == nil { secretNames.remove(name) } else { secretNames.insert(name) }
        }
        guard secretNames.count <= AppSettings.maxBuildVariables else {
            throw DeployError(400, "at most \(AppSettings.maxBuildVariables) build secrets per app")
        }
        out.buildSecretNames = secretNames.sorted()
        return out
    }

    /// Download globs: each one a valid `DownloadPattern`, at most 32, duplicates dropped.
    static func checkDownloadPatterns(_ globs: [String]) throws(DeployError) -> [String] {
        guard globs.count <= DownloadPattern.maxCount else {
            throw DeployError(400, "at most \(DownloadPattern.maxCount) download patterns")
        }
        var out: [String] = []
        for glob in globs {
            do {
                _ = try DownloadPattern(glob)
            } catch {
                throw DeployError(400, error.description)
            }
            if !out.contains(glob) { out.append(glob) }
        }
        return out
    }

    /// Lower-cased DNS names (labels of a-z 0-9 -, no port), without duplicates.
    static func checkHostnames(_ names: [String]) throws(DeployError) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for raw in names {
            var name = raw.lowercased()
            if name.hasSuffix(".") { name.removeLast() }
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            guard (1...253).contains(name.utf8.count),
                labels.allSatisfy({ label in
                    (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                        && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
                })
            else {
                throw DeployError(400, "host name \"\(raw)\" is not a DNS name (no port, no scheme)")
            }
            if seen.insert(name).inserted { out.append(name) }
        }
        return out
    }

    static func checkGitURL(_ url: String) throws(DeployError) {
        let schemes = ["https://", "http://", "ssh://", "git://", "file://", "git@", "/"]
        guard (1...2048).contains(url.utf8.count), schemes.contains(where: { url.hasPrefix($0) }),
            !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }), !url.hasPrefix("-")
        else {
            throw DeployError(400, "git URL \"\(url)\" must be https://, ssh://, git://, file://, git@host:path or an absolute path")
        }
    }

    static func checkBranch(_ branch: String) throws(DeployError) {
        guard (1...255).contains(branch.utf8.count), !branch.hasPrefix("-"), !branch.contains(".."), !branch.hasSuffix("/"),
            !branch.hasPrefix("/"),
            branch.utf8.allSatisfy({ b in
                (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f
                    || b == 0x2e || b == 0x2f
            })
        else {
            throw DeployError(400, "branch \"\(branch)\" is not a plain branch name")
        }
    }

    static func checkOutputDirectory(_ dir: String) throws(DeployError) {
        guard (1...1024).contains(dir.utf8.count), !dir.hasPrefix("/"), !dir.contains("\\"),
            !dir.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }),
            !dir.split(separator: "/").contains("..")
        else {
            throw DeployError(400, "outputDir \"\(dir)\" must be a relative path inside the source")
        }
    }
}

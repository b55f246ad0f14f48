import ArtifactStore
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
    static let keys: Set<String> = ["hostnames", "git", "branch", "buildCommand", "outputDir", "targetType", "notify",
                                    "maxFiles", "maxBytes", "downloads", "allowedTypes", "keepDeployments", "keepDays"]

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
                  targetType.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }) else {
                throw DeployError(400, "targetType must be a build type such as javascript_web, flutter_web, flutter_android")
            }
            out.targetType = targetType
        }
        if let notify {
            for url in notify where !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.utf8.count > 2048
                || url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) {
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
            guard (1...253).contains(name.utf8.count), labels.allSatisfy({ label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            }) else {
                throw DeployError(400, "host name \"\(raw)\" is not a DNS name (no port, no scheme)")
            }
            if seen.insert(name).inserted { out.append(name) }
        }
        return out
    }

    static func checkGitURL(_ url: String) throws(DeployError) {
        let schemes = ["https://", "http://", "ssh://", "git://", "file://", "git@", "/"]
        guard (1...2048).contains(url.utf8.count), schemes.contains(where: { url.hasPrefix($0) }),
              !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }), !url.hasPrefix("-") else {
            throw DeployError(400, "git URL \"\(url)\" must be https://, ssh://, git://, file://, git@host:path or an absolute path")
        }
    }

    static func checkBranch(_ branch: String) throws(DeployError) {
        guard (1...255).contains(branch.utf8.count), !branch.hasPrefix("-"), !branch.contains(".."), !branch.hasSuffix("/"),
              !branch.hasPrefix("/"), branch.utf8.allSatisfy({ b in
                  (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f
                      || b == 0x2e || b == 0x2f
              }) else {
            throw DeployError(400, "branch \"\(branch)\" is not a plain branch name")
        }
    }

    static func checkOutputDirectory(_ dir: String) throws(DeployError) {
        guard (1...1024).contains(dir.utf8.count), !dir.hasPrefix("/"), !dir.contains("\\"),
              !dir.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }),
              !dir.split(separator: "/").contains("..") else {
            throw DeployError(400, "outputDir \"\(dir)\" must be a relative path inside the source")
        }
    }
}

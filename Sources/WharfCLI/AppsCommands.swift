import ArgumentParser
import ArtifactStore
import Deploy
import Foundation
import Glibc

/// `wharf apps add|list|show|set|remove|token`: the app registry in the local store (the admin
/// API's `/_wharf/api/registry` does the same remotely). Stored secrets are never printed; a new
/// token is shown once (or written to `--token-file`, mode 0600).
struct AppsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps", abstract: "Register apps for deploys and manage their deploy tokens.",
        subcommands: [
            AppsAddCommand.self, AppsListCommand.self, AppsShowCommand.self, AppsSetCommand.self,
            AppsRemoveCommand.self, AppsTokenCommand.self,
        ])
}

/// The settings flags `add` and `set` share.
struct AppSettingsOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: "A host name the edge routes to the app (repeatable; on set, replaces the list).")
    var hosts: [String] = []
    @Option(help: "Git repository URL of the source (else: uploads only).") var git: String?
    @Option(help: "Branch whose pushes are built (default main).") var branch: String?
    @Flag(help: "set: drop the git source (uploads only).") var uploadsOnly = false
    @Option(name: .customLong("build-cmd"), help: "Build command.") var buildCommand: String?
    @Option(name: .customLong("output-dir"), help: "Build output directory, relative to the source.") var outputDirectory: String?
    @Option(name: .customLong("type"), help: "Target type: javascript_web, flutter_web, flutter_android, …") var targetType: String?
    @Option(name: .customLong("notify"), help: "URL notified about deploys (repeatable; on set, replaces the list).") var notify: [String] = []
    @Option(help: "Upload quota: files per deployment (default: deploy.max_files).") var maxFiles: Int?
    @Option(help: "Upload quota: bytes per deployment (default: deploy.max_bytes).") var maxBytes: Int64?
    @Option(
        name: .customLong("download"),
        help:
            "A glob of files served as downloads besides apk, ipa, zip… (repeatable; on set, replaces the list). '*.bin' matches names, '/releases/**' paths."
    )
    var downloads: [String] = []
    @Flag(help: "set: drop the app's download globs.") var noDownloads = false
    @Option(
        name: .customLong("allow-type"),
        help: "A content type (image/png, text/*) or extension (.apk) uploads may contain (repeatable; on set, replaces the list; none: anything).")
    var allowedTypes: [String] = []
    @Flag(help: "set: allow any type again.") var noAllowedTypes = false
    @Option(help: "Retention: keep the newest N deployments (0 on set: the store default).") var keepDeployments: Int?
    @Option(help: "Retention: keep deployments younger than D days (0 on set: no age rule).") var keepDays: Int?
    @Option(name: .customLong("env"), help: "NAME=VALUE: a variable every build of the app gets (repeatable).") var env: [String] = []
    @Option(
        name: .customLong("secret"),
        help: "NAME=VALUE: a build secret (repeatable; stored sealed, redacted as *** in build logs, never shown again).")
    var secrets: [String] = []
    @Option(name: .customLong("secret-file"), help: "NAME=PATH: a build secret read from a file (one trailing newline dropped).")
    var secretFiles: [String] = []
    @Option(name: .customLong("unset-env"), help: "Remove a build variable (repeatable).") var unsetEnv: [String] = []
    @Option(name: .customLong("unset-secret"), help: "Remove a build secret (repeatable).") var unsetSecrets: [String] = []

    /// `NAME=VALUE` split at the first `=`.
    static func pair(_ text: String, flag: String) throws -> (String, String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("\(flag) expects NAME=VALUE, got '\(text.prefix(60).split(separator: "=").first ?? "")'")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    func settings() throws -> AppSettings {
        var s = AppSettings()
        for item in env {
            let (name, value) = try Self.pair(item, flag: "--env")
            s.env[name] = .some(value)
        }
        for name in unsetEnv { s.env[name] = .some(nil) }
        for item in secrets {
            let (name, value) = try Self.pair(item, flag: "--secret")
            s.secrets[name] = .some(value)
        }
        for item in secretFiles {
            let (name, path) = try Self.pair(item, flag: "--secret-file")
            guard var value = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("--secret-file \(name): cannot read \(path) as UTF-8 text")
            }
            if value.hasSuffix("\n") { value.removeLast() }
            s.secrets[name] = .some(value)
        }
        for name in unsetSecrets { s.secrets[name] = .some(nil) }
        if !hosts.isEmpty { s.hostnames = hosts }
        if let git { s.git = .some(.init(url: git, branch: branch ?? "main")) } else if uploadsOnly { s.git = .some(nil) }
        if let buildCommand { s.buildCommand = .some(buildCommand) }
        if let outputDirectory { s.outputDirectory = .some(outputDirectory) }
        s.targetType = targetType
        if !notify.isEmpty { s.notify = notify }
        if let maxFiles { s.maxFiles = .some(maxFiles) }
        if let maxBytes { s.maxBytes = .some(maxBytes) }
        if !downloads.isEmpty { s.downloads = downloads } else if noDownloads { s.downloads = [] }
        if !allowedTypes.isEmpty { s.allowedTypes = allowedTypes } else if noAllowedTypes { s.allowedTypes = [] }
        if let keepDeployments { s.keepDeployments = .some(keepDeployments == 0 ? nil : keepDeployments) }
        if let keepDays { s.keepDays = .some(keepDays == 0 ? nil : keepDays) }
        return s
    }
}

/// Runs a registry call, turning a refusal into a message and exit 1.
func registryCall<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DeployError {
        FileHandle.standardError.write(Data("wharf: \(error.message)\n".utf8))
        throw ExitCode(1)
    }
}

/// Writes a secret to `path` (created 0600, never over an existing file) or prints it.
func deliverSecret(_ secret: String, to path: String?, what: String) throws {
    guard let path else {
        print(secret)
        return
    }
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ValidationError("cannot create \(path) for the \(what): \(String(cString: strerror(errno)))") }
    defer { Glibc.close(fd) }
    let bytes = Array((secret + "\n").utf8)
    guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw ValidationError("cannot write \(path)") }
    FileHandle.standardError.write(Data("wharf: \(what) written to \(path)\n".utf8))
}

func describe(_ app: RegisteredApp) -> [String] {
    var lines = ["name: \(app.name)"]
    lines.append("hostnames: \(app.hostnames.joined(separator: ", "))")
    switch app.source {
    case .uploads: lines.append("source: uploads only")
    case .git(let url, let branch): lines.append("source: git \(url) branch \(branch)")
    }
    lines.append("build_cmd: \(app.buildCommand ?? "-")")
    lines.append("output_dir: \(app.outputDirectory ?? "-")")
    lines.append("type: \(app.targetType)")
    lines.append("notify: \(app.notify.joined(separator: ", "))")
    lines.append("quota: \(app.maxFiles.map(String.init) ?? "default") files, \(app.maxBytes.map(String.init) ?? "default") bytes")
    lines.append("downloads: \(app.downloads.isEmpty ? "-" : app.downloads.joined(separator: " "))")
    lines.append("allowed_types: \(app.allowedTypes.isEmpty ? "any" : app.allowedTypes.joined(separator: " "))")
    var retention: [String] = []
    if let n = app.keepDeployments { retention.append("newest \(n)") }
    if let d = app.keepDays { retention.append("younger than \(d) days") }
    lines.append("retention: \(retention.isEmpty ? "store default" : retention.joined(separator: " or ") + ", live and previous always")")
    lines.append(
        "env: \(app.buildEnv.isEmpty ? "-" : app.buildEnv.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    lines.append("secrets: \(app.buildSecretNames.isEmpty ? "-" : app.buildSecretNames.joined(separator: " ") + " (values not shown)")")
    lines.append("webhook_secret: \(app.hasWebhookSecret ? "set (not shown)" : "none")")
    return lines
}

struct AppsAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Register an app; prints its first deploy token once.")
    @OptionGroup var store: StoreLocation
    @Argument(help: "App name (a-z, 0-9, '-').") var name: String
    @OptionGroup var options: AppSettingsOptions
    @Option(help: "Write the deploy token to this new file (0600) instead of printing it.") var tokenFile: String?
    @Option(help: "Write the webhook secret to this new file (0600); otherwise it is not shown.") var webhookSecretFile: String?

    func run() throws {
        let service = AppRegistryService(store: try store.open())
        let created = try registryCall { try service.add(name, settings: try options.settings()) }
        FileHandle.standardError.write(Data("wharf: registered \(name); deploy token \(created.token.id) (shown once)\n".utf8))
        try deliverSecret(created.token.text, to: tokenFile, what: "deploy token")
        if let webhookSecretFile { try deliverSecret(created.webhookSecret, to: webhookSecretFile, what: "webhook secret") }
    }
}

struct AppsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List registered apps.")
    @OptionGroup var store: StoreLocation

    func run() throws {
        for app in try AppRegistryService(store: try store.open()).list() {
            let source = if case .git(let url, let branch) = app.source { "git \(url)#\(branch)" } else { "uploads" }
            print(
                [app.name, app.targetType, source, app.hostnames.isEmpty ? "-" : app.hostnames.joined(separator: ",")]
                    .joined(separator: "\t"))
        }
    }
}

struct AppsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an app's registry entry (no secrets).")
    @OptionGroup var store: StoreLocation
    @Argument var name: String

    func run() throws {
        let service = AppRegistryService(store: try store.open())
        let app = try registryCall { try service.show(name) }
        for line in describe(app) { print(line) }
        for token in try service.tokens(app: name) {
            print("token: \(token.id) \(token.scope.rawValue)\(token.revokedAt != nil ? " revoked" : "")")
        }
    }
}

struct AppsSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change an app's registry entry.")
    @OptionGroup var store: StoreLocation
    @Argument var name: String
    @OptionGroup var options: AppSettingsOptions
    @Flag(help: "Make a new webhook secret (written to --webhook-secret-file).") var rotateWebhookSecret = false
    @Option(help: "Where to write a rotated webhook secret (new file, 0600).") var webhookSecretFile: String?

    func run() throws {
        if rotateWebhookSecret && webhookSecretFile == nil {
            throw ValidationError("--rotate-webhook-secret needs --webhook-secret-file (secrets are not printed)")
        }
        let service = AppRegistryService(store: try store.open())
        let app = try registryCall { try service.set(name, settings: try options.settings()) }
        if rotateWebhookSecret {
            try deliverSecret(try registryCall { try service.rotateWebhookSecret(name) }, to: webhookSecretFile, what: "webhook secret")
        }
        for line in describe(app) { print(line) }
    }
}

struct AppsRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Unregister an app (its deployments stay).")
    @OptionGroup var store: StoreLocation
    @Argument var name: String

    func run() throws {
        try registryCall { try AppRegistryService(store: try store.open()).remove(name) }
        FileHandle.standardError.write(Data("wharf: unregistered \(name)\n".utf8))
    }
}

/// `wharf apps token create|list|rotate|revoke APP …`.
struct AppsTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Deploy tokens: create, list, rotate, revoke.",
        subcommands: [Create.self, List.self, Rotate.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token (deploy: upload and promote; read: read only).")
        @OptionGroup var store: StoreLocation
        @Argument var app: String
        @Option(help: "deploy or read.") var scope: String = "deploy"
        @Option(help: "Write the token to this new file (0600) instead of printing it.") var tokenFile: String?

        func run() throws {
            guard let scope = AppTokenRecord.Scope(rawValue: scope) else { throw ValidationError("--scope must be deploy or read") }
            let token = try registryCall { try AppRegistryService(store: try store.open()).createToken(app: app, scope: scope) }
            FileHandle.standardError.write(Data("wharf: token \(token.id) (\(scope.rawValue)) for \(app), shown once\n".utf8))
            try deliverSecret(token.text, to: tokenFile, what: "deploy token")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an app's tokens (ids and scopes only).")
        @OptionGroup var store: StoreLocation
        @Argument var app: String

        func run() throws {
            for token in try registryCall({ try AppRegistryService(store: try store.open()).tokens(app: app) }) {
                print([token.id, token.scope.rawValue, token.revokedAt == nil ? "live" : "revoked"].joined(separator: "\t"))
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a token a new secret (the old one stops working).")
        @OptionGroup var store: StoreLocation
        @Argument var app: String
        @Argument var id: String
        @Option(help: "Write the token to this new file (0600) instead of printing it.") var tokenFile: String?

        func run() throws {
            let token = try registryCall { try AppRegistryService(store: try store.open()).rotateToken(app: app, id: id) }
            try deliverSecret(token.text, to: tokenFile, what: "deploy token")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token.")
        @OptionGroup var store: StoreLocation
        @Argument var app: String
        @Argument var id: String

        func run() throws {
            try registryCall { try AppRegistryService(store: try store.open()).revokeToken(app: app, id: id) }
            FileHandle.standardError.write(Data("wharf: token \(id) revoked\n".utf8))
        }
    }
}

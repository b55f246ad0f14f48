/// An app registered for deploys: where its source comes from, how it is built, which host
/// names serve it, where to tell about deploys, and its upload quota. Secrets (the webhook
/// secret, token digests) are not part of this value, so encoding it never leaks one.
public struct RegisteredApp: Sendable, Equatable, Codable {
    /// Where builds take the source from.
    public enum Source: Sendable, Equatable, Codable {
        /// Deployed only by uploads (`wharf deploy`).
        case uploads
        /// A git repository and the branch whose pushes are built.
        case git(url: String, branch: String)
    }

    public var name: String
    /// Host names (lower case, no port) the edge routes to this app.
    public var hostnames: [String]
    public var source: Source
    public var buildCommand: String?
    public var outputDirectory: String?
    /// `javascript_web`, `flutter_web`, `flutter_android`, … (the scheduler's build types).
    public var targetType: String
    /// URLs notified about deploys.
    public var notify: [String]
    /// Per-app upload quota; nil: the configured default.
    public var maxFiles: Int?
    public var maxBytes: Int64?
    /// Globs naming extra files the edge serves as downloads (`Content-Disposition: attachment`,
    /// listed on `/_downloads`) besides the extensions `DownloadPolicy` always treats so.
    public var downloads: [String]
    /// Content types (`image/png`, `text/*`) and extensions (`.apk`) an upload may contain;
    /// empty: anything. A file outside the list is refused (415) when the manifest or archive
    /// arrives.
    public var allowedTypes: [String]
    /// Retention: keep the newest N deployments and/or those younger than D days (either keeps
    /// one); nil for both: the store's default (`retainedDeploymentsPerApp`). The live deployment
    /// and the one before it are always kept.
    public var keepDeployments: Int?
    public var keepDays: Int?
    /// Variables every build of the app gets (`--env NAME=VALUE`).
    public var buildEnv: [String: String]
    /// Names of the app's build secrets, sorted (their values are sealed in the store and never
    /// part of this value).
    public var buildSecretNames: [String]
    /// Whether a webhook secret is set (the secret itself is never returned).
    public var hasWebhookSecret: Bool
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        name: String, hostnames: [String] = [], source: Source = .uploads, buildCommand: String? = nil,
        outputDirectory: String? = nil, targetType: String = "javascript_web", notify: [String] = [],
        maxFiles: Int? = nil, maxBytes: Int64? = nil, downloads: [String] = [], allowedTypes: [String] = [],
        keepDeployments: Int? = nil, keepDays: Int? = nil, buildEnv: [String: String] = [:], buildSecretNames: [String] = [],
        hasWebhookSecret: Bool = false,
        createdAt: Int64 = 0, updatedAt: Int64 = 0
    ) {
        self.name = name
        self.hostnames = hostnames
        self.source = source
        self.buildCommand = buildCommand
        self.outputDirectory = outputDirectory
        self.targetType = targetType
        self.notify = notify
        self.maxFiles = maxFiles
        self.maxBytes = maxBytes
        self.downloads = downloads
        self.allowedTypes = allowedTypes
        self.keepDeployments = keepDeployments
        self.keepDays = keepDays
        self.buildEnv = buildEnv
        self.buildSecretNames = buildSecretNames
        self.hasWebhookSecret = hasWebhookSecret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A deploy token as stored: its public id, app, scope and the SHA-256 of its secret part.
public struct AppTokenRecord: Sendable, Equatable {
    /// What a token may do: `deploy` (upload, finalize, promote one app; read it) or `read`.
    public enum Scope: String, Sendable, Codable, CaseIterable {
        case deploy, read
    }

    /// 16 lower-case hex digits, part of the token string and safe to print.
    public var id: String
    public var app: String
    public var scope: Scope
    /// SHA-256 of the secret part, 64 hex digits.
    public var secretSHA256: String
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(id: String, app: String, scope: Scope, secretSHA256: String, createdAt: Int64, revokedAt: Int64? = nil) {
        self.id = id
        self.app = app
        self.scope = scope
        self.secretSHA256 = secretSHA256
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

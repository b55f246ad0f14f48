/// One published, immutable version of an app: everything the edge needs to answer a request
/// for any of its paths without reading HTML or compressing anything.
public struct DeploymentManifest: Sendable, Codable, Equatable {
    /// Sortable, unique id such as `20261122T031502Z-3f9a1c`.
    public var id: String
    public var app: String
    /// Free-form version label (`--version`), for people.
    public var version: String?
    /// Free-form message (`--message`), for people.
    public var message: String?
    /// Milliseconds since the Unix epoch.
    public var createdAt: Int64
    /// Source metadata given at publish (commit, branch, builder…).
    public var metadata: [String: String]
    /// URL path (`/index.html`, `/assets/app.3f9a1c2e.js`) to entry.
    public var files: [String: ManifestEntry]
    /// The page served for `/` and SPA fallbacks: `/index.html` when the deployment has one.
    public var entryPoint: String?

    public init(
        id: String, app: String, version: String?, message: String?, createdAt: Int64,
        metadata: [String: String], files: [String: ManifestEntry], entryPoint: String?
    ) {
        self.id = id
        self.app = app
        self.version = version
        self.message = message
        self.createdAt = createdAt
        self.metadata = metadata
        self.files = files
        self.entryPoint = entryPoint
    }

    /// Sum of identity sizes.
    public var totalSize: Int64 { files.values.reduce(0) { $0 + $1.size } }
}

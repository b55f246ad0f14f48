/// What to publish: a built directory for an app, with labels for people.
public struct PublishRequest: Sendable {
    public var app: String
    public var directory: String
    public var version: String?
    public var message: String?
    /// Source metadata (commit, branch, builder…), stored in the manifest.
    public var metadata: [String: String]
    /// Switch the app's alias to the new deployment (the default); false only stores it.
    public var activate: Bool

    public init(
        app: String, directory: String, version: String? = nil, message: String? = nil,
        metadata: [String: String] = [:], activate: Bool = true
    ) {
        self.app = app
        self.directory = directory
        self.version = version
        self.message = message
        self.metadata = metadata
        self.activate = activate
    }
}

/// Progress of a publish, for a TTY progress line.
public struct PublishProgress: Sendable {
    public enum Phase: String, Sendable { case storing, compressing, committing }
    public var phase: Phase
    public var done: Int
    public var total: Int
}

/// What a publish did, beyond the manifest.
public struct PublishReport: Sendable {
    public var deployment: DeploymentManifest
    /// Blobs (identity) that were new to the store, and those already present.
    public var newBlobs: Int
    var reusedBlobs: Int
    /// Variants compressed by this publish (reused ones are not counted).
    public var variantsCreated: Int
    /// RFC 9842 `dcz` deltas against earlier versions made by this publish (and kept).
    public var deltasCreated: Int = 0
    public var seconds: Double
}

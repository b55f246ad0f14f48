/// Puts an app's files into the edge's response cache ahead of traffic. The scheduler cannot import
/// the edge, so the CLI wiring implements this over the edge's `CacheWarmer`.
public protocol Preloader: Sendable {
    /// Bytes the response cache may hold in all: the warm batch's eviction cap is a share of it.
    var cacheBudgetBytes: Int { get }

    /// Preloads `paths` (hottest first; every representation the deployment has) of `app`'s current
    /// deployment, in order, evicting at most `maxEvictedBytes` of other entries in all. An app the
    /// edge does not serve is an error.
    func preload(app: String, paths: [String], maxEvictedBytes: Int) async throws -> PreloadResult
}

/// What one app's preload did.
public struct PreloadResult: Sendable, Equatable, Codable {
    /// The deployment the files came from.
    public var deployment: String
    /// Representations loaded into the cache.
    public var loaded: Int
    /// Representations not loaded (already cached, missing, or no room within the eviction cap).
    public var skipped: Int
    /// Body bytes now held in memory because of this preload.
    public var bytes: Int
    /// Bytes of other entries evicted to make room.
    public var evictedBytes: Int

    public init(deployment: String, loaded: Int, skipped: Int, bytes: Int, evictedBytes: Int) {
        self.deployment = deployment
        self.loaded = loaded
        self.skipped = skipped
        self.bytes = bytes
        self.evictedBytes = evictedBytes
    }
}

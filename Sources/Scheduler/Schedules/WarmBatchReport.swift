import Foundation

/// What a warm batch did, app by app, for `wharf warm`, the cron log and the admin API.
public struct WarmBatchReport: Sendable, Equatable, Codable {
    /// One popular app's part of the batch.
    public struct AppResult: Sendable, Equatable, Codable {
        public var app: String
        public var score: Double
        /// "queued" (a cache_warm build), "cached" (its source is in the build cache), "pending" (a build
        /// of it is already queued or running), "no_source" (never built here), or "error: …".
        public var build: String
        public var jobID: Int64?
        /// Paths asked for, hottest first.
        public var paths: [String]
        public var preload: PreloadResult?
        var preloadError: String?
    }

    public var apps: [AppResult] = []
    var queued: Int = 0
    /// Representations preloaded into the response cache, and their body bytes.
    var preloaded: Int = 0
    public var bytes: Int = 0
    public var evictedBytes: Int = 0
    var maxEvictedBytes: Int = 0
    public var seconds: Double = 0

    /// One line for logs and the cron table.
    public var summary: String {
        "warm: \(apps.count) apps, \(queued) builds queued, \(preloaded) representations preloaded ("
            + "\(bytes) bytes, \(evictedBytes) of at most \(maxEvictedBytes) bytes evicted) in "
            + String(format: "%.3f", seconds) + " s"
    }
}

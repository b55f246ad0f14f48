import ArtifactStore
import Foundation
import HTTPCore

/// `GET /_wharf/api/dashboard/apps/{app}[?paths=N]`: what the Apps page shows of one app beyond
/// its deployments: its popularity (the decayed request score the scheduler and the warm batch
/// use), its hottest paths, and how much of its live deployment the edge's response cache holds.
///
/// Popularity and hot paths are read from the store's popularity tables (as of the last flush of
/// the edge's access counts, every `popularity.flush_interval_s`), not kept again in memory: the
/// page shows the very numbers `wharf popular` prints. The cache figures are counted on the spot
/// from the response cache's index (no lookup is counted, no LRU order changes); the last warm is
/// what the warm batch's preloader recorded in this process (`DashboardWarmLog`).
struct DashboardAppDetail: Sendable {
    let edge: EdgeServer
    let popularity: Popularity?
    let warmLog: DashboardWarmLog

    /// Hot paths listed by default and at most.
    static let defaultPaths = 10
    static let maxPaths = 50

    struct PopularityJSON: Encodable {
        /// Decayed request count now.
        var score: Double
        var requests: Int
        var bytes: Int
        /// Seconds since the Unix epoch of the last flushed request.
        var lastSeen: Double
        var halfLifeHours: Double
    }

    struct HotPath: Encodable {
        var path: String
        var score: Double
        var requests: Int
        var bytes: Int
        /// Seconds since the Unix epoch.
        var lastSeen: Double
        /// Whether the file this path serves (as the edge resolves it) has a representation in
        /// the response cache; nil when the live deployment has no such file.
        var cached: Bool?
    }

    struct CacheJSON: Encodable {
        var deployment: String
        /// Files of the live deployment, and how many have at least one representation cached.
        var files: Int
        var filesCached: Int
        /// Representations (identity and each stored content coding) and how many are cached.
        var representations: Int
        var representationsCached: Int
        /// Body bytes of the cached representations.
        var bytesCached: Int64
    }

    struct AppJSON: Encodable {
        var app: String
        /// nil: no traffic recorded for the app yet, or no popularity table wired (see `popularityKnown`).
        var popularity: PopularityJSON?
        var popularityKnown: Bool
        var hotPaths: [HotPath]
        /// nil: the edge serves no deployment of the app.
        var cache: CacheJSON?
        /// The warm batch's latest preload of the app in this process; nil when none since start.
        var lastWarm: DashboardWarmLog.Record?
    }

    func respond(_ request: AdminRequest) throws -> AdminResponse {
        let app = request.parameters["app"] ?? ""
        // Checked before any lookup: a hostile name (traversal, overlong, odd bytes) never reaches SQL.
        guard app.utf8.count <= 63 else { throw AdminError(400, "an app name is at most 63 bytes") }
        guard AppName.isSafe(app) else { throw AdminError(400, "not an app name (a-z, 0-9 and -)") }
        let limit = try Self.pathLimit(request.queryItems["paths"])
        let served = edge.catalog.snapshot.apps[app]
        let known = try served != nil || edge.store.apps().contains(app)
        guard known else { throw AdminError(404, "no app \"\(app)\"") }
        let now = Date()
        var out = AppJSON(
            app: app, popularity: nil, popularityKnown: popularity != nil, hotPaths: [], cache: nil,
            lastWarm: warmLog.last(app: app))
        if let popularity {
            if let entry = try popularity.app(app, now: now) {
                out.popularity = PopularityJSON(
                    score: entry.score, requests: entry.requests, bytes: entry.bytes,
                    lastSeen: entry.lastSeen.timeIntervalSince1970, halfLifeHours: popularity.decay.halfLife / 3600)
            }
            out.hotPaths = try popularity.hottestPaths(app: app, limit: limit, now: now).map { entry in
                let path = entry.path ?? ""
                return HotPath(
                    path: path, score: entry.score, requests: entry.requests, bytes: entry.bytes,
                    lastSeen: entry.lastSeen.timeIntervalSince1970, cached: served?.lookup(path).map(isCached))
            }
        }
        if let served { out.cache = cacheState(served) }
        return AdminJSON.response(out)
    }

    /// `?paths=N`: 1…50, default 10; anything else 400.
    static func pathLimit(_ text: String?) throws -> Int {
        guard let text else { return defaultPaths }
        guard text.utf8.count <= 3, let n = Int(text), (1...maxPaths).contains(n) else {
            throw AdminError(400, "paths must be 1...\(maxPaths)")
        }
        return n
    }

    private func isCached(_ file: ServedFile) -> Bool {
        file.representations.contains { $0.map { edge.cache.contains($0.cacheKey) } ?? false }
    }

    func cacheState(_ served: ServedDeployment) -> CacheJSON {
        var state = CacheJSON(
            deployment: served.id, files: served.files.count, filesCached: 0, representations: 0,
            representationsCached: 0, bytesCached: 0)
        for file in served.files.values {
            var any = false
            for case let representation? in file.representations {
                state.representations += 1
                if edge.cache.contains(representation.cacheKey) {
                    state.representationsCached += 1
                    state.bytesCached += representation.size
                    any = true
                }
            }
            if any { state.filesCached += 1 }
        }
        return state
    }
}

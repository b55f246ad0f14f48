import ArtifactStore
import HTTPCore

/// Preloads representations of an app's current deployment into the response cache, so the
/// first requests for them are hits with no disk read. Used by `POST /_wharf/api/warm` and,
/// through the CLI wiring, by the scheduler's warm batch. Blocks on disk: call it off-loop.
public struct CacheWarmer: Sendable {
    /// What happened to one (path, coding) pair.
    public struct Item: Sendable, Codable, Equatable {
        /// The path as asked for.
        public var path: String
        /// The deployment file it resolved to (`/` → `/index.html`, SPA fallback); nil if none.
        public var file: String?
        public var encoding: String
        /// "loaded", or why not: "cached" (already held), "not_found", "no_variant",
        /// "not_kept" (larger than the cache can hold or eviction limit reached), "error".
        public var outcome: String
        /// Bytes of the representation loaded (0 unless loaded).
        public var bytes: Int
        /// True when the body is over the sendfile threshold: the cache holds the open file.
        public var sendfile: Bool
        public var error: String?
    }

    /// The result of one warm request.
    public struct Report: Sendable, Codable, Equatable {
        public var app: String
        public var deployment: String
        public var loaded: Int
        public var skipped: Int
        /// Body bytes now held in memory because of this warm (sendfile entries count 0).
        public var bytes: Int
        public var items: [Item]
    }

    let catalog: DeploymentCatalog
    let cache: ResponseCache
    let loader: BodyLoader

    public init(edge: EdgeServer) {
        catalog = edge.catalog
        cache = edge.cache
        let threshold = BodyLoader.sendfileThreshold(configured: edge.configuration.sendfileThresholdBytes, cacheBytes: edge.configuration.cacheBytes)
        loader = BodyLoader(store: edge.store, sendfileThreshold: threshold, missingBlobs: edge.missingBlobs)
    }

    /// The coding for a token ("br", "zstd", "gzip", "identity"), or nil.
    public static func coding(_ token: String) -> ContentCoding? {
        ContentCoding.allCases.first { $0.token == token }
    }

    /// Loads `paths` × `codings` of `app`'s current deployment (nil codings: every
    /// representation each file has). Paths resolve as the edge resolves them (`/` → index.html).
    /// `maxEvictedBytesPerEntry` bounds what one insert may evict (a warm should not flush the
    /// cache's hot set). Throws `AdminError` 404 when the app is not served.
    public func warm(
        app: String, paths: [String], codings: [ContentCoding]?,
        maxEvictedBytesPerEntry: Int = .max
    ) throws -> Report {
        guard let deployment = catalog.snapshot.apps[app] else { throw AdminError(404, "app \"\(app)\" is not served") }
        var report = Report(app: app, deployment: deployment.id, loaded: 0, skipped: 0, bytes: 0, items: [])
        for path in paths {
            guard let file = deployment.lookup(path) else {
                for coding in codings ?? [.identity] {
                    report.items.append(Item(path: path, file: nil, encoding: coding.token, outcome: "not_found", bytes: 0, sendfile: false))
                }
                continue
            }
            let wanted = codings ?? ContentCoding.allCases.filter { file.representation($0) != nil }
            for coding in wanted {
                report.items.append(warmOne(path, file, coding, maxEvicted: maxEvictedBytesPerEntry))
            }
        }
        for item in report.items {
            if item.outcome == "loaded" {
                report.loaded += 1
                if !item.sendfile { report.bytes += item.bytes }
            } else {
                report.skipped += 1
            }
        }
        return report
    }

    private func warmOne(_ path: String, _ file: ServedFile, _ coding: ContentCoding, maxEvicted: Int) -> Item {
        var item = Item(path: path, file: file.entry.path, encoding: coding.token, outcome: "loaded", bytes: 0, sendfile: false)
        guard let rep = file.representation(coding) else {
            item.outcome = "no_variant"
            return item
        }
        if cache.contains(rep.cacheKey) {
            item.outcome = "cached"
            return item
        }
        let entry: ResponseCache.Entry
        do {
            switch try loader.load(file, rep) {
            case .bytes(let bytes):
                entry = ResponseCache.Entry(fixedHeaders: [], body: bytes)
                item.bytes = bytes.count
            case .file(let open):
                entry = ResponseCache.Entry(fixedHeaders: [], body: [], file: open)
                item.bytes = Int(open.length)
                item.sendfile = true
            }
        } catch {
            item.outcome = "error"
            item.error = "\(error)"
            return item
        }
        if !cache.insert(rep.cacheKey, entry, maxEvictedBytes: maxEvicted) {
            item.outcome = "not_kept"
            item.bytes = 0
        }
        return item
    }
}

import ArtifactStore
import HTTPCore

/// One file of a deployment as the edge serves it: every representation (identity and each
/// precompressed variant) with the header fields that never change for it, prebuilt once when
/// the deployment is loaded, so a request only adds its status line, Date and Content-Length.
public final class ServedFile: Sendable {
    /// One representation (a content coding) of the file.
    /// A class, not a struct: plans pass it around per request, and one reference costs one
    /// retain where a struct of arrays and strings costs one per field.
    public final class Representation: Sendable {
        public let coding: ContentCoding
        public let size: Int64
        public let etag: EntityTag
        /// `Content-Type … Link` fields, each ending in CRLF, for a 200/206 (no Content-Length).
        public let fixedHeaders: [UInt8]
        /// The validator fields a 304 repeats (ETag, Cache-Control, Vary, Last-Modified…).
        public let notModifiedHeaders: [UInt8]
        public let cacheKey: ResponseCache.Key
        /// The whole head of a `200 OK` for this representation except `Date`, the connection
        /// field and the final blank line (`ResponseDate` supplies those, once per second): the
        /// common response needs no head assembly at all.
        public let okHead: [UInt8]
        /// The blob holding these bytes (identity, a variant or a delta).
        public let blobHash: String

        init(
            coding: ContentCoding, size: Int64, etag: EntityTag, fixedHeaders: [UInt8], notModifiedHeaders: [UInt8],
            cacheKey: ResponseCache.Key, blobHash: String
        ) {
            self.coding = coding
            self.blobHash = blobHash
            self.size = size
            self.etag = etag
            self.fixedHeaders = fixedHeaders
            self.notModifiedHeaders = notModifiedHeaders
            self.cacheKey = cacheKey
            var head = ResponseHeadWriter(status: 200, server: "wharf")
            head.contentLength(size)
            head.fieldLines(fixedHeaders)
            self.okHead = head.bytes
        }
    }

    public let deploymentID: String
    public let entry: ManifestEntry
    public let available: AvailableCodings
    /// Indexed by `ContentCoding.rawValue`; nil where the file has no such variant.
    public let representations: [Representation?]
    /// The `Link` value for preload hints ("" when none).
    public let linkValue: String
    public let isHTML: Bool
    /// Served as a download (`Content-Disposition: attachment`, listed on `/_downloads`).
    public let isDownload: Bool
    /// The `Content-Type` sent: the manifest's, or for a download stored as
    /// `application/octet-stream` the type its extension names (an APK published before the
    /// table knew it still gets `application/vnd.android.package-archive`).
    public let contentType: String
    /// A prebuilt `103 Early Hints` head carrying the preload links, for HTML entry points.
    public let earlyHintsHead: [UInt8]?
    /// RFC 9842 `dcz` representations, one per dictionary (its SHA-256, 32 bytes). Few per file
    /// (one per earlier version kept), so a linear scan finds one.
    public let deltas: [(dictionary: [UInt8], representation: Representation)]
    /// What a client without a dictionary gets at best (the smallest br/zstd variant, else
    /// identity): the base of the "bytes saved" metric.
    public let deltaBaseline: Int64

    public init(deploymentID: String, entry: ManifestEntry, download: Bool = false) {
        self.deploymentID = deploymentID
        self.entry = entry
        self.isHTML = entry.contentType.hasPrefix("text/html")
        self.isDownload = download
        let contentType =
            download && entry.contentType == MediaType.fallback
            ? MediaType.contentType(forPath: entry.path) : entry.contentType
        self.contentType = contentType
        let disposition = download ? DownloadPolicy.contentDisposition(fileName: DownloadPolicy.fileName(ofPath: entry.path)) : nil
        // HTTPCore's one rule: a hint whose link holds CR, LF or NUL is left out (never stripped).
        let links = entry.preloadHints.map(\.linkValue).filter { ResponseHeadWriter.isValidValue($0.utf8) }
        self.linkValue = links.joined(separator: ", ")
        self.earlyHintsHead = links.isEmpty ? nil : ResponseHeadWriter.earlyHints(links: links)
        let linkValue = self.linkValue
        var available: AvailableCodings = []
        var reps = [Representation?](repeating: nil, count: ContentCoding.allCases.count)
        let hasVariants = !entry.variants.isEmpty
        let hasDeltas = !entry.deltas.isEmpty
        let lastModified = HTTPDate.format(entry.lastModified)
        func build(_ coding: ContentCoding, size: Int64, etag: String, blobHash: String, dictionary: String = "") -> Representation {
            var fixed: [UInt8] = []
            // Manifest values (a stored deployment is input too): one with CR, LF or NUL is left out.
            func field(_ name: StaticString, _ value: String) { ResponseFieldLine.append(name: name, value: value, to: &fixed) }
            var validators: [UInt8]
            field("ETag", etag)
            field("Cache-Control", CachePolicy.served(entry.cacheControl))
            // RFC 9842 §6.2: a response chosen by Available-Dictionary varies on it, whichever
            // representation was chosen.
            if hasDeltas {
                field("Vary", "Accept-Encoding, Available-Dictionary")
            } else if hasVariants {
                field("Vary", "Accept-Encoding")
            }
            fixed.append(contentsOf: "Last-Modified: ".utf8)
            fixed.append(contentsOf: lastModified)
            fixed.append(contentsOf: "\r\n".utf8)
            validators = fixed
            field("Content-Type", contentType)
            if let disposition { field("Content-Disposition", disposition) }
            if coding != .identity { field("Content-Encoding", coding.token) }
            // Ranges are served on identity only; a dcz delta is always sent whole.
            if coding != .dcz { field("Accept-Ranges", "bytes") }
            field("X-Content-Type-Options", "nosniff")
            if !linkValue.isEmpty { field("Link", linkValue) }
            if let dictionaryField = entry.useAsDictionary { field("Use-As-Dictionary", dictionaryField) }
            let tag = EntityTag(etag) ?? EntityTag(opaque: ArraySlice(entry.blobHash.utf8))
            return Representation(
                coding: coding, size: size, etag: tag, fixedHeaders: fixed,
                notModifiedHeaders: validators,
                cacheKey: .init(
                    deployment: deploymentID, path: entry.path, coding: coding.rawValue,
                    dictionary: dictionary),
                blobHash: blobHash)
        }
        reps[Int(ContentCoding.identity.rawValue)] = build(.identity, size: entry.size, etag: entry.etag, blobHash: entry.blobHash)
        for variant in entry.variants {
            let coding: ContentCoding
            switch variant.coding {
            case "br": coding = .br
            case "zstd": coding = .zstd
            case "gzip": coding = .gzip
            default: continue
            }
            available.insert(AvailableCodings(coding))
            reps[Int(coding.rawValue)] = build(coding, size: variant.size, etag: variant.etag, blobHash: variant.hash)
        }
        self.available = available
        self.representations = reps
        var deltas: [(dictionary: [UInt8], representation: Representation)] = []
        for delta in entry.deltas where delta.coding == "dcz" {
            guard let dictionary = ServedFile.hashBytes(hex: delta.dictionaryHash) else { continue }
            deltas.append(
                (
                    dictionary,
                    build(
                        .dcz, size: delta.size, etag: delta.etag, blobHash: delta.hash,
                        dictionary: delta.dictionaryHash)
                ))
        }
        self.deltas = deltas
        self.deltaBaseline = entry.variants.filter { $0.coding == "br" || $0.coding == "zstd" }.map(\.size).min() ?? entry.size
    }

    public func representation(_ coding: ContentCoding) -> Representation? {
        representations[Int(coding.rawValue)]
    }

    /// The `dcz` representation made against the dictionary with this SHA-256, if any.
    public func delta(forDictionary hash: [UInt8]) -> Representation? {
        for delta in deltas where delta.dictionary == hash { return delta.representation }
        return nil
    }

    /// 64 hex digits → 32 bytes; nil for anything else.
    static func hashBytes(hex: String) -> [UInt8]? {
        guard hex.utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }

    /// The store's name for a coding (nil for identity).
    static func storeCoding(_ coding: ContentCoding) -> String? {
        coding == .identity ? nil : coding.token
    }
}

/// One app's current deployment, ready to serve.
public final class ServedDeployment: Sendable {
    public let id: String
    public let app: String
    public let files: [String: ServedFile]
    public let entryPoint: ServedFile?
    /// The app's `downloads` globs this deployment was loaded with (a change reloads it).
    public let downloadPatterns: [String]
    /// The generated `/_downloads` page; nil when the deployment has its own file at that path
    /// (`/_downloads` or `/_downloads/index.html`): the app's file wins.
    public let downloadsPage: DownloadsPage?

    public init(manifest: DeploymentManifest, downloadPatterns: [String] = []) {
        id = manifest.id
        app = manifest.app
        self.downloadPatterns = downloadPatterns
        // Patterns were checked when stored; one that no longer parses is skipped, not fatal.
        let patterns = downloadPatterns.compactMap { try? DownloadPattern($0) }
        var files: [String: ServedFile] = [:]
        files.reserveCapacity(manifest.files.count)
        var downloads: [ServedFile] = []
        for (path, entry) in manifest.files {
            let download = DownloadPolicy.isDownload(path: path, patterns: patterns)
            let file = ServedFile(deploymentID: manifest.id, entry: entry, download: download)
            files[path] = file
            if download { downloads.append(file) }
        }
        self.files = files
        self.entryPoint = manifest.entryPoint.flatMap { files[$0] } ?? files["/index.html"]
        if files[DownloadsPage.path] != nil || files[DownloadsPage.path + "/index.html"] != nil {
            downloadsPage = nil
        } else {
            downloadsPage = DownloadsPage(
                app: manifest.app, deploymentID: manifest.id, version: manifest.version,
                createdAtMs: manifest.createdAt,
                downloads: downloads.sorted { $0.entry.path < $1.entry.path })
        }
    }

    /// The file for a path: exact match, then `dir/index.html` for a directory path, then the
    /// entry point for extension-less paths (SPA fallback); nil for unknown paths with an extension.
    public func lookup(_ path: String) -> ServedFile? {
        if let f = files[path] { return f }
        if path.hasSuffix("/") {
            if let f = files[path + "index.html"] { return f }
        } else if let f = files[path + "/index.html"] {
            return f
        }
        if MediaType.fileExtension(of: path) == nil { return entryPoint }
        return nil
    }
}

/// One URL path of a deployment: the identity body's address, the headers the edge sends for
/// it, and the precompressed variants it may send instead.
public struct ManifestEntry: Sendable, Codable, Equatable {
    /// URL path beginning with `/`, not percent-encoded (`/assets/app.3f9a1c2e.js`).
    public var path: String
    /// SHA-256 of the identity bytes (64 lower-case hex).
    public var blobHash: String
    /// Identity size in bytes.
    public var size: Int64
    /// `Content-Type` header value.
    public var contentType: String
    /// `Last-Modified` in seconds since the Unix epoch (the file's mtime, never in the future).
    public var lastModified: Int64
    /// `Cache-Control` header value.
    public var cacheControl: String
    /// Strong ETag of the identity body, quoted (`"…"`).
    public var etag: String
    /// Smaller encodings of the same body, in the store's preference order (br, zstd, gzip).
    public var variants: [VariantInfo]
    /// For HTML entry points: critical resources, in document order.
    public var preloadHints: [PreloadHint]
    /// The `Use-As-Dictionary` field value (RFC 9842 §2.1) for versioned assets, else nil.
    public var useAsDictionary: String?
    /// `dcz` encodings of these bytes against earlier versions of the asset, one per dictionary.
    public var deltas: [DeltaInfo]

    public init(
        path: String, blobHash: String, size: Int64, contentType: String, lastModified: Int64,
        cacheControl: String, etag: String, variants: [VariantInfo], preloadHints: [PreloadHint],
        useAsDictionary: String? = nil, deltas: [DeltaInfo] = []
    ) {
        self.useAsDictionary = useAsDictionary
        self.deltas = deltas
        self.path = path
        self.blobHash = blobHash
        self.size = size
        self.contentType = contentType
        self.lastModified = lastModified
        self.cacheControl = cacheControl
        self.etag = etag
        self.variants = variants
        self.preloadHints = preloadHints
    }

    /// The variant for a content-coding token (`br`, `zstd`, `gzip`), if one was kept.
    public func variant(coding: String) -> VariantInfo? { variants.first { $0.coding == coding } }

    /// Coding tokens available besides identity, for content negotiation.
    var availableCodings: [String] { variants.map(\.coding) }
}

/// A delta of a blob against a dictionary (RFC 9842 `dcz`), itself a content-addressed blob.
public struct DeltaInfo: Sendable, Codable, Equatable {
    /// SHA-256 (hex) of the dictionary: the identity bytes of an earlier version of the asset.
    public var dictionaryHash: String
    /// `dcz`.
    public var coding: String
    public var size: Int64
    /// Strong ETag, distinct from every other representation's.
    public var etag: String
    /// SHA-256 of the delta's bytes (header included).
    public var hash: String

    public init(dictionaryHash: String, coding: String, size: Int64, etag: String, hash: String) {
        self.dictionaryHash = dictionaryHash
        self.coding = coding
        self.size = size
        self.etag = etag
        self.hash = hash
    }
}

/// A precompressed encoding of a blob, itself stored as a content-addressed blob.
public struct VariantInfo: Sendable, Codable, Equatable {
    /// HTTP content-coding token: `br`, `zstd` or `gzip`.
    public var coding: String
    /// Encoded size in bytes.
    public var size: Int64
    /// Strong ETag of this encoding, quoted; distinct from the identity ETag and every other
    /// encoding's (RFC 9110 §8.8.3: a strong validator changes with the representation).
    public var etag: String
    /// SHA-256 of the encoded bytes.
    public var hash: String

    public init(coding: String, size: Int64, etag: String, hash: String) {
        self.coding = coding
        self.size = size
        self.etag = etag
        self.hash = hash
    }
}

/// A resource an HTML entry point needs early, emitted as `Link: <href>; rel=preload; as=…`
/// and in `103 Early Hints`.
public struct PreloadHint: Sendable, Codable, Equatable {
    /// Absolute URL path within the deployment (`/assets/app.3f9a1c2e.js`).
    public var href: String
    /// Request destination: `script`, `style`, `font`, `fetch`, `image`.
    public var `as`: String
    /// `modulepreload` for `<script type=module>`, otherwise `preload`.
    public var isModule: Bool
    /// Fonts and fetched wasm are CORS requests and need `crossorigin` on the preload.
    public var crossorigin: Bool

    public init(href: String, as destination: String, isModule: Bool = false, crossorigin: Bool = false) {
        self.href = href
        self.as = destination
        self.isModule = isModule
        self.crossorigin = crossorigin
    }

    /// One `Link` field member (RFC 8288 §3), e.g. `</app.js>; rel=modulepreload`.
    public var linkValue: String {
        var value = "<\(href)>; rel=\(isModule ? "modulepreload" : "preload")"
        if !isModule { value += "; as=\(self.as)" }
        if crossorigin { value += "; crossorigin" }
        return value
    }
}

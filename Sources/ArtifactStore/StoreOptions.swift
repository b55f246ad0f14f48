/// Tunables for a store. Defaults favour compression ratio (publish is rare, serving constant)
/// and match the documented figures; every key is also settable from the CLI configuration.
public struct StoreOptions: Sendable, Equatable {
    /// Blobs up to this many bytes live inline in SQLite; larger ones are files under `blobs/`.
    public var inlineThreshold: Int = 50 * 1024
    /// A single file larger than this is refused (default 512 MiB).
    var maxFileSize: Int64 = 512 * 1024 * 1024
    /// A variant is kept only if it saves at least this fraction of the original size.
    var minVariantSavings: Double = 0.05
    /// Files above this size get no precompressed variants (br at quality 11 runs near 1 MB/s).
    var maxVariantInputSize: Int64 = 64 * 1024 * 1024
    /// Brotli quality (0–11) and window bits (10–24, the standard range browsers decode).
    public var brotliQuality: Int = 11
    public var brotliWindowBits: Int = 22
    /// Zstandard level (1–19) and window log; browsers refuse windows over 8 MiB (RFC 9659 §3),
    /// so the log is capped at 23.
    public var zstdLevel: Int = 19
    public var zstdWindowLog: Int = 23
    /// gzip (deflate) level 1–9.
    public var gzipLevel: Int = 9
    /// Inputs up to this size are compressed in one call (the codec sees the size and tunes its
    /// parameters as the command-line tools do); larger ones are streamed from their blob file.
    var streamingCompressionThreshold: Int64 = 16 * 1024 * 1024
    /// Parallel compression jobs; 0 means one per core.
    var compressionThreads: Int = 0
    /// Deployments kept per app by retention (plus any that an alias points to).
    var retainedDeploymentsPerApp: Int = 10
    /// `Cache-Control` for files that are neither content-hashed nor HTML/manifest/service worker.
    public var defaultCacheControl: String = "public, max-age=300"
    /// Regular expression matched against a file's last path segment: a match marks the name as
    /// content-hashed (immutable). Default: a run of ≥ 8 hex/base64url characters containing a
    /// digit, after a dot or dash, right before the extension (`app.3f9a1c2e.js`, `index-B5x_q9Ka.js`).
    public var hashedNamePattern: String = CachePolicy.defaultHashedNamePattern
    /// Maximum preload hints per HTML entry point.
    var maxPreloadHints: Int = 8
    /// RFC 9842 deltas at publish: a versioned asset whose earlier version (same name pattern) is
    /// in one of the app's last `deltaDepth` deployments gets a `dcz` delta against it, kept only
    /// when smaller than its br and zstd variants. Off per app with `dictionaries=off` metadata.
    var dictionaryDeltas: Bool = true
    public var deltaDepth: Int = 2
    /// Neither side of a delta may be larger than this (both are held in memory while encoding).
    var maxDeltaInputSize: Int64 = 32 * 1024 * 1024
    /// zstd level of deltas.
    var deltaLevel: Int = 19
    /// How long a writer waits for a lock held by another process before failing (seconds).
    var busyTimeoutSeconds: Double = 10

    public init() {}

    /// Checks ranges, so a bad configuration fails at open rather than mid-publish.
    public func validate() throws {
        if inlineThreshold < 0 { throw StoreError.invalidOption("inlineThreshold must be >= 0") }
        if maxFileSize <= 0 { throw StoreError.invalidOption("maxFileSize must be > 0") }
        if !(0..<1).contains(minVariantSavings) { throw StoreError.invalidOption("minVariantSavings must be in [0, 1)") }
        if !(0...11).contains(brotliQuality) { throw StoreError.invalidOption("brotliQuality must be 0...11") }
        if !(10...24).contains(brotliWindowBits) { throw StoreError.invalidOption("brotliWindowBits must be 10...24") }
        if !(1...19).contains(zstdLevel) { throw StoreError.invalidOption("zstdLevel must be 1...19 (higher levels need windows browsers refuse)") }
        if !(10...23).contains(zstdWindowLog) {
            throw StoreError.invalidOption("zstdWindowLog must be 10...23 (browsers refuse windows over 8 MiB, RFC 9659)")
        }
        if !(1...9).contains(gzipLevel) { throw StoreError.invalidOption("gzipLevel must be 1...9") }
        if compressionThreads < 0 { throw StoreError.invalidOption("compressionThreads must be >= 0") }
        if retainedDeploymentsPerApp < 1 { throw StoreError.invalidOption("retainedDeploymentsPerApp must be >= 1") }
        if !(1...16).contains(deltaDepth) { throw StoreError.invalidOption("deltaDepth must be 1...16") }
        if maxDeltaInputSize < 0 { throw StoreError.invalidOption("maxDeltaInputSize must be >= 0") }
        if !(1...19).contains(deltaLevel) { throw StoreError.invalidOption("deltaLevel must be 1...19") }
        if maxPreloadHints < 0 { throw StoreError.invalidOption("maxPreloadHints must be >= 0") }
        if (try? Regex(hashedNamePattern)) == nil { throw StoreError.invalidOption("hashedNamePattern is not a valid regular expression") }
    }
}

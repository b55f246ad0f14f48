/// A blob made ready by a publish, before the commit: its bytes in memory (inline) or its file
/// already installed under `blobs/`.
struct IngestedBlob: Sendable {
    var hash: String
    var size: Int64
    /// Non-nil when the blob is stored inline.
    var inlineBytes: [UInt8]?
    /// Where to read the bytes when compressing (the installed blob file, or a source file).
    var readPath: String
}

/// A precompressed variant made ready by a publish.
struct IngestedVariant: Sendable {
    var sourceHash: String
    var coding: String
    var blob: IngestedBlob
}

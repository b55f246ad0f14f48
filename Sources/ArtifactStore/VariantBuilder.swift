/// Makes br/zstd/gzip variants of compressible blobs at publish time, in parallel.
/// (Waiting for the Compression module; until it lands no variants are made.)
struct VariantBuilder {
    let options: StoreOptions
    let blobFiles: BlobFiles
    let progress: (@Sendable (PublishProgress) -> Void)?

    struct Result {
        var variants: [IngestedVariant] = []
        var createdFiles: [String] = []
    }

    func build(for blobs: [IngestedBlob]) throws -> Result { Result() }
}

extension VariantBuilder {
    /// Decodes a variant and compares it with its source; a problem description or nil.
    static func checkDecodes(store: Store, source: String, coding: String, variant: String) -> String? { nil }
}

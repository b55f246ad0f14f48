/// Quotas of the upload API (`deploy.*` configuration keys); an app's registry entry may lower
/// or raise files and bytes for itself.
public struct UploadLimits: Sendable, Equatable {
    /// Files in one deployment (`deploy.max_files`).
    public var maxFiles = 10_000
    /// Bytes of one deployment, all files together (`deploy.max_bytes`).
    public var maxBytes: Int64 = 1 << 30
    /// Bytes of one file, and so of one upload body (`deploy.max_file_bytes`).
    public var maxFileBytes: Int64 = 256 << 20
    /// Paths in a manifest are at most this long in bytes.
    public var maxPathBytes = 1024

    public init() {}

    /// Every problem with the values, as `key: reason` lines (empty when valid).
    public func problems() -> [String] {
        var out: [String] = []
        if !(1...1_000_000).contains(maxFiles) { out.append("deploy.max_files: must be 1–1000000, got \(maxFiles)") }
        if !(1...(Int64(1) << 40)).contains(maxBytes) { out.append("deploy.max_bytes: must be 1 byte – 1 TiB, got \(maxBytes)") }
        if !(1...(Int64(512) << 20)).contains(maxFileBytes) {
            out.append("deploy.max_file_bytes: must be 1 byte – 512 MiB (the store's file limit), got \(maxFileBytes)")
        }
        return out
    }
}

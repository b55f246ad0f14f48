import Synchronization

/// Counters of the upload API, for `/_wharf/metrics` and tests (a second deploy with one changed
/// file must upload exactly one blob).
public final class DeployMetrics: Sendable {
    public let sessions = Atomic<Int>(0)
    /// Blob bodies verified and staged.
    let blobsUploaded = Atomic<Int>(0)
    let bytesUploaded = Atomic<Int>(0)
    /// Blobs a manifest listed that the server already had (not asked for).
    let blobsSkipped = Atomic<Int>(0)
    public let finalized = Atomic<Int>(0)
    /// Requests refused with a 4xx (bad input, quota, credentials).
    public let refused = Atomic<Int>(0)

    public init() {}

    /// name → value, for the Prometheus text the wiring writes.
    public var counters: [(name: String, help: String, value: Int)] {
        [
            ("wharf_deploy_sessions_total", "Deploy sessions opened (manifests accepted).", sessions.load(ordering: .relaxed)),
            ("wharf_deploy_blobs_uploaded_total", "Blob bodies received, verified and staged.", blobsUploaded.load(ordering: .relaxed)),
            ("wharf_deploy_upload_bytes_total", "Bytes of verified blob bodies.", bytesUploaded.load(ordering: .relaxed)),
            ("wharf_deploy_blobs_skipped_total", "Manifest blobs the server already had.", blobsSkipped.load(ordering: .relaxed)),
            ("wharf_deploy_finalized_total", "Deploy sessions published.", finalized.load(ordering: .relaxed)),
            ("wharf_deploy_refused_total", "Deploy API requests refused with a 4xx.", refused.load(ordering: .relaxed)),
        ]
    }
}

/// Where a replica store gets the blob files it does not hold yet: a tier edge's fetcher, which
/// asks the origin for the blob by hash, checks its SHA-256 and installs it in the store.
///
/// Why a protocol here: the edge's body loader calls it on a local miss without knowing about
/// networks, and the tier module implements it without knowing about the edge; the wiring joins
/// them. A plain `wharf serve` has none, so its loads cost nothing more.
public protocol MissingBlobSource: Sendable {
    /// Makes blob `hash` (of `size` bytes, as the manifest says) local and returns a read-only
    /// descriptor of its verified file, which the caller closes. Blocks (call it off the event
    /// loops); many callers asking for one blob share one fetch. Throws `BlobUnavailable`.
    func fetch(hash: String, size: Int64) throws -> Int32

    /// Blob `hash` was read from disk (its recency, for eviction).
    func used(hash: String)
}

/// A blob the replica does not hold and could not get: the edge answers `status` (502 when the
/// origin refused, failed or sent bytes that do not match; 504 when it did not answer in time).
public struct BlobUnavailable: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var reason: String
    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }
    public var description: String { "blob unavailable (\(status)): \(reason)" }
}

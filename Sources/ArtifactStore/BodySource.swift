/// Where the bytes of a body are: in memory (inline blobs) or in a file the edge can stream
/// with sendfile or chunked reads without loading it whole.
public enum BodySource: Sendable, Equatable {
    case bytes([UInt8])
    case file(path: String, offset: Int, length: Int)

    /// Body length in bytes.
    public var length: Int {
        switch self {
        case .bytes(let bytes): return bytes.count
        case .file(_, _, let length): return length
        }
    }
}

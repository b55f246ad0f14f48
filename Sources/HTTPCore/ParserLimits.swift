/// Size limits the request parser enforces while bytes arrive, so a hostile client cannot make
/// the edge buffer without bound. Each limit maps to the status RFC 9110/6585 gives it.
public struct ParserLimits: Sendable, Hashable {
    /// Longest request line (method, target, version, CRLF) in bytes; over it: 414 URI Too Long.
    public var maxRequestLineBytes: Int
    /// Longest header section (request line through the empty line) in bytes; over it: 431.
    public var maxHeaderBytes: Int
    /// Most header fields in one request (at most 10 000); over it: 431 Request Header Fields Too Large.
    public var maxFieldCount: Int
    /// Largest request body (Content-Length or the sum of chunk sizes); over it: 413.
    public var maxBodyBytes: Int
    /// Longest chunk-size line including extensions; over it: 400.
    public var maxChunkLineBytes: Int
    /// Largest trailer section after the last chunk, in bytes; over it: 431.
    public var maxTrailerBytes: Int
    /// Empty lines tolerated before a request line (RFC 9112 §2.2 asks servers to ignore at least one).
    public var maxLeadingEmptyLines: Int

    public init(
        maxRequestLineBytes: Int = 8 * 1024,
        maxHeaderBytes: Int = 64 * 1024,
        maxFieldCount: Int = 100,
        maxBodyBytes: Int = 16 * 1024 * 1024,
        maxChunkLineBytes: Int = 1024,
        maxTrailerBytes: Int = 8 * 1024,
        maxLeadingEmptyLines: Int = 4
    ) {
        // Field offsets are stored as UInt32 relative to the head start.
        self.maxRequestLineBytes = max(16, min(maxRequestLineBytes, 1 << 30))
        self.maxHeaderBytes = max(16, min(maxHeaderBytes, 1 << 30))
        // The parser keeps a table with one 20-byte slot per allowed field.
        self.maxFieldCount = max(0, min(maxFieldCount, 10_000))
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.maxChunkLineBytes = max(8, maxChunkLineBytes)
        self.maxTrailerBytes = max(2, min(maxTrailerBytes, 1 << 30))
        self.maxLeadingEmptyLines = max(0, maxLeadingEmptyLines)
    }

    /// 8 KiB request line, 64 KiB header section, 100 fields, 16 MiB body.
    public static let `default` = ParserLimits()
}

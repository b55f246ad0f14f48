/// A request's header block as received on one stream: the pseudo-header fields, and every other
/// field already in HTTP/1.1 field-line form (`name: value\r\n`), so the edge can hand the request
/// to the same parser and planner as an HTTP/1.1 request instead of a second copy of the rules.
/// nghttp2 has checked the block (RFC 9113 §8.2: lowercase names, no connection-specific fields,
/// no CR/LF/NUL in values, each pseudo-header once and before the regular ones).
public struct HTTP2Request: Sendable {
    public let streamID: Int32
    public var method: [UInt8] = []
    public var path: [UInt8] = []
    public var authority: [UInt8] = []
    public var scheme: [UInt8] = []
    /// Regular fields as `name: value\r\n` lines (without `host` when `:authority` is present).
    public var fieldLines: [UInt8] = []
    /// The RFC 9218 `priority` field, if sent.
    public var priority: [UInt8]?
    /// Decoded size as counted for SETTINGS_MAX_HEADER_LIST_SIZE.
    var listBytes = 0
    var overflowed = false

    init(streamID: Int32) {
        self.streamID = streamID
        fieldLines.reserveCapacity(256)
    }
}

/// HTTP/2 error codes (RFC 9113 §7) the server sends.
public enum HTTP2ErrorCode: UInt32, Sendable {
    case noError = 0x0
    case protocolError = 0x1
    case internalError = 0x2
    case refusedStream = 0x7
    case cancel = 0x8
    case enhanceYourCalm = 0xb
}

/// The next bytes of a response body, as the session asks for them (at most the stream's and the
/// connection's flow-control windows and one frame).
public enum HTTP2BodyRead {
    /// `count` bytes were written into the buffer; `end` marks the last of the body.
    case bytes(Int, end: Bool)
    /// Nothing available yet (a file read is on its way): call `resume(stream:)` when there is.
    case wait
    /// The body cannot be produced: the stream is reset with INTERNAL_ERROR.
    case failed
}

/// Supplies a response body piece by piece (flow control decides when and how much).
public protocol HTTP2BodySource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) -> HTTP2BodyRead
    /// When the next bytes are already in memory: how many (at most `max`) can be appended to
    /// the output as they are, and whether they end the body. nil: use `read`.
    func inMemoryRun(max: Int) -> (count: Int, end: Bool)?
    /// Appends the `count` bytes `inMemoryRun` promised to `output` and moves past them.
    func append(_ count: Int, to output: inout [UInt8])
}

extension HTTP2BodySource {
    public func inMemoryRun(max: Int) -> (count: Int, end: Bool)? { nil }
    public func append(_ count: Int, to output: inout [UInt8]) {}
}

/// A request's header block as received on one stream, already written as the HTTP/1.1 head it
/// stands for (`METHOD :path HTTP/1.1`, `host: :authority`, every other field as a
/// `name: value` line, the empty line), so the edge hands it to the same parser and planner as an
/// HTTP/1.1 request instead of a second copy of the rules, and without building it a second time.
/// nghttp2 has checked the block (RFC 9113 §8.2: lowercase names, no connection-specific fields,
/// no CR/LF/NUL in values, each pseudo-header once and before the regular ones).
public struct HTTP2Request: Sendable {
    public let streamID: Int32
    /// The HTTP/1.1 head: request line, `host` from `:authority` (a `host` field is dropped when
    /// `:authority` is present), the regular fields, the empty line. Only meaningful when
    /// `hasValidRequestLine`.
    public internal(set) var head: [UInt8]
    /// `:method` and `:path` were present and neither they nor `:authority` contain a byte that
    /// would split the request line or the `host` line (SP, controls, DEL). An empty `:path` with
    /// `OPTIONS` is written as `*`.
    public internal(set) var hasValidRequestLine = false
    /// The client sent an RFC 9218 `priority` field.
    public internal(set) var hasPriority = false
    /// The request line (and `host`) is written; regular fields follow it.
    var requestLineWritten = false
    /// Decoded size as counted for SETTINGS_MAX_HEADER_LIST_SIZE.
    var listBytes = 0
    var overflowed = false

    /// - Parameter buffer: an empty buffer to write the head into (its capacity is reused).
    init(streamID: Int32, buffer: [UInt8]) {
        self.streamID = streamID
        self.head = buffer
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

/// The owner of an `HTTP2ServerSession` (the connection), told of requests and of streams that end.
public protocol HTTP2SessionDelegate: AnyObject {
    /// A complete request header block (the stream stays open for the response).
    func http2Session(received request: HTTP2Request)
    /// A stream is gone (answered, reset by either side, or the connection ended), with its error code.
    func http2Session(closedStream stream: Int32, errorCode: UInt32)
}

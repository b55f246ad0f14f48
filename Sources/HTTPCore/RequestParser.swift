/// An incremental HTTP/1.1 request parser (RFC 9112) over the caller's receive buffer.
///
/// Use: keep unconsumed bytes in a `[UInt8]`, append what arrives, and call `next(in:at:)` until
/// it returns nil ("need more bytes"); then drop `buffer[..<index]` (or keep the buffer and the
/// index). Each request yields `.head`, then zero or more `.body` slices, then `.end`; pipelined
/// requests in one buffer simply follow. Heads and bodies are slices of the buffer: nothing is
/// copied. The result is a function of the byte stream alone — however it is split into calls,
/// the same heads, body bytes and errors come out (the property `SplitAtEveryByteTests` checks).
///
/// Contract: bytes not consumed (from `index` on) must be passed again, unchanged and in front
/// of any new bytes, at the next call. After a thrown `ParseError` the parser stays failed: the
/// edge answers with `error.status` and closes the connection.
public struct RequestParser: Sendable {
    public let limits: ParserLimits

    var state: State = .head
    var progress = HeadProgress()
    /// The field table: one slot per allowed field, filled for the head being parsed, shared
    /// with the head returned, reused once that head is gone (copied if it is still alive).
    var spans: [FieldSpan]
    /// Chunked bodies: how far the current line (chunk size or trailer) was searched for LF.
    var lineScan = 0
    var bodyReceived = 0
    var trailerBytes = 0
    var trailerFields = 0
    /// The parser failed inside a request's body (after its head was returned): the request was
    /// already answered or is being answered, so the connection closes after that response with
    /// no error response of its own (which a client would take for the next request's).
    public private(set) var failedInBody = false

    /// Field slots a new parser starts with (a browser sends 10–20 fields).
    static let initialFieldTableSize = 24

    public init(limits: ParserLimits = .default) {
        self.limits = limits
        // A small table that grows (doubling, up to the limit) for heads with many fields: an idle
        // keep-alive connection should not hold room for 100 fields.
        spans = Array(
            repeating: FieldSpan(nameStart: 0, nameEnd: 0, valueStart: 0, valueEnd: 0, code: 0),
            count: min(limits.maxFieldCount, Self.initialFieldTableSize))
    }

    enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case messageEnd
        case failed(ParseError)
    }

    /// True between requests with no partial request buffered: an idle keep-alive connection.
    public var isIdle: Bool {
        if case .head = state { return progress.isFresh }
        return false
    }

    /// The next event from `buffer[index...]`, advancing `index` past what it consumed; nil when
    /// more bytes are needed.
    public mutating func next(in buffer: [UInt8], at index: inout Int) throws(ParseError) -> RequestEvent? {
        precondition(index >= 0 && index <= buffer.count, "index outside the buffer")
        do throws(ParseError) {
            // Each arm returns an event, returns nil for "need more", or moves to the next state.
            while true {
                switch state {
                case .head:
                    guard let head = try nextHead(buffer, &index) else { return nil }
                    return .head(head)
                case .fixedBody(let remaining):
                    guard let slice = takeBody(buffer, &index, remaining) else { return nil }
                    state = remaining == slice.count ? .messageEnd : .fixedBody(remaining: remaining &- slice.count)
                    return .body(slice)
                case .chunkLine:
                    guard try nextChunkLine(buffer, &index) else { return nil }
                case .chunkData(let remaining):
                    guard let slice = takeBody(buffer, &index, remaining) else { return nil }
                    state = remaining == slice.count ? .chunkDataEnd : .chunkData(remaining: remaining &- slice.count)
                    return .body(slice)
                case .chunkDataEnd:
                    guard try nextChunkDataEnd(buffer, &index) else { return nil }
                case .trailers:
                    guard try nextTrailer(buffer, &index) else { return nil }
                case .messageEnd:
                    state = .head
                    return .end
                case .failed(let error):
                    throw error
                }
            }
        } catch {
            switch state {
            case .head, .failed: break
            default: failedInBody = true
            }
            state = .failed(error)
            throw error
        }
    }

    /// Parses as much of `buffer[start...]` as possible: every complete event, the bytes consumed,
    /// and the error that stopped parsing, if any. Convenient where events are collected anyway.
    public mutating func parse(_ buffer: [UInt8], from start: Int = 0) -> ParseBatch {
        var batch = ParseBatch(events: [], consumed: 0, error: nil)
        var index = start
        do throws(ParseError) {
            while let event = try next(in: buffer, at: &index) { batch.events.append(event) }
        } catch {
            batch.error = error
        }
        batch.consumed = index &- start
        return batch
    }

    private func takeBody(_ buffer: [UInt8], _ index: inout Int, _ remaining: Int) -> ArraySlice<UInt8>? {
        let available = buffer.count &- index
        if available == 0 { return nil }
        let n = min(available, remaining)
        defer { index &+= n }
        return buffer[index..<(index &+ n)]
    }
}

/// What the parser found next in the byte stream.
public enum RequestEvent: Sendable {
    /// A complete request head.
    case head(RequestHead)
    /// Body bytes (already de-chunked), a slice of the buffer passed in.
    case body(ArraySlice<UInt8>)
    /// The request (head, body, trailers) is complete; the next request may follow.
    case end
}

/// The result of `RequestParser.parse(_:from:)`.
public struct ParseBatch: Sendable {
    public var events: [RequestEvent]
    /// Bytes consumed from the start offset; keep the rest for the next call.
    public var consumed: Int
    /// The rejection that stopped parsing; the edge answers `error.status` and closes.
    public var error: ParseError?

    /// The complete request heads in this batch.
    public var heads: [RequestHead] {
        events.compactMap { if case .head(let head) = $0 { head } else { nil } }
    }
}

import CNGHTTP2

/// The server side of one HTTP/2 connection over libnghttp2, which does the framing, HPACK, stream
/// states and flow control; the caller owns the I/O. Received bytes go in through `receive`; the
/// frames to send come out of `takeOutput` (the caller writes them through TLS or TCP on the same
/// loop). Requests arrive through `onRequest` when their header block is complete; responses go in
/// with `respond`, bodies are pulled from an `HTTP2BodySource` as the client's windows allow.
/// Loop thread only; nothing here blocks.
public final class HTTP2ServerSession {
    /// Told of requests and closed streams. Not retained, and not reference-counted per call
    /// (this runs for every request): the delegate is the connection that owns the session, so it
    /// outlives it, and nghttp2 calls back only inside `receive`, `takeOutput` and the calls that
    /// submit frames, never from `deinit`.
    public unowned(unsafe) var delegate: (any HTTP2SessionDelegate)?

    /// Why the session stopped taking input, when it did.
    public enum Failure: Equatable, Sendable {
        /// The client broke the protocol (nghttp2's verdict, with its error string).
        case protocolError(String)
        /// The client went over one of the budgets in `HTTP2Settings` (which one).
        case abuse(String)
    }
    public private(set) var failure: Failure?

    private var session: OpaquePointer?
    private let settings: HTTP2Settings
    private let clock: () -> UInt64
    private var resetBudget: FrameBudget
    private var controlBudget: FrameBudget
    private var headerOverflows = 0
    /// The request header block being received: blocks arrive whole (HEADERS, then only its
    /// CONTINUATION frames, RFC 9113 §6.10), so there is at most one at a time.
    private var incoming: HTTP2Request?
    /// The pseudo-header values of `incoming` until its request line is written (they come before
    /// the regular fields); reused from block to block.
    private var pseudoMethod: [UInt8] = []
    private var pseudoPath: [UInt8] = []
    private var pseudoAuthority: [UInt8] = []
    /// The last request's head buffer, back from the delegate: the next request is written into
    /// its capacity (copy-on-write gives a new one if the edge still holds it).
    private var spareHead: [UInt8] = []
    /// Response bodies being sent, by stream.
    private var bodies: [Int32: any HTTP2BodySource] = [:]
    /// Set by a callback when a budget ran out; acted on once `mem_recv` returns.
    private var abuseReason: String?

    /// - Parameter clock: monotonic milliseconds (the loop's clock), for the frame budgets.
    public init(settings: HTTP2Settings, clock: @escaping () -> UInt64) {
        self.settings = settings
        self.clock = clock
        let now = clock()
        resetBudget = FrameBudget(burst: settings.resetBurst, ratePerSecond: settings.resetRatePerSecond, nowMs: now)
        controlBudget = FrameBudget(burst: settings.controlFrameBurst, ratePerSecond: settings.controlFrameRatePerSecond, nowMs: now)

        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, onBeginFrame)
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_send_data_callback(callbacks, sendDataCallback)
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        nghttp2_option_set_max_continuations(option, settings.maxContinuations)
        // nghttp2's own rapid-reset limiter stays as a backstop above Wharf's budget.
        nghttp2_option_set_stream_reset_rate_limit(option, UInt64(settings.resetBurst) * 4, UInt64(settings.resetRatePerSecond) * 4)
        nghttp2_option_set_max_settings(option, 32)
        var created: OpaquePointer?
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        nghttp2_session_server_new2(&created, callbacks, unmanaged, option)
        nghttp2_option_del(option)
        nghttp2_session_callbacks_del(callbacks)
        session = created

        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(settings.maxConcurrentStreams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(settings.initialWindowBytes)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(settings.maxHeaderListBytes)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            // RFC 9218: the client signals urgency with the `priority` field, not RFC 7540's tree.
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES.rawValue), value: 1),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
    }

    deinit {
        nghttp2_session_del(session)
    }

    // MARK: input

    /// Feeds bytes received from the client. Returns false when the connection must end (send
    /// what `takeOutput` still gives, usually a GOAWAY, then close); `failure` says why.
    @discardableResult
    public func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil, let base = bytes.baseAddress else { return failure == nil }
        let consumed = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if let reason = abuseReason {
            failure = .abuse(reason)
            nghttp2_session_terminate_session(session, HTTP2ErrorCode.enhanceYourCalm.rawValue)
            return false
        }
        if consumed < 0 {
            let code = Int32(consumed)
            if code == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue || code == NGHTTP2_ERR_FLOODED.rawValue
                || code == NGHTTP2_ERR_TOO_MANY_SETTINGS.rawValue
            {
                // nghttp2's own flood limits (CONTINUATION frames, unanswered ACKs, SETTINGS entries).
                failure = .abuse(String(cString: nghttp2_strerror(code)))
                nghttp2_session_terminate_session(session, HTTP2ErrorCode.enhanceYourCalm.rawValue)
                return false
            }
            failure = .protocolError(String(cString: nghttp2_strerror(code)))
            // A bad preface or a broken frame: nghttp2 has usually queued its GOAWAY already.
            nghttp2_session_terminate_session(session, HTTP2ErrorCode.protocolError.rawValue)
            return false
        }
        return true
    }

    // MARK: output

    /// Appends frames to send to `output` until about `limit` bytes were added or nothing is left.
    /// Pulling body bytes happens here, so the caller's limit is the backpressure.
    public func takeOutput(into output: inout [UInt8], limit: Int) {
        // The caller's buffer becomes the session's while frames are produced: DATA frames of
        // in-memory bodies are appended to it straight from the body (no copy into nghttp2) by the
        // send-data callback, which runs inside mem_send, between the frames mem_send returns.
        swap(&pending, &output)
        defer { swap(&pending, &output) }
        let start = pending.count
        pendingLimit = start + limit
        while pending.count - start < limit {
            var data: UnsafePointer<UInt8>?
            wroteWithoutCopy = false
            let length = nghttp2_session_mem_send(session, &data)
            guard length >= 0 else { break }
            if length > 0, let data {
                pending.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
            } else if !wroteWithoutCopy {
                break  // nothing left to send (or a body waits for its bytes)
            }
        }
        wroteWithoutCopy = false
    }

    /// Where the current `takeOutput` stops: the send-data callback pauses mem_send there.
    private var pendingLimit = Int.max

    /// Output being produced (see `takeOutput`).
    private var pending: [UInt8] = []
    /// A DATA frame went out through the send-data callback during the last mem_send.
    private var wroteWithoutCopy = false

    /// True while the session has something to send or expects more input; false once both sides
    /// are done (after a GOAWAY exchange, or a fatal error and its GOAWAY sent).
    public var isActive: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    // MARK: responses

    /// One response field (lowercase name).
    public struct Field {
        public var name: ArraySlice<UInt8>
        public var value: ArraySlice<UInt8>
        public init(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
            self.name = name
            self.value = value
        }
    }

    /// Sends a `1xx` informational response (e.g. 103 Early Hints) on `stream`.
    public func sendInformational(stream: Int32, status: Int, fields: HTTP2HeaderList) {
        withHeaderList(status: status, fields: fields, extra: nil) { list, count in
            _ = nghttp2_submit_headers(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, nil, list, count, nil)
        }
    }

    /// Sends the final response on `stream`: its fields (then `extra`, e.g. a `date` that changes
    /// every second after a prebuilt list) and, unless `body` is nil, a body pulled from `body`.
    /// Returns false when the stream is already gone (reset by the client).
    @discardableResult
    public func respond(stream: Int32, status: Int, fields: HTTP2HeaderList, extra: Field? = nil, body: (any HTTP2BodySource)?) -> Bool {
        var result: Int32 = 0
        if let body {
            bodies[stream] = body
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: readBodyCallback)
            withHeaderList(status: status, fields: fields, extra: extra) { list, count in
                result = nghttp2_submit_response(session, stream, list, count, &provider)
            }
        } else {
            withHeaderList(status: status, fields: fields, extra: extra) { list, count in
                result = nghttp2_submit_response(session, stream, list, count, nil)
            }
        }
        if result != 0 { bodies[stream] = nil }
        return result == 0
    }

    /// The body of `stream` has bytes again after answering `.wait`.
    public func resume(stream: Int32) {
        _ = nghttp2_session_resume_data(session, stream)
    }

    /// Sets a stream's RFC 9218 urgency (0 most urgent … 7) and incremental flag, as the server's
    /// choice; a client's own `priority` field is read by nghttp2 and wins.
    public func setPriority(stream: Int32, urgency: Int, incremental: Bool) {
        var priority = nghttp2_extpri(urgency: UInt32(max(0, min(7, urgency))), inc: incremental ? 1 : 0)
        _ = nghttp2_session_change_extpri_stream_priority(session, stream, &priority, 1)
    }

    /// Graceful shutdown: GOAWAY NO_ERROR with the last stream already taken; those streams finish.
    public func goAway() {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, HTTP2ErrorCode.noError.rawValue, nil, 0)
    }

    /// Ends the connection with GOAWAY `code` (the caller sends the output, then closes).
    public func terminate(_ code: HTTP2ErrorCode) {
        _ = nghttp2_session_terminate_session(session, code.rawValue)
    }

    /// Resets one stream (e.g. its body failed to load).
    public func reset(stream: Int32, _ code: HTTP2ErrorCode) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code.rawValue)
    }

    /// The header list as nghttp2_nv entries over one scratch buffer, for one call (nghttp2 copies
    /// names and values while submitting); both live on the stack for ordinary heads.
    private func withHeaderList(status: Int, fields: HTTP2HeaderList, extra: Field?, _ body: (UnsafePointer<nghttp2_nv>, Int) -> Void) {
        let count = fields.count + 1 + (extra == nil ? 0 : 1)
        let listBytes = fields.storage.count
        let bytes = listBytes + 10 + (extra.map { $0.name.count + $0.value.count } ?? 0)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes) { scratch in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: count) { list in
                let base = scratch.baseAddress!
                let flags = UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                fields.storage.withUnsafeBufferPointer { source in
                    if listBytes > 0 { base.update(from: source.baseAddress!, count: listBytes) }
                }
                var used = listBytes
                // ":status" and its three digits.
                HTTP2ServerSession.statusName.withUnsafeBufferPointer { base.advanced(by: used).update(from: $0.baseAddress!, count: 7) }
                let code = base + used + 7
                code[0] = UInt8(48 + (status / 100) % 10)
                code[1] = UInt8(48 + (status / 10) % 10)
                code[2] = UInt8(48 + status % 10)
                list[0] = nghttp2_nv(name: base + used, value: code, namelen: 7, valuelen: 3, flags: flags)
                used += 10
                var index = 1
                fields.spans.withUnsafeBufferPointer { spans in
                    for span in spans {
                        list[index] = nghttp2_nv(
                            name: base + Int(span.0), value: base + Int(span.2), namelen: Int(span.1),
                            valuelen: Int(span.3), flags: flags)
                        index += 1
                    }
                }
                if let extra {
                    let name = base + used
                    extra.name.withUnsafeBufferPointer { name.update(from: $0.baseAddress!, count: $0.count) }
                    used += extra.name.count
                    let value = base + used
                    extra.value.withUnsafeBufferPointer { if $0.count > 0 { value.update(from: $0.baseAddress!, count: $0.count) } }
                    list[index] = nghttp2_nv(name: name, value: value, namelen: extra.name.count, valuelen: extra.value.count, flags: flags)
                }
                body(UnsafePointer(list.baseAddress!), count)
            }
        }
    }

    private static let statusName: [UInt8] = Array(":status".utf8)

    // MARK: callbacks (from nghttp2, on this thread, inside mem_recv / mem_send)

    fileprivate func beganFrame(type: UInt8, stream: Int32, length: Int) -> Int32 {
        let now = clock()
        switch Int(type) {
        case Int(NGHTTP2_RST_STREAM.rawValue):
            if !resetBudget.take(nowMs: now) { return abuse("rapid reset: RST_STREAM over \(settings.resetRatePerSecond)/s") }
        case Int(NGHTTP2_SETTINGS.rawValue), Int(NGHTTP2_PING.rawValue), Int(NGHTTP2_PRIORITY.rawValue), 0x10:
            if !controlBudget.take(nowMs: now) { return abuse("control frame flood") }
        case Int(NGHTTP2_WINDOW_UPDATE.rawValue) where stream == 0:
            if !controlBudget.take(nowMs: now) { return abuse("control frame flood") }
        default:
            break
        }
        return 0
    }

    private func abuse(_ reason: String) -> Int32 {
        abuseReason = reason
        return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
    }

    fileprivate func beganHeaders(stream: Int32, category: nghttp2_headers_category) {
        guard category == NGHTTP2_HCAT_REQUEST else {
            incoming = nil
            return
        }
        var buffer: [UInt8] = []
        swap(&buffer, &spareHead)
        buffer.removeAll(keepingCapacity: true)
        if buffer.capacity < 512 { buffer.reserveCapacity(512) }
        incoming = HTTP2Request(streamID: stream, buffer: buffer)
        pseudoMethod.removeAll(keepingCapacity: true)
        pseudoPath.removeAll(keepingCapacity: true)
        pseudoAuthority.removeAll(keepingCapacity: true)
    }

    /// Writes `incoming`'s request line and `host` from the pseudo-headers, once, before its
    /// first regular field (nghttp2 has put every pseudo-header before them).
    private func writeRequestLine() {
        incoming!.requestLineWritten = true
        let optionsStar = pseudoPath.isEmpty && pseudoMethod.elementsEqual("OPTIONS".utf8)
        func fitsLine(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 > 0x20 && $0 != 0x7f } }
        guard !pseudoMethod.isEmpty, !pseudoPath.isEmpty || optionsStar,
            fitsLine(pseudoMethod), fitsLine(pseudoPath), fitsLine(pseudoAuthority)
        else { return }
        incoming!.hasValidRequestLine = true
        incoming!.head.append(contentsOf: pseudoMethod)
        incoming!.head.append(32)
        if optionsStar { incoming!.head.append(UInt8(ascii: "*")) } else { incoming!.head.append(contentsOf: pseudoPath) }
        incoming!.head.append(contentsOf: HTTP2ServerSession.versionCRLF)
        if !pseudoAuthority.isEmpty {
            incoming!.head.append(contentsOf: HTTP2ServerSession.hostColon)
            incoming!.head.append(contentsOf: pseudoAuthority)
            incoming!.head.append(13)
            incoming!.head.append(10)
        }
    }

    private static let versionCRLF: [UInt8] = Array(" HTTP/1.1\r\n".utf8)
    private static let hostColon: [UInt8] = Array("host: ".utf8)

    fileprivate func header(stream: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        // Mutated in place through the optional: no copy of the request's arrays per field.
        guard incoming?.streamID == stream else { return 0 }  // trailers: ignored
        incoming!.listBytes += name.count + value.count + 32
        if incoming!.listBytes > settings.maxHeaderListBytes {
            if !incoming!.overflowed {
                incoming!.overflowed = true
                headerOverflows += 1
                if headerOverflows > settings.headerOverflowBudget { return abuse("header lists over \(settings.maxHeaderListBytes) bytes") }
            }
            return 0  // keep decoding (HPACK state must stay in step); the stream is reset at its end
        }
        if name.first == UInt8(ascii: ":") {
            // nghttp2 has rejected unknown and repeated pseudo-headers: the length and the second
            // letter tell the four request ones apart.
            // (`:scheme` is not part of the HTTP/1.1 head.)
            switch (name.count, name.count > 1 ? name[1] : 0) {
            case (7, UInt8(ascii: "m")): pseudoMethod.append(contentsOf: value)
            case (5, UInt8(ascii: "p")): pseudoPath.append(contentsOf: value)
            case (10, UInt8(ascii: "a")): pseudoAuthority.append(contentsOf: value)
            default: break
            }
            return 0
        }
        if !incoming!.requestLineWritten { writeRequestLine() }
        if name.count == 4, name[0] == UInt8(ascii: "h"), name.elementsEqual("host".utf8), !pseudoAuthority.isEmpty { return 0 }
        if name.count == 8, name[0] == UInt8(ascii: "p"), name.elementsEqual("priority".utf8) { incoming!.hasPriority = true }
        incoming!.head.append(contentsOf: name)
        incoming!.head.append(UInt8(ascii: ":"))
        incoming!.head.append(UInt8(ascii: " "))
        incoming!.head.append(contentsOf: value)
        incoming!.head.append(13)
        incoming!.head.append(10)
        return 0
    }

    fileprivate func frameReceived(type: UInt8, flags: UInt8, stream: Int32, category: nghttp2_headers_category?) {
        guard Int(type) == Int(NGHTTP2_HEADERS.rawValue), category == NGHTTP2_HCAT_REQUEST,
            incoming?.streamID == stream
        else { return }
        if !incoming!.requestLineWritten { writeRequestLine() }
        incoming!.head.append(13)
        incoming!.head.append(10)
        var request = incoming.take()!
        if request.overflowed {
            // 431 would need a response to a request we refused to hold: a reset says the same.
            reset(stream: stream, .refusedStream)
            return
        }
        delegate?.http2Session(received: request)
        swap(&spareHead, &request.head)
    }

    fileprivate func streamClosed(_ stream: Int32, errorCode: UInt32) {
        if incoming?.streamID == stream { incoming = nil }
        bodies[stream] = nil
        delegate?.http2Session(closedStream: stream, errorCode: errorCode)
    }

    fileprivate func readBody(stream: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let source = bodies[stream] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        if let run = source.inMemoryRun(max: buffer.count), run.count > 0 {
            flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_NO_COPY.rawValue)
            if run.end { flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue) }
            return run.count
        }
        switch source.read(into: buffer) {
        case .bytes(let count, let end):
            if end {
                flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue)
                bodies[stream] = nil
            }
            return count
        case .wait:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .failed:
            bodies[stream] = nil
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
    }
}

extension HTTP2ServerSession {
    /// A DATA frame of an in-memory body: its 9-byte header, then the body's bytes, appended to
    /// the output being produced.
    fileprivate func sendData(stream: Int32, header: UnsafePointer<UInt8>, length: Int) -> Int32 {
        guard let source = bodies[stream] else { return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue }
        pending.append(contentsOf: UnsafeBufferPointer(start: header, count: 9))
        source.append(length, to: &pending)
        wroteWithoutCopy = true
        // Past the caller's limit: mem_send returns instead of packing the next frame.
        return pending.count >= pendingLimit ? NGHTTP2_ERR_PAUSE.rawValue : 0
    }

    /// The session's end of a body: forgotten once its last frame is out.
    fileprivate func bodyFinished(_ stream: Int32) { bodies[stream] = nil }
}

// MARK: C callbacks: each recovers the session from user_data and forwards.

/// Runs `body` with the session `userData` points at, without a retain and release around it
/// (the session is alive: nghttp2 calls back only from inside the session's own calls).
private func withOwner<R>(_ userData: UnsafeMutableRawPointer?, _ body: (HTTP2ServerSession) -> R) -> R {
    Unmanaged<HTTP2ServerSession>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}

private let onBeginFrame: nghttp2_on_begin_frame_callback = { _, hd, userData in
    guard let hd else { return 0 }
    return withOwner(userData) { $0.beganFrame(type: hd.pointee.type, stream: hd.pointee.stream_id, length: hd.pointee.length) }
}

private let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
    guard let frame else { return 0 }
    if Int(frame.pointee.hd.type) == Int(NGHTTP2_HEADERS.rawValue) {
        withOwner(userData) { $0.beganHeaders(stream: frame.pointee.hd.stream_id, category: frame.pointee.headers.cat) }
    }
    return 0
}

private let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
    guard let frame, Int(frame.pointee.hd.type) == Int(NGHTTP2_HEADERS.rawValue) else { return 0 }
    return withOwner(userData) {
        $0.header(
            stream: frame.pointee.hd.stream_id, name: UnsafeBufferPointer(start: name, count: nameLength),
            value: UnsafeBufferPointer(start: value, count: valueLength))
    }
}

private let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
    guard let frame else { return 0 }
    let type = frame.pointee.hd.type
    let category = Int(type) == Int(NGHTTP2_HEADERS.rawValue) ? frame.pointee.headers.cat : nil
    withOwner(userData) { $0.frameReceived(type: type, flags: frame.pointee.hd.flags, stream: frame.pointee.hd.stream_id, category: category) }
    return 0
}

private let onStreamClose: nghttp2_on_stream_close_callback = { _, stream, errorCode, userData in
    withOwner(userData) { $0.streamClosed(stream, errorCode: errorCode) }
    return 0
}

private let sendDataCallback: nghttp2_send_data_callback = { _, frame, header, length, _, userData in
    guard let frame, let header else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
    return withOwner(userData) { session in
        let result = session.sendData(stream: frame.pointee.hd.stream_id, header: header, length: length)
        if frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 { session.bodyFinished(frame.pointee.hd.stream_id) }
        return result
    }
}

private let readBodyCallback: nghttp2_data_source_read_callback = { _, stream, buffer, length, flags, _, userData in
    guard let buffer, let flags else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
    return withOwner(userData) { $0.readBody(stream: stream, into: UnsafeMutableRawBufferPointer(start: buffer, count: length), flags: flags) }
}

/// Writes an HTTP/1.1 response head (status line, fields, blank line; RFC 9112 §4, §5) into a
/// reusable byte buffer. Keep one buffer per connection or loop and hand it back in:
///
///     var w = ResponseHeadWriter(buffer: reuse)
///     w.status(.ok)
///     w.header("Content-Type", "text/html; charset=utf-8")
///     w.contentLength(1234)
///     let head = w.end()
///
/// It is the one response-head writer of every HTTP/1.1 listener (the edge's planned responses,
/// its prebuilt heads, the admin API's answers): one place, one rule for CR and LF.
///
/// Fields follow `ResponseFieldLine`'s one rule: a name that is not a token, or a value
/// containing CR, LF or NUL, leaves that field out (nothing written, nothing trimmed, no crash),
/// so no value can split the response.
public struct ResponseHeadWriter {
    private var buffer: [UInt8]
    private var statusWritten = false

    /// Takes over `buffer`'s storage (its contents are discarded, its capacity kept). The
    /// storage is reused without a copy only if the caller holds no other reference to it;
    /// prefer `init(reusing:)`.
    public init(buffer: [UInt8] = [], reservingCapacity capacity: Int = 512) {
        self.buffer = buffer
        self.buffer.removeAll(keepingCapacity: true)
        self.buffer.reserveCapacity(capacity)
    }

    /// Takes `buffer`'s storage and leaves it empty, so the writer owns it uniquely and
    /// appends without copying: `var w = ResponseHeadWriter(reusing: &buf); …; buf = w.end()`.
    public init(reusing buffer: inout [UInt8]) {
        self.buffer = []
        swap(&self.buffer, &buffer)
        self.buffer.removeAll(keepingCapacity: true)
        self.buffer.reserveCapacity(512)
    }

    /// A head begun with its status line, then `Date` and `Server` when given, in that order:
    /// the start of every head the edge and the admin listener write. Nothing in it may hold CR,
    /// LF or NUL (a date or server that does is left out, as any field would be).
    public init(status code: Int, date: [UInt8]? = nil, server: StaticString? = nil, capacity: Int = 384) {
        buffer = []
        buffer.reserveCapacity(capacity)
        status(HTTPStatus(code))
        if let date { header("Date", date) }
        if let server { header("Server", server) }
    }

    /// The bytes written so far (a head without its end: a prebuilt head another piece completes).
    public var bytes: [UInt8] { buffer }

    // MARK: - Status line

    /// `HTTP/1.1 200 OK\r\n`. Must come first, once per head.
    public mutating func status(_ status: HTTPStatus) {
        precondition(!statusWritten, "status line written twice; call end() first")
        statusWritten = true
        buffer.append(contentsOf: StaticString("HTTP/1.1 ").buffer)
        let code = status.rawValue
        buffer.append(UInt8(ascii: "0") + UInt8(code / 100))
        buffer.append(UInt8(ascii: "0") + UInt8(code / 10 % 10))
        buffer.append(UInt8(ascii: "0") + UInt8(code % 10))
        buffer.append(SemanticBytes.space)
        let reason = status.reasonPhrase
        buffer.append(contentsOf: UnsafeBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount))
        appendCRLF()
    }

    public mutating func status(_ code: Int) {
        status(HTTPStatus(code))
    }

    // MARK: - Fields

    public mutating func header(_ name: StaticString, _ value: StaticString) {
        appendField(name: name.buffer, value: value.buffer)
    }

    public mutating func header(_ name: StaticString, _ value: String) {
        var value = value
        value.withUTF8 { appendField(name: name.buffer, value: $0) }
    }

    public mutating func header(_ name: StaticString, _ value: [UInt8]) {
        value.withUnsafeBufferPointer { appendField(name: name.buffer, value: $0) }
    }

    public mutating func header(_ name: StaticString, _ value: ArraySlice<UInt8>) {
        value.withUnsafeBufferPointer { appendField(name: name.buffer, value: $0) }
    }

    public mutating func header(_ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { n in value.withUTF8 { v in appendField(name: n, value: v) } }
    }

    public mutating func header(_ name: String, _ value: [UInt8]) {
        var name = name
        name.withUTF8 { n in value.withUnsafeBufferPointer { v in appendField(name: n, value: v) } }
    }

    public mutating func header(_ name: String, _ value: ArraySlice<UInt8>) {
        var name = name
        name.withUTF8 { n in value.withUnsafeBufferPointer { v in appendField(name: n, value: v) } }
    }

    /// A field with a non-negative decimal value, written without allocating.
    public mutating func header(_ name: StaticString, decimal value: Int64) {
        appendName(name.buffer)
        SemanticBytes.appendDecimal(value, to: &buffer)
        appendCRLF()
    }

    /// `Content-Length: n`.
    public mutating func contentLength(_ length: Int) {
        header("Content-Length", decimal: Int64(length))
    }

    /// `Content-Length: n` for a file-sized length.
    public mutating func contentLength(_ length: Int64) {
        header("Content-Length", decimal: length)
    }

    /// Field lines built earlier, each written under `ResponseFieldLine`'s rule (a
    /// representation's fixed fields, built once at load): appended as they are, uncopied per field.
    public mutating func fieldLines(_ lines: [UInt8]) {
        precondition(statusWritten, "field lines before status()")
        buffer.append(contentsOf: lines)
    }

    /// `Date: <IMF-fixdate>` from a per-thread cache.
    public mutating func date(_ cache: inout HTTPDateCache, now unixSeconds: Int64) {
        header("Date", cache.imfFixdate(at: unixSeconds))
    }

    // MARK: - End

    /// Appends the blank line and hands the head over; the writer is empty afterwards and can
    /// write the next head into fresh storage.
    public mutating func end() -> [UInt8] {
        precondition(statusWritten, "end() before status()")
        appendCRLF()
        statusWritten = false
        var out: [UInt8] = []
        swap(&out, &buffer)
        return out
    }

    /// Ends the head with the connection field a keep-alive decision needs (RFC 9112 §9.3):
    /// `Connection: close` when the connection closes after this response, `Connection:
    /// keep-alive` for an HTTP/1.0 client that asked to keep it open, nothing otherwise.
    public mutating func end(close: Bool, http10KeepAlive: Bool) -> [UInt8] {
        if close {
            header("Connection", "close" as StaticString)
        } else if http10KeepAlive {
            header("Connection", "keep-alive" as StaticString)
        }
        return end()
    }

    // MARK: - 103 Early Hints

    /// An interim `HTTP/1.1 103 Early Hints` head (RFC 8297) with one `Link` field per hint,
    /// e.g. `</app.js>; rel=preload; as=script`. Sent before the final response's head.
    public static func earlyHints(links: [String], buffer: [UInt8] = []) -> [UInt8] {
        var writer = ResponseHeadWriter(buffer: buffer)
        writer.status(.earlyHints)
        for link in links { writer.header("Link", link) }
        return writer.end()
    }

    // MARK: - Validation

    private mutating func appendField(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        precondition(statusWritten, "header before status()")
        ResponseFieldLine.append(name: name, value: value, to: &buffer)
    }

    @inline(__always) private mutating func appendCRLF() {
        buffer.append(SemanticBytes.cr)
        buffer.append(SemanticBytes.lf)
    }

    /// Our own literal names (the decimal fields); checked all the same.
    private mutating func appendName(_ name: UnsafeBufferPointer<UInt8>) {
        precondition(statusWritten, "header before status()")
        precondition(ResponseFieldLine.isAllowedName(name), "header name is not a token")
        buffer.append(contentsOf: name)
        buffer.append(UInt8(ascii: ":"))
        buffer.append(SemanticBytes.space)
    }

    /// Whether a value would be written (no CR, LF or NUL); for callers that take values from
    /// configuration and want to reject them early instead of seeing the field left out.
    public static func isValidValue(_ value: some Sequence<UInt8>) -> Bool {
        let bytes = Array(value)
        return bytes.withUnsafeBufferPointer(ResponseFieldLine.isAllowedValue)
    }

    /// Whether a name is a token (RFC 9110 §5.1).
    public static func isValidName(_ name: some Sequence<UInt8>) -> Bool {
        let bytes = Array(name)
        return bytes.withUnsafeBufferPointer(ResponseFieldLine.isAllowedName)
    }
}

/// The one rule for writing a response field line, used by every response head Wharf writes
/// (`ResponseHeadWriter`, and the edge's and the admin listener's heads): a field whose name is
/// not a token (RFC 9110 §5.1) or whose value contains CR, LF or NUL (RFC 9110 §5.5) is left out
/// whole. It is not written, not trimmed, and not a crash.
///
/// Why leave it out rather than strip the bytes or stop the process: stripping joins the text
/// around a line break into a value nobody wrote (`Location: https://shop.test` CR LF
/// `.evil.test` would become a redirect to `shop.test.evil.test`), and stopping on a value that
/// came from an upload or a stored manifest would hand anyone who can put one there a denial of
/// service. Left out, the response stays one well-formed response that says nothing the server
/// did not mean.
public enum ResponseFieldLine {
    /// Appends `name: value` CR LF to `buffer`. False, with nothing appended, when the rule
    /// refuses the field.
    @discardableResult
    public static func append(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>,
        to buffer: inout [UInt8]
    ) -> Bool {
        guard isAllowedName(name), isAllowedValue(value) else { return false }
        buffer.append(contentsOf: name)
        buffer.append(UInt8(ascii: ":"))
        buffer.append(SemanticBytes.space)
        buffer.append(contentsOf: value)
        buffer.append(SemanticBytes.cr)
        buffer.append(SemanticBytes.lf)
        return true
    }

    /// `append` for strings (names and values built at run time).
    @discardableResult
    public static func append(name: String, value: String, to buffer: inout [UInt8]) -> Bool {
        var name = name
        var value = value
        return name.withUTF8 { n in value.withUTF8 { v in append(name: n, value: v, to: &buffer) } }
    }

    /// `append` for a literal name and a byte value.
    @discardableResult
    public static func append(name: StaticString, value: [UInt8], to buffer: inout [UInt8]) -> Bool {
        value.withUnsafeBufferPointer { append(name: name.buffer, value: $0, to: &buffer) }
    }

    /// `append` for a literal name and a string value.
    @discardableResult
    public static func append(name: StaticString, value: String, to buffer: inout [UInt8]) -> Bool {
        var value = value
        return value.withUTF8 { append(name: name.buffer, value: $0, to: &buffer) }
    }

    /// A non-empty token.
    public static func isAllowedName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        !name.isEmpty && name.allSatisfy(SemanticBytes.isTokenChar)
    }

    /// No CR, LF or NUL.
    public static func isAllowedValue(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        !SemanticBytes.containsLineBreakOrNul(value)
    }
}

extension StaticString {
    fileprivate var buffer: UnsafeBufferPointer<UInt8> {
        precondition(hasPointerRepresentation, "header text must be a string literal, not a scalar")
        return UnsafeBufferPointer(start: utf8Start, count: utf8CodeUnitCount)
    }
}

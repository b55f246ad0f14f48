/// A parsed request head. It shares the caller's receive buffer instead of copying it: the target
/// and every field are ranges into `bytes`, so a lookup returns an `ArraySlice` of that buffer
/// and no `String` is made per header.
public struct RequestHead: Sendable {
    /// The buffer the head was parsed from (shared, not copied).
    public let bytes: [UInt8]
    /// Index of the first byte of the request line in `bytes`.
    public let start: Int
    /// Number of bytes of the head, request line through the empty line.
    public let byteCount: Int
    /// The request method (`.other` is built from the buffer on each access).
    public var method: HTTPMethod {
        HTTPMethod(code: methodCode, token: bytes[start..<(start &+ Int(targetStart) &- 1)])
    }
    public let version: HTTPVersion
    /// Whether the connection may carry another request after this one (RFC 9112 §9.3):
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public let keepAlive: Bool
    /// How the body is delimited (RFC 9112 §6.3).
    public let body: BodyFraming
    /// `Expect: 100-continue` was sent (RFC 9110 §10.1.1).
    public let expectsContinue: Bool
    /// `Connection` lists `upgrade` and an `Upgrade` field is present.
    public let wantsUpgrade: Bool

    let methodCode: UInt8
    let targetStart: UInt32
    let targetEnd: UInt32
    /// The parser's field table; only the first `fieldCount` entries belong to this head.
    let spans: [FieldSpan]
    /// The number of header fields.
    public let fieldCount: Int
    /// Bit `code` set for every known field present: absent fields (most of the ones a
    /// responder asks about) are answered without scanning the field table.
    let knownFields: UInt64

    init(
        bytes: [UInt8], start: Int, byteCount: Int, methodCode: UInt8, version: HTTPVersion,
        keepAlive: Bool, body: BodyFraming, expectsContinue: Bool, wantsUpgrade: Bool,
        targetStart: UInt32, targetEnd: UInt32, spans: [FieldSpan], fieldCount: Int
    ) {
        self.bytes = bytes
        self.start = start
        self.byteCount = byteCount
        self.methodCode = methodCode
        self.version = version
        self.keepAlive = keepAlive
        self.body = body
        self.expectsContinue = expectsContinue
        self.wantsUpgrade = wantsUpgrade
        self.targetStart = targetStart
        self.targetEnd = targetEnd
        self.spans = spans
        self.fieldCount = fieldCount
        var mask: UInt64 = 0
        spans.withUnsafeBufferPointer { s in
            for k in 0..<fieldCount { mask |= 1 &<< UInt64(s[k].code & 63) }
        }
        self.knownFields = mask
    }

    /// The request-target exactly as sent, e.g. `/assets/app.js?v=1` (decode it with `RequestTarget`).
    public var target: ArraySlice<UInt8> { bytes[(start &+ Int(targetStart))..<(start &+ Int(targetEnd))] }

    /// The first value of a known field, without surrounding whitespace, or nil if absent.
    @inline(__always)
    public func value(of name: FieldName) -> ArraySlice<UInt8>? {
        let code = name.code
        guard knownFields & (1 &<< UInt64(code & 63)) != 0 else { return nil }
        let found = spans.withUnsafeBufferPointer { s -> Int in
            for k in 0..<fieldCount where s[k].code == code { return k }
            return -1
        }
        guard found >= 0 else { return nil }
        return slice(spans[found].valueStart, spans[found].valueEnd)
    }

    /// Whether a known field is present.
    public func contains(_ name: FieldName) -> Bool { knownFields & (1 &<< UInt64(name.code & 63)) != 0 }

    /// Every value of a known field, in order (for list fields sent on several lines).
    public func values(of name: FieldName) -> [ArraySlice<UInt8>] {
        spans[..<fieldCount].filter { $0.code == name.code }.map { slice($0.valueStart, $0.valueEnd) }
    }

    /// The first value of any field by name, compared case-insensitively, or nil.
    public func value(ofName name: String) -> ArraySlice<UInt8>? {
        if let known = FieldName(name) { return value(of: known) }
        var name = name
        return name.withUTF8 { wanted -> ArraySlice<UInt8>? in
            for span in spans[..<fieldCount] where span.code == 0 && Int(span.nameEnd &- span.nameStart) == wanted.count {
                if equalsIgnoringCase(span, wanted) { return slice(span.valueStart, span.valueEnd) }
            }
            return nil
        }
    }

    /// All fields in the order received.
    public var fields: Fields { Fields(head: self) }

    @inline(__always)
    func slice(_ from: UInt32, _ to: UInt32) -> ArraySlice<UInt8> {
        bytes[(start &+ Int(from))..<(start &+ Int(to))]
    }

    private func equalsIgnoringCase(_ span: FieldSpan, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = start &+ Int(span.nameStart)
        for w in wanted {
            if lowercased(bytes[i]) != lowercased(w) { return false }
            i &+= 1
        }
        return true
    }

    private func lowercased(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }
}

extension RequestHead {
    /// One header field: name and value as slices of the receive buffer.
    public struct Field: Sendable {
        public let name: ArraySlice<UInt8>
        public let value: ArraySlice<UInt8>
        /// The known name, if the field is in `FieldName`'s table.
        public let known: FieldName?
    }

    /// The header fields of a head, as a random-access collection.
    public struct Fields: RandomAccessCollection, Sendable {
        let head: RequestHead
        public var startIndex: Int { 0 }
        public var endIndex: Int { head.fieldCount }
        public subscript(position: Int) -> Field {
            let span = head.spans[position]
            return Field(
                name: head.slice(span.nameStart, span.nameEnd),
                value: head.slice(span.valueStart, span.valueEnd),
                known: span.code == 0 ? nil : FieldName(code: span.code))
        }
    }
}

/// How a request body is delimited (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Hashable {
    /// No body: neither Content-Length nor Transfer-Encoding.
    case none
    /// Exactly this many bytes follow the head.
    case contentLength(Int)
    /// A chunked body follows (RFC 9112 §7.1).
    case chunked
}

/// Where one field sits in the buffer, relative to the head's first byte.
struct FieldSpan: Sendable {
    var nameStart: UInt32
    var nameEnd: UInt32
    var valueStart: UInt32
    var valueEnd: UInt32
    /// `FieldName.code`, or 0 for a name outside the table.
    var code: UInt8
}

extension RequestHead: CustomStringConvertible {
    public var description: String {
        "\(method) \(String(decoding: target, as: UTF8.self)) \(version) (\(fieldCount) fields)"
    }
}

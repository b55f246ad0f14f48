/// Message framing and connection semantics from the parsed fields: Host (RFC 9112 §3.2),
/// Content-Length and Transfer-Encoding (RFC 9112 §6), Connection (RFC 9112 §9.3), Expect.
/// This is where request smuggling lives, so every ambiguity is a rejection.
struct Framing {
    var keepAlive: Bool
    var body: BodyFraming
    var expectsContinue: Bool
    var wantsUpgrade: Bool

    static func analyse(
        _ p: UnsafeBufferPointer<UInt8>, base: Int, spans: UnsafeBufferPointer<FieldSpan>, version: HTTPVersion, limits: ParserLimits
    ) throws(ParseError) -> Framing {
        var hosts = 0
        var contentLength: Int?
        var codings = TransferCodings()
        var close = false
        var keepAliveToken = false
        var upgradeToken = false
        var hasUpgrade = false
        var expectsContinue = false
        for span in spans where span.code != 0 {
            let start = base &+ Int(span.valueStart)
            let end = base &+ Int(span.valueEnd)
            switch span.code {
            case FieldName.host.code:
                hosts &+= 1
            case FieldName.contentLength.code:
                // RFC 9110 §8.6: identical repeated values may be accepted; differing ones may not.
                let value = try parseContentLength(p, start, end)
                if let previous = contentLength, previous != value { throw .conflictingContentLength }
                contentLength = value
            case FieldName.transferEncoding.code:
                try codings.add(p, start, end)
            case FieldName.connection.code:
                forEachListElement(p, start, end) { s, e in
                    if FieldName.equalsLowercase(p, s, e, "close") {
                        close = true
                    } else if FieldName.equalsLowercase(p, s, e, "keep-alive") {
                        keepAliveToken = true
                    } else if FieldName.equalsLowercase(p, s, e, "upgrade") {
                        upgradeToken = true
                    }
                }
            case FieldName.upgrade.code:
                hasUpgrade = true
            case FieldName.expect.code:
                expectsContinue = FieldName.equalsLowercase(p, start, end, "100-continue")
            default:
                break
            }
        }
        // RFC 9112 §3.2: exactly one Host in HTTP/1.1; never more than one.
        if hosts > 1 { throw .duplicateHost }
        if hosts == 0 && version.isAtLeast1_1 { throw .missingHost }

        let body: BodyFraming
        if codings.present {
            // RFC 9112 §6.3 (3): TE with CL is a smuggling attempt; reject rather than guess.
            if contentLength != nil { throw .contentLengthWithTransferEncoding }
            // RFC 9112 §6.1: HTTP/1.0 has no chunked framing; treat as faulty.
            if !version.isAtLeast1_1 { throw .transferEncodingInHTTP10 }
            try codings.validate()
            body = .chunked
        } else if let length = contentLength {
            if length > limits.maxBodyBytes { throw .bodyTooLarge }
            body = .contentLength(length)
        } else {
            body = .none
        }
        let keepAlive = version.isAtLeast1_1 ? !close : (keepAliveToken && !close)
        return Framing(
            keepAlive: keepAlive, body: body, expectsContinue: expectsContinue,
            wantsUpgrade: upgradeToken && hasUpgrade)
    }

    /// Content-Length = 1*DIGIT, or a list of identical values ("42, 42").
    static func parseContentLength(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) -> Int {
        var result: Int?
        var failed = false
        var differs = false
        forEachListElement(p, start, end, keepEmpty: true) { s, e in
            guard !failed, e > s, e &- s <= 18 else {
                failed = true
                return
            }
            var n = 0
            for i in s..<e {
                let d = p[i] &- 0x30
                guard d < 10 else {
                    failed = true
                    return
                }
                n = n &* 10 &+ Int(d)
            }
            if let r = result, r != n { differs = true }
            result = n
        }
        guard !failed, let value = result else { throw .invalidContentLength }
        if differs { throw .conflictingContentLength }
        return value
    }

    /// Calls `body` with the bounds of each comma-separated element, OWS trimmed (RFC 9110 §5.6.1).
    /// Empty elements are skipped unless `keepEmpty`.
    static func forEachListElement(
        _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, keepEmpty: Bool = false,
        _ body: (Int, Int) -> Void
    ) {
        var i = start
        while i <= end {
            var j = i
            while j < end && p[j] != 0x2C { j &+= 1 }
            var s = i
            var e = j
            while s < e && ByteClass.isBlank(p[s]) { s &+= 1 }
            while e > s && ByteClass.isBlank(p[e &- 1]) { e &-= 1 }
            if e > s || keepEmpty { body(s, e) }
            i = j &+ 1
        }
    }
}

/// The transfer codings named by every Transfer-Encoding field, in order (RFC 9112 §6.1).
struct TransferCodings {
    var present = false
    var count = 0
    var lastIsChunked = false
    var chunkedCount = 0
    var otherCount = 0
    var malformed = false

    mutating func add(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        present = true
        var malformed = false
        var count = count
        var last = lastIsChunked
        var chunked = chunkedCount
        var other = otherCount
        Framing.forEachListElement(p, start, end) { s, e in
            // transfer-coding = token *( OWS ";" OWS transfer-parameter )
            var i = s
            while i < e && ByteClass.isTchar(p[i]) { i &+= 1 }
            let nameEnd = i
            while i < e && ByteClass.isBlank(p[i]) { i &+= 1 }
            let hasParameters = i < e && p[i] == 0x3B
            if nameEnd == s || (i < e && !hasParameters) {
                malformed = true
                return
            }
            let isChunked = FieldName.equalsLowercase(p, s, nameEnd, "chunked")
            if isChunked && hasParameters {
                malformed = true
                return
            }
            count &+= 1
            last = isChunked
            if isChunked { chunked &+= 1 } else { other &+= 1 }
        }
        self.count = count
        lastIsChunked = last
        chunkedCount = chunked
        otherCount = other
        if malformed { self.malformed = true }
    }

    /// RFC 9112 §6.3 (4): in a request, chunked must be the final coding (else 400); it may not be
    /// applied twice (§7); any other coding is one we do not implement (§6.1: 501).
    func validate() throws(ParseError) {
        if malformed || count == 0 { throw .invalidTransferCoding }
        if !lastIsChunked { throw .transferEncodingNotChunkedLast }
        if chunkedCount > 1 { throw .chunkedAppliedTwice }
        if otherCount > 0 { throw .unsupportedTransferCoding }
    }
}

extension FieldName {
    /// Whether `p[start..<end]` equals a lower-case literal, ignoring ASCII case.
    static func equalsLowercase(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        guard end &- start == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        for i in 0..<(end &- start) {
            let b = p[start &+ i]
            let lower = b &- 0x41 < 26 ? b | 0x20 : b
            if lower != lit[i] { return false }
        }
        return true
    }
}

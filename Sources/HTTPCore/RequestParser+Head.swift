/// Request-line and header-section parsing (RFC 9112 §2–§5), resumable at line boundaries.
///
/// Each line is first located (its LF found within the limit), then parsed whole. So a
/// decision never depends on where the input was split, and no byte is scanned more than a
/// few times however slowly the head trickles in.
struct HeadProgress: Sendable {
    /// 0: before/in the request line; 1: in the field lines.
    var phase: UInt8 = 0
    /// Start of the current line, relative to the head's first byte.
    var lineStart = 0
    /// The current line has no LF before this offset (relative to the head's first byte).
    var scanFrom = 0
    var leadingEmptyLines = 0
    var method: HTTPMethod = .get
    var version: HTTPVersion = .http1_1
    var targetStart: UInt32 = 0
    var targetEnd: UInt32 = 0

    var isFresh: Bool { phase == 0 && scanFrom == 0 }
}

extension RequestParser {
    mutating func nextHead(_ buffer: [UInt8], _ index: inout Int) throws(ParseError) -> Step {
        let complete = try buffer.withUnsafeBufferPointer { p throws(ParseError) -> Int? in
            try scanHead(p, &index)
        }
        guard let length = complete else { return .needMore }
        let base = index
        let framing = try buffer.withUnsafeBufferPointer { p throws(ParseError) in
            try Framing.analyse(p, base: base, spans: spans, version: progress.version, limits: limits)
        }
        let head = RequestHead(
            bytes: buffer, start: base, byteCount: length, method: progress.method,
            version: progress.version, keepAlive: framing.keepAlive, body: framing.body,
            expectsContinue: framing.expectsContinue, wantsUpgrade: framing.wantsUpgrade,
            targetStart: progress.targetStart, targetEnd: progress.targetEnd, spans: spans)
        index = base &+ length
        progress = HeadProgress()
        spans.removeAll(keepingCapacity: true)
        switch framing.body {
        case .none, .contentLength(0): state = .messageEnd
        case .contentLength(let n): state = .fixedBody(remaining: n)
        case .chunked:
            state = .chunkLine
            lineScan = 0
            bodyReceived = 0
        }
        return .event(.head(head))
    }

    /// Advances through the head's lines; returns the head's length once its empty line is seen.
    private mutating func scanHead(_ p: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws(ParseError) -> Int? {
        let end = p.count
        if progress.phase == 0 {
            // RFC 9112 §2.2: ignore at least one empty line (CRLF) before the request line.
            if progress.scanFrom == 0 {
                while index < end && p[index] == ByteClass.cr {
                    guard index &+ 1 < end else { return nil }
                    guard p[index &+ 1] == ByteClass.lf else { throw .bareCarriageReturn }
                    progress.leadingEmptyLines &+= 1
                    guard progress.leadingEmptyLines <= limits.maxLeadingEmptyLines else { throw .invalidRequestLine }
                    index &+= 2
                }
                if index < end && p[index] == ByteClass.lf { throw .bareLineFeed }
            }
            let base = index
            let lineLimit = min(limits.maxRequestLineBytes, limits.maxHeaderBytes)
            let limitEnd = base &+ lineLimit
            guard let lf = ByteClass.firstLineFeed(p.baseAddress!, from: base &+ progress.scanFrom, to: min(end, limitEnd))
            else {
                if end >= limitEnd {
                    throw lineLimit == limits.maxRequestLineBytes ? .requestLineTooLong : .headerSectionTooLarge
                }
                progress.scanFrom = end &- base
                return nil
            }
            guard lf > base, p[lf &- 1] == ByteClass.cr else { throw .bareLineFeed }
            try parseRequestLine(p, base, lf &- 1)
            progress.phase = 1
            progress.lineStart = lf &+ 1 &- base
            progress.scanFrom = progress.lineStart
        }
        let base = index
        let limitEnd = base &+ limits.maxHeaderBytes
        let searchEnd = min(end, limitEnd)
        let pointer = p.baseAddress!
        while true {
            let lineStart = base &+ progress.lineStart
            guard let lf = ByteClass.firstLineFeed(pointer, from: base &+ progress.scanFrom, to: searchEnd) else {
                if end >= limitEnd { throw .headerSectionTooLarge }
                progress.scanFrom = end &- base
                return nil
            }
            guard lf > lineStart, p[lf &- 1] == ByteClass.cr else { throw .bareLineFeed }
            let cr = lf &- 1
            if cr == lineStart { return lf &+ 1 &- base }
            guard spans.count < limits.maxFieldCount else { throw .tooManyFields }
            let field = try Self.parseFieldLine(p, lineStart, cr, isFirst: spans.isEmpty)
            spans.append(FieldSpan(
                nameStart: UInt32(truncatingIfNeeded: lineStart &- base),
                nameEnd: UInt32(truncatingIfNeeded: field.nameEnd &- base),
                valueStart: UInt32(truncatingIfNeeded: field.valueStart &- base),
                valueEnd: UInt32(truncatingIfNeeded: field.valueEnd &- base),
                code: FieldName.recognise(p, lineStart, field.nameEnd)))
            progress.lineStart = lf &+ 1 &- base
            progress.scanFrom = progress.lineStart
        }
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3), in `p[base..<cr]`.
    private mutating func parseRequestLine(_ p: UnsafeBufferPointer<UInt8>, _ base: Int, _ cr: Int) throws(ParseError) {
        var i = base
        while i < cr && ByteClass.isTchar(p[i]) { i &+= 1 }
        let methodEnd = i
        guard i < cr else { throw .invalidRequestLine }
        guard p[i] == ByteClass.sp else { throw p[i] == ByteClass.cr ? .bareCarriageReturn : .invalidMethod }
        guard methodEnd > base else { throw .invalidRequestLine }
        i &+= 1
        let targetStart = i
        while i < cr && ByteClass.isTargetByte(p[i]) { i &+= 1 }
        guard i < cr else { throw .invalidRequestLine }
        guard p[i] == ByteClass.sp else { throw p[i] == ByteClass.cr ? .bareCarriageReturn : .invalidRequestTarget }
        guard i > targetStart else { throw .invalidRequestLine }
        let targetEnd = i
        i &+= 1
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive, RFC 9112 §2.3).
        guard cr &- i == 8 else {
            for j in i..<cr where p[j] == ByteClass.cr { throw .bareCarriageReturn }
            throw .invalidVersion
        }
        guard p[i] == 0x48, p[i &+ 1] == 0x54, p[i &+ 2] == 0x54, p[i &+ 3] == 0x50, p[i &+ 4] == 0x2F,
              p[i &+ 6] == 0x2E
        else { throw .invalidVersion }
        let major = p[i &+ 5] &- 0x30
        let minor = p[i &+ 7] &- 0x30
        guard major < 10, minor < 10 else { throw .invalidVersion }
        guard major == 1 else {
            let isPreface = major == 2 && minor == 0 && methodEnd &- base == 3
                && p[base] == 0x50 && p[base &+ 1] == 0x52 && p[base &+ 2] == 0x49
                && targetEnd &- targetStart == 1 && p[targetStart] == 0x2A
            throw isPreface ? .http2Preface : .unsupportedVersion
        }
        progress.method = HTTPMethod.recognise(p, base, methodEnd)
        progress.version = minor == 1 ? .http1_1 : minor == 0 ? .http1_0 : HTTPVersion(major: 1, minor: minor)
        progress.targetStart = UInt32(truncatingIfNeeded: targetStart &- base)
        progress.targetEnd = UInt32(truncatingIfNeeded: targetEnd &- base)
    }

    /// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), in `p[start..<cr]`.
    /// Returns where the name ends and the trimmed value's bounds.
    static func parseFieldLine(
        _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ cr: Int, isFirst: Bool
    ) throws(ParseError) -> (nameEnd: Int, valueStart: Int, valueEnd: Int) {
        if ByteClass.isBlank(p[start]) {
            // RFC 9112 §5.2: obs-fold is rejected; §2.2: so is whitespace before the first field.
            throw isFirst ? .whitespaceBeforeFirstField : .obsoleteLineFolding
        }
        var i = start
        while i < cr && ByteClass.isTchar(p[i]) { i &+= 1 }
        let nameEnd = i
        guard i < cr else { throw .missingColon }
        let b = p[i]
        if b != 0x3A {
            if ByteClass.isBlank(b) {
                // RFC 9112 §5.1: no whitespace between field name and colon.
                var j = i
                while j < cr && ByteClass.isBlank(p[j]) { j &+= 1 }
                if j < cr && p[j] == 0x3A { throw .whitespaceBeforeColon }
            }
            if b == ByteClass.cr { throw .bareCarriageReturn }
            throw .invalidFieldName
        }
        guard nameEnd > start else { throw .invalidFieldName }
        i &+= 1
        while i < cr && ByteClass.isBlank(p[i]) { i &+= 1 }
        var valueEnd = cr
        while valueEnd > i && ByteClass.isBlank(p[valueEnd &- 1]) { valueEnd &-= 1 }
        if let bad = ByteClass.firstInvalidValueByte(p.baseAddress!, from: i, to: valueEnd) {
            throw p[bad] == ByteClass.cr ? .bareCarriageReturn : .invalidFieldValue
        }
        return (nameEnd, i, valueEnd)
    }
}

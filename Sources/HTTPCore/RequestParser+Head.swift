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
    var methodCode: UInt8 = 0
    var version: HTTPVersion = .http1_1
    var targetStart: UInt32 = 0
    var targetEnd: UInt32 = 0
    /// Field lines parsed so far into the parser's field table.
    var fieldCount = 0
    /// A Content-Length field line was seen (a second one is refused when its line ends).
    var sawContentLength = false

    var isFresh: Bool { phase == 0 && scanFrom == 0 }
}

extension RequestParser {
    /// The next complete head, or nil when more bytes are needed.
    mutating func nextHead(_ buffer: [UInt8], _ index: inout Int) throws(ParseError) -> RequestHead? {
        let complete = try buffer.withUnsafeBufferPointer { p throws(ParseError) -> Int? in
            try scanHead(p, &index)
        }
        guard let length = complete else { return nil }
        let base = index
        let count = progress.fieldCount
        let version = progress.version
        let limits = limits
        let framing = try buffer.withUnsafeBufferPointer { p throws(ParseError) in
            try spans.withUnsafeBufferPointer { s throws(ParseError) in
                try Framing.analyse(
                    p, base: base, spans: UnsafeBufferPointer(rebasing: s[0..<count]),
                    version: version, limits: limits)
            }
        }
        let head = RequestHead(
            bytes: buffer, start: base, byteCount: length, methodCode: progress.methodCode,
            version: progress.version, keepAlive: framing.keepAlive, body: framing.body,
            expectsContinue: framing.expectsContinue, wantsUpgrade: framing.wantsUpgrade,
            targetStart: progress.targetStart, targetEnd: progress.targetEnd, spans: spans, fieldCount: count)
        index = base &+ length
        progress = HeadProgress()
        switch framing.body {
        case .none, .contentLength(0): state = .messageEnd
        case .contentLength(let n): state = .fixedBody(remaining: n)
        case .chunked:
            state = .chunkLine
            lineScan = 0
            bodyReceived = 0
        }
        return head
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
                // Refuse what is already wrong before the line ends (the byte before the new
                // ones may be a CR whose successor just arrived).
                try ByteClass.rejectBareCarriageReturn(
                    p.baseAddress!, from: base &+ max(0, progress.scanFrom &- 1),
                    to: min(end, limitEnd))
                if end >= limitEnd {
                    throw lineLimit == limits.maxRequestLineBytes ? .requestLineTooLong : .headerSectionTooLarge
                }
                progress.scanFrom = end &- base
                return nil
            }
            // A line holding a bare CR is refused as such whatever else is wrong with it, so the
            // error is the same whether the line arrived whole or its CR was seen early.
            guard lf > base, p[lf &- 1] == ByteClass.cr else {
                throw ByteClass.containsCarriageReturn(p.baseAddress!, from: base, to: lf) ? .bareCarriageReturn : .bareLineFeed
            }
            if let error = parseRequestLine(p, base, lf &- 1) {
                throw ByteClass.containsCarriageReturn(p.baseAddress!, from: base, to: lf &- 1) ? .bareCarriageReturn : error
            }
            progress.phase = 1
            progress.lineStart = lf &+ 1 &- base
            progress.scanFrom = progress.lineStart
        }
        // The field table is written through one pointer for the whole head: one uniqueness
        // check per head instead of one per field. (If the previous head still shares the
        // table, this is where it is copied.)
        var table: [FieldSpan] = []
        swap(&table, &spans)
        defer { swap(&table, &spans) }
        let base = index
        while true {
            let outcome = try table.withUnsafeMutableBufferPointer { fields throws(ParseError) -> FieldScan in
                try scanFields(p, base, fields)
            }
            switch outcome {
            case .complete(let length): return length
            case .needMoreBytes: return nil
            case .tableFull:
                // Progress is saved; continue with a table twice as large (never past the limit).
                let grown = min(limits.maxFieldCount, max(table.count * 2, 1))
                table.append(
                    contentsOf: repeatElement(
                        FieldSpan(nameStart: 0, nameEnd: 0, valueStart: 0, valueEnd: 0, code: 0),
                        count: grown - table.count))
            }
        }
    }

    /// How a pass over the field lines ended.
    private enum FieldScan {
        /// The head ends here: its length from the request line.
        case complete(Int)
        case needMoreBytes
        /// The table has no room for the next field but the limit allows more.
        case tableFull
    }

    /// The field lines of a head whose request line starts at `base`, written into `fields`.
    private mutating func scanFields(
        _ p: UnsafeBufferPointer<UInt8>, _ base: Int, _ fields: UnsafeMutableBufferPointer<FieldSpan>
    ) throws(ParseError) -> FieldScan {
        let end = p.count
        let limitEnd = base &+ limits.maxHeaderBytes
        let searchEnd = min(end, limitEnd)
        let maxFields = limits.maxFieldCount
        let room = fields.count
        let pointer = p.baseAddress!
        // Progress lives in locals while scanning and is written back when more bytes are needed.
        var count = progress.fieldCount
        var lineStart = base &+ progress.lineStart
        var scanFrom = base &+ progress.scanFrom
        while true {
            if scanFrom == lineStart, let field = Self.completeValidFieldLine(pointer, lineStart, searchEnd) {
                guard count < maxFields else { throw .tooManyFields }
                if count == room {
                    progress.fieldCount = count
                    progress.lineStart = lineStart &- base
                    progress.scanFrom = scanFrom &- base
                    return .tableFull
                }
                if _slowPath(field.code == FieldName.contentLength.code) {
                    try checkContentLength(p, field.valueStart, field.valueEnd)
                }
                fields[count] = FieldSpan(
                    nameStart: UInt32(truncatingIfNeeded: lineStart &- base),
                    nameEnd: UInt32(truncatingIfNeeded: field.nameEnd &- base),
                    valueStart: UInt32(truncatingIfNeeded: field.valueStart &- base),
                    valueEnd: UInt32(truncatingIfNeeded: field.valueEnd &- base),
                    code: field.code)
                count &+= 1
                lineStart = field.lf &+ 1
                scanFrom = lineStart
                continue
            }
            guard let lf = ByteClass.firstLineFeed(pointer, from: scanFrom, to: searchEnd) else {
                // The line is not complete, but what it holds so far may already be wrong. (Not
                // when the table is at the field limit: then the complete line's error is
                // tooManyFields or a bare-LF one, which the partial line cannot tell apart.)
                if count < maxFields,
                    let error = Self.partialFieldLineError(
                        pointer, lineStart: lineStart, scanFrom: scanFrom,
                        end: searchEnd, isFirst: count == 0)
                {
                    throw error
                }
                if end >= limitEnd { throw .headerSectionTooLarge }
                progress.fieldCount = count
                progress.lineStart = lineStart &- base
                progress.scanFrom = end &- base
                return .needMoreBytes
            }
            guard lf > lineStart, p[lf &- 1] == ByteClass.cr else {
                throw Self.bareLineFeedError(pointer, lineStart: lineStart, lf: lf, isFirst: count == 0)
            }
            let cr = lf &- 1
            if cr == lineStart {
                progress.fieldCount = count
                return .complete(lf &+ 1 &- base)
            }
            guard count < maxFields else { throw .tooManyFields }
            if count == room {
                progress.fieldCount = count
                progress.lineStart = lineStart &- base
                progress.scanFrom = scanFrom &- base
                return .tableFull
            }
            let field = try Self.parseCompleteFieldLine(p, lineStart, cr, isFirst: count == 0)
            let code = FieldName.recognise(p, lineStart, field.nameEnd)
            if code == FieldName.contentLength.code {
                try checkContentLength(p, field.valueStart, field.valueEnd)
            }
            fields[count] = FieldSpan(
                nameStart: UInt32(truncatingIfNeeded: lineStart &- base),
                nameEnd: UInt32(truncatingIfNeeded: field.nameEnd &- base),
                valueStart: UInt32(truncatingIfNeeded: field.valueStart &- base),
                valueEnd: UInt32(truncatingIfNeeded: field.valueEnd &- base),
                code: code)
            count &+= 1
            lineStart = lf &+ 1
            scanFrom = lineStart
        }
    }

    /// What a field line whose LF has not arrived (`p[lineStart..<end]`) already gets wrong, in the
    /// order the whole line is checked in (so the error is the same however the line is split):
    /// whitespace leading it (obs-fold, or before the first field), then a bare CR.
    @inline(never)
    static func partialFieldLineError(
        _ p: UnsafePointer<UInt8>, lineStart: Int, scanFrom: Int, end: Int, isFirst: Bool
    ) -> ParseError? {
        if lineStart < end && ByteClass.isBlank(p[lineStart]) {
            return isFirst ? .whitespaceBeforeFirstField : .obsoleteLineFolding
        }
        do throws(ParseError) {
            try ByteClass.rejectBareCarriageReturn(p, from: max(lineStart, scanFrom &- 1), to: end)
        } catch {
            return error
        }
        return nil
    }

    /// The error for a field line ending in LF without CR: as the partial line would have got it.
    @inline(never)
    static func bareLineFeedError(_ p: UnsafePointer<UInt8>, lineStart: Int, lf: Int, isFirst: Bool) -> ParseError {
        if lineStart < lf && ByteClass.isBlank(p[lineStart]) {
            return isFirst ? .whitespaceBeforeFirstField : .obsoleteLineFolding
        }
        return ByteClass.containsCarriageReturn(p, from: lineStart, to: lf) ? .bareCarriageReturn : .bareLineFeed
    }

    /// A Content-Length field line, checked when its line ends rather than with the whole head:
    /// a second one (RFC 9112 §6.3 lets a recipient refuse it; a smuggling vector) or a value
    /// that is not a number or overflows is refused before the rest of the head arrives.
    @inline(never)
    private mutating func checkContentLength(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(ParseError) {
        if progress.sawContentLength { throw .duplicateContentLength }
        progress.sawContentLength = true
        _ = try Framing.parseContentLength(p, start, end)
    }

    /// `parseFieldLine` for a line whose CR LF is at `cr`: a line holding a bare CR is refused as
    /// such whatever else is wrong with it (the same error as when the CR is seen early).
    static func parseCompleteFieldLine(
        _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ cr: Int, isFirst: Bool
    ) throws(ParseError) -> (nameEnd: Int, valueStart: Int, valueEnd: Int) {
        do throws(ParseError) {
            return try parseFieldLine(p, start, cr, isFirst: isFirst)
        } catch {
            if error == .whitespaceBeforeFirstField || error == .obsoleteLineFolding { throw error }
            throw ByteClass.containsCarriageReturn(p.baseAddress!, from: start, to: cr) ? .bareCarriageReturn : error
        }
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3), in `p[base..<cr]`.
    /// Returns the rejection, or nil once the line's parts are recorded in `progress` (an optional
    /// result rather than a throw keeps this hot function free of error plumbing).
    private mutating func parseRequestLine(_ p: UnsafeBufferPointer<UInt8>, _ base: Int, _ cr: Int) -> ParseError? {
        var i = base
        while i < cr && ByteClass.isTchar(p[i]) { i &+= 1 }
        let methodEnd = i
        guard i < cr else { return .invalidRequestLine }
        guard p[i] == ByteClass.sp else { return p[i] == ByteClass.cr ? .bareCarriageReturn : .invalidMethod }
        guard methodEnd > base else { return .invalidRequestLine }
        i &+= 1
        let targetStart = i
        while i < cr && ByteClass.isTargetByte(p[i]) { i &+= 1 }
        guard i < cr else { return .invalidRequestLine }
        guard p[i] == ByteClass.sp else { return p[i] == ByteClass.cr ? .bareCarriageReturn : .invalidRequestTarget }
        guard i > targetStart else { return .invalidRequestLine }
        let targetEnd = i
        i &+= 1
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive, RFC 9112 §2.3).
        guard cr &- i == 8 else {
            for j in i..<cr where p[j] == ByteClass.cr { return .bareCarriageReturn }
            return .invalidVersion
        }
        guard p[i] == 0x48, p[i &+ 1] == 0x54, p[i &+ 2] == 0x54, p[i &+ 3] == 0x50, p[i &+ 4] == 0x2F,
            p[i &+ 6] == 0x2E
        else { return .invalidVersion }
        let major = p[i &+ 5] &- 0x30
        let minor = p[i &+ 7] &- 0x30
        guard major < 10, minor < 10 else { return .invalidVersion }
        guard major == 1 else {
            let isPreface =
                major == 2 && minor == 0 && methodEnd &- base == 3
                && p[base] == 0x50 && p[base &+ 1] == 0x52 && p[base &+ 2] == 0x49
                && targetEnd &- targetStart == 1 && p[targetStart] == 0x2A
            return isPreface ? .http2Preface : .unsupportedVersion
        }
        // Only HTTP/1.0 and HTTP/1.1 exist; anything else in the line is not a request we know.
        guard minor <= 1 else { return .unsupportedMinorVersion }
        progress.methodCode = HTTPMethod.code(p, base, methodEnd)
        progress.version = minor == 1 ? .http1_1 : .http1_0
        progress.targetStart = UInt32(truncatingIfNeeded: targetStart &- base)
        progress.targetEnd = UInt32(truncatingIfNeeded: targetEnd &- base)
        return nil
    }

    /// The fast path for the common case, in one pass: a field line that is complete (its CRLF
    /// lies before `limit`) and valid. Returns nil for anything else — incomplete, invalid, the
    /// empty line — and the caller takes the general path, which then decides exactly as it
    /// would have for this line (the first control byte here is the line's CR, so its LF is the
    /// line's first LF).
    @inline(__always)
    static func completeValidFieldLine(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ limit: Int
    ) -> (nameEnd: Int, valueStart: Int, valueEnd: Int, lf: Int, code: UInt8)? {
        guard start < limit, ByteClass.isTchar(p[start]),
            let colon = ByteClass.firstByte(0x3A, p, from: start &+ 1, to: limit)
        else { return nil }
        // A known name is a valid token by construction (see `FieldName.recognise`); any other
        // name is checked byte by byte.
        let code = FieldName.recognise(UnsafeBufferPointer(start: p, count: limit), start, colon)
        if code == 0 {
            let allTokens = tcharTable.withUnsafeBufferPointer { table in
                let t = table.baseAddress!
                var i = start
                while i < colon && t[Int(p[i])] != 0 { i &+= 1 }
                return i == colon
            }
            guard allTokens else { return nil }
        }
        var i = colon &+ 1
        while i < limit && ByteClass.isBlank(p[i]) { i &+= 1 }
        let valueStart = i
        guard let cr = ByteClass.firstInvalidValueByte(p, from: i, to: limit),
            p[cr] == ByteClass.cr, cr &+ 1 < limit, p[cr &+ 1] == ByteClass.lf
        else { return nil }
        var valueEnd = cr
        while valueEnd > valueStart && ByteClass.isBlank(p[valueEnd &- 1]) { valueEnd &-= 1 }
        return (colon, valueStart, valueEnd, cr &+ 1, code)
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

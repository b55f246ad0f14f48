/// Chunked body decoding (RFC 9112 §7.1): chunk-size lines with extensions, chunk data, the
/// CRLF after each chunk, and the trailer section. Resumable: each line is located first, then
/// parsed whole, like the head.
extension RequestParser {
    /// chunk-size [ chunk-ext ] CRLF. Returns false when more bytes are needed.
    mutating func nextChunkLine(_ buffer: [UInt8], _ index: inout Int) throws(ParseError) -> Bool {
        let start = index
        let limitEnd = start &+ limits.maxChunkLineBytes
        let found = try buffer.withUnsafeBufferPointer { p throws(ParseError) -> (lf: Int, size: Int)? in
            guard let lf = ByteClass.firstLineFeed(p.baseAddress!, from: start &+ lineScan, to: min(p.count, limitEnd))
            else {
                // A chunk-size line must end in CR LF: a CR followed by anything else is refused
                // at once, even if the body is never used.
                try ByteClass.rejectBareCarriageReturn(
                    p.baseAddress!, from: start &+ max(0, lineScan &- 1),
                    to: min(p.count, limitEnd))
                if p.count >= limitEnd { throw .chunkLineTooLong }
                lineScan = p.count &- start
                return nil
            }
            guard lf > start, p[lf &- 1] == ByteClass.cr else {
                throw ByteClass.containsCarriageReturn(p.baseAddress!, from: start, to: lf) ? .bareCarriageReturn : .bareLineFeed
            }
            do throws(ParseError) {
                return (lf, try Self.parseChunkLine(p, start, lf &- 1))
            } catch {
                for i in start..<(lf &- 1) where p[i] == ByteClass.cr { throw .bareCarriageReturn }
                throw error
            }
        }
        guard let (lf, size) = found else { return false }
        index = lf &+ 1
        lineScan = 0
        guard size <= limits.maxBodyBytes &- bodyReceived else { throw .bodyTooLarge }
        bodyReceived &+= size
        if size == 0 {
            state = .trailers
            trailerBytes = 0
            trailerFields = 0
        } else {
            state = .chunkData(remaining: size)
        }
        return true
    }

    /// The CRLF that closes each chunk's data.
    mutating func nextChunkDataEnd(_ buffer: [UInt8], _ index: inout Int) throws(ParseError) -> Bool {
        let available = buffer.count &- index
        guard available > 0 else { return false }
        guard buffer[index] == ByteClass.cr else { throw .missingChunkTerminator }
        guard available > 1 else { return false }
        guard buffer[index &+ 1] == ByteClass.lf else { throw .missingChunkTerminator }
        index &+= 2
        state = .chunkLine
        return true
    }

    /// trailer-section = *( field-line CRLF ) CRLF. Trailers are validated and dropped: a static
    /// edge has no use for them, and RFC 9110 §6.5.1 lets a recipient discard them.
    mutating func nextTrailer(_ buffer: [UInt8], _ index: inout Int) throws(ParseError) -> Bool {
        try buffer.withUnsafeBufferPointer { p throws(ParseError) -> Bool in
            while true {
                let start = index
                let limitEnd = start &+ (limits.maxTrailerBytes &- trailerBytes)
                guard let lf = ByteClass.firstLineFeed(p.baseAddress!, from: start &+ lineScan, to: min(p.count, limitEnd))
                else {
                    // As for header lines: refuse what the partial line already gets wrong.
                    // (Not at the field limit: see the same check for header lines.)
                    if trailerFields < limits.maxFieldCount,
                        let error = Self.partialFieldLineError(
                            p.baseAddress!, lineStart: start, scanFrom: start &+ lineScan,
                            end: min(p.count, limitEnd), isFirst: trailerFields == 0)
                    {
                        throw error
                    }
                    if p.count >= limitEnd { throw .trailerSectionTooLarge }
                    lineScan = p.count &- start
                    return false
                }
                guard lf > start, p[lf &- 1] == ByteClass.cr else {
                    if ByteClass.isBlank(p[start]) {
                        throw trailerFields == 0 ? .whitespaceBeforeFirstField : .obsoleteLineFolding
                    }
                    throw ByteClass.containsCarriageReturn(p.baseAddress!, from: start, to: lf) ? .bareCarriageReturn : .bareLineFeed
                }
                let cr = lf &- 1
                index = lf &+ 1
                lineScan = 0
                if cr == start {
                    state = .messageEnd
                    return true
                }
                guard trailerFields < limits.maxFieldCount else { throw .tooManyFields }
                _ = try Self.parseCompleteFieldLine(p, start, cr, isFirst: trailerFields == 0)
                trailerFields &+= 1
                trailerBytes &+= lf &+ 1 &- start
            }
        }
    }

    /// Parses `chunk-size [ chunk-ext ]` in `p[start..<cr]` and returns the size.
    static func parseChunkLine(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ cr: Int) throws(ParseError) -> Int {
        var i = start
        var size = 0
        while i < cr, let digit = ByteClass.hexValue(p[i]) {
            // More than 60 bits of size: no limit could allow it, and it would overflow soon.
            guard size <= (Int.max >> 4) else { throw .chunkSizeOverflow }
            size = size << 4 | Int(digit)
            i &+= 1
        }
        guard i > start else { throw .invalidChunkSize }
        if i < cr && !ByteClass.isBlank(p[i]) && p[i] != 0x3B { throw .invalidChunkSize }
        try parseChunkExtensions(p, i, cr)
        return size
    }

    /// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), where
    /// chunk-ext-val = token / quoted-string (RFC 9112 §7.1.1, RFC 9110 §5.6.4).
    static func parseChunkExtensions(_ p: UnsafeBufferPointer<UInt8>, _ from: Int, _ cr: Int) throws(ParseError) {
        var i = from
        func skipBlanks() { while i < cr && ByteClass.isBlank(p[i]) { i &+= 1 } }
        while true {
            skipBlanks()
            if i == cr { return }
            guard p[i] == 0x3B else { throw .invalidChunkExtension }
            i &+= 1
            skipBlanks()
            let nameStart = i
            while i < cr && ByteClass.isTchar(p[i]) { i &+= 1 }
            guard i > nameStart else { throw .invalidChunkExtension }
            skipBlanks()
            guard i < cr && p[i] == 0x3D else { continue }
            i &+= 1
            skipBlanks()
            guard i < cr else { throw .invalidChunkExtension }
            if p[i] == 0x22 {
                i &+= 1
                while true {
                    guard i < cr else { throw .invalidChunkExtension }
                    let b = p[i]
                    if b == 0x22 {
                        i &+= 1
                        break
                    }
                    if b == 0x5C {
                        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                        i &+= 1
                        guard i < cr, isQuotedTextByte(p[i]) || p[i] == 0x22 || p[i] == 0x5C else {
                            throw .invalidChunkExtension
                        }
                        i &+= 1
                        continue
                    }
                    guard isQuotedTextByte(b) else { throw .invalidChunkExtension }
                    i &+= 1
                }
            } else {
                let valueStart = i
                while i < cr && ByteClass.isTchar(p[i]) { i &+= 1 }
                guard i > valueStart else { throw .invalidChunkExtension }
            }
        }
    }

    /// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
    private static func isQuotedTextByte(_ b: UInt8) -> Bool {
        b == ByteClass.htab || b == ByteClass.sp || b == 0x21 || (b >= 0x23 && b <= 0x5B)
            || (b >= 0x5D && b <= 0x7E) || b >= 0x80
    }
}

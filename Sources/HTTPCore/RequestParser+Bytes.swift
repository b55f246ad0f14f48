/// Byte classes and word-at-a-time scans the parser's hot loops use (RFC 9110 §5.6.2 tokens,
/// §5.5 field values). Bitmasks instead of tables: no global to initialise, no memory load.
enum ByteClass {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09

    // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
    //         / DIGIT / ALPHA
    private static let tcharLow: UInt64 = {
        var m: UInt64 = 0
        for c in "!#$%&'*+-.0123456789".utf8 { m |= 1 << UInt64(c) }
        return m
    }()
    private static let tcharHigh: UInt64 = {
        var m: UInt64 = 0
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~".utf8 { m |= 1 << UInt64(c - 64) }
        return m
    }()

    /// A token character (RFC 9110 §5.6.2). One load from a constant table: the name loops
    /// run this on every byte of every field name.
    @inline(__always)
    static func isTchar(_ b: UInt8) -> Bool { tcharTable[Int(b)] != 0 }

    /// Checks the table against the definition's masks (used by tests).
    static var tcharTableAgrees: Bool {
        (0..<256).allSatisfy { b in
            let inMask = b < 64 ? (tcharLow >> UInt64(b)) & 1 != 0 : b < 128 ? (tcharHigh >> UInt64(b - 64)) & 1 != 0 : false
            return inMask == (tcharTable[b] != 0)
        }
    }

    /// A byte allowed inside a request-target: visible ASCII (RFC 3986 characters are a subset).
    @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool { b &- 0x21 < 0x5E }

    /// SP or HTAB (OWS, RWS, BWS).
    @inline(__always)
    static func isBlank(_ b: UInt8) -> Bool { b == sp || b == htab }

    /// The value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b &- 0x30
        case 0x41...0x46: b &- 0x37
        case 0x61...0x66: b &- 0x57
        default: nil
        }
    }

    /// Throws `.bareCarriageReturn` if `base[from..<to]` holds a CR whose next byte, also before
    /// `to`, is not LF. For lines whose LF has not arrived yet: a bare CR is an error whatever
    /// follows, so it is refused as soon as the byte after it is seen.
    static func rejectBareCarriageReturn(_ base: UnsafePointer<UInt8>, from: Int, to: Int) throws(ParseError) {
        var i = from
        while let found = firstByte(cr, base, from: i, to: to) {
            guard found &+ 1 < to else { return }
            if base[found &+ 1] != lf { throw .bareCarriageReturn }
            i = found &+ 1
        }
    }

    /// Whether `base[from..<to]` holds a CR (in a line whose CR LF ends at `to`: a bare CR).
    @inline(__always)
    static func containsCarriageReturn(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Bool {
        firstByte(cr, base, from: from, to: to) != nil
    }

    /// The index of the first LF in `base[from..<to]`, or nil. Eight bytes per step.
    @inline(__always)
    static func firstLineFeed(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        firstByte(lf, base, from: from, to: to)
    }

    /// The index of the first `value` in `base[from..<to]`, or nil. Eight bytes per step.
    @inline(__always)
    static func firstByte(_ value: UInt8, _ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let pattern = UInt64(value) &* 0x0101_0101_0101_0101
        var i = from
        while i &+ 8 <= to {
            let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) ^ pattern
            let t = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            // The lowest flagged byte is always a real zero byte (borrows only run upwards).
            if t != 0 { return i &+ (t.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < to {
            if base[i] == value { return i }
            i &+= 1
        }
        return nil
    }

    /// The index of the first byte in `base[from..<to]` that may not appear in a field value:
    /// a control byte other than HTAB, or DEL (RFC 9110 §5.5; obs-text is allowed). Nil if none.
    @inline(__always)
    static func firstInvalidValueByte(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        while i &+ 8 <= to {
            let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let below20 = (x &- 0x2020_2020_2020_2020) & ~x & 0x8080_8080_8080_8080
            let d = x ^ 0x7F7F_7F7F_7F7F_7F7F
            let isDel = (d &- 0x0101_0101_0101_0101) & ~d & 0x8080_8080_8080_8080
            let flagged = below20 | isDel
            if flagged != 0 {
                // The lowest flag is exact (borrows only run upwards, from a true match): it is
                // the first control byte or DEL. HTAB is allowed: continue just after it.
                let j = i &+ (flagged.trailingZeroBitCount >> 3)
                if base[j] != htab { return j }
                i = j &+ 1
                continue
            }
            i &+= 8
        }
        while i < to {
            if !isValueByte(base[i]) { return i }
            i &+= 1
        }
        return nil
    }

    @inline(__always)
    static func isValueByte(_ b: UInt8) -> Bool { (b >= 0x20 && b != 0x7F) || b == htab }
}

/// 1 for token characters (RFC 9110 §5.6.2), by byte value. A literal, so the compiler emits it
/// as constant data with no lazy initialisation.
let tcharTable: [UInt8] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]

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

    /// A token character (RFC 9110 §5.6.2).
    @inline(__always)
    static func isTchar(_ b: UInt8) -> Bool {
        // Constants spelled out so the optimiser needs no lazy global.
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        if b < 64 { return (low >> UInt64(b)) & 1 != 0 }
        if b < 128 { return (high >> UInt64(b &- 64)) & 1 != 0 }
        return false
    }

    /// Checks the spelled-out masks in `isTchar` against the definition (used by tests).
    static var tcharMasksAgree: Bool { tcharLow == 0x03FF_6CFA_0000_0000 && tcharHigh == 0x57FF_FFFF_C7FF_FFFE }

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

    /// The index of the first LF in `base[from..<to]`, or nil. Eight bytes per step.
    @inline(__always)
    static func firstLineFeed(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        while i &+ 8 <= to {
            let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            let t = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            // The lowest flagged byte is always a real zero byte (borrows only run upwards).
            if t != 0 { return i &+ (t.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < to {
            if base[i] == lf { return i }
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
            if below20 | isDel != 0 {
                // Something suspicious in this word (maybe just HTAB): check byte by byte.
                for j in i..<(i &+ 8) where !isValueByte(base[j]) { return j }
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

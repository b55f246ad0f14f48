/// Reads the window size a compressed stream declares in its header, without decoding it.
///
/// Browsers refuse zstd windows over 8 MB (RFC 9659) and brotli windows over 2^24 (RFC 7932), so the
/// window is a property worth checking on every variant served over HTTP.
enum FrameWindow {
    /// The window size in bytes declared by the zstd frame header at the start of `bytes`,
    /// or nil if `bytes` does not start with a complete zstd frame header.
    /// A single-segment frame's window is its content size (RFC 8878 §3.1.1.1.2).
    static func zstdWindowSize(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= 6, bytes[0] == 0x28, bytes[1] == 0xB5, bytes[2] == 0x2F, bytes[3] == 0xFD else { return nil }
        let descriptor = bytes[4]
        let singleSegment = descriptor & 0x20 != 0
        if !singleSegment {
            let windowDescriptor = bytes[5]
            let windowLog = 10 + UInt64(windowDescriptor >> 3)
            let base = UInt64(1) << windowLog
            return base + (base / 8) * UInt64(windowDescriptor & 7)
        }
        let dictionaryIDSize = [0, 1, 2, 4][Int(descriptor & 3)]
        let contentSizeSize = [1, 2, 4, 8][Int(descriptor >> 6)]
        let start = 5 + dictionaryIDSize
        guard bytes.count >= start + contentSizeSize else { return nil }
        var size: UInt64 = 0
        for index in (0..<contentSizeSize).reversed() {
            size = size << 8 | UInt64(bytes[start + index])
        }
        return contentSizeSize == 2 ? size + 256 : size
    }

    /// The WBITS a brotli stream declares in its first bits (RFC 7932 §9.1), or nil for an empty input
    /// or a large-window stream (a non-standard extension).
    static func brotliWindowBits(_ bytes: [UInt8]) -> Int? {
        guard let first = bytes.first else { return nil }
        if first & 1 == 0 { return 16 }
        let next3 = Int(first >> 1) & 7
        if next3 != 0 { return 17 + next3 }
        let last3 = Int(first >> 4) & 7
        switch last3 {
        case 0: return 17
        case 1: return nil
        default: return 8 + last3
        }
    }
}

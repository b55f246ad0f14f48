/// Parameter ranges, checked in Swift before any C state is created.
enum CodecLimits {
    static let brotliQuality = 0...11
    static let brotliWindowBits = 10...24
    /// zstd accepts up to 31 on 64-bit, but decoders refuse windows over 2^27 unless told otherwise.
    static let zstdWindowLog = 10...27
    /// zstd's own level range (`ZSTD_minCLevel()...ZSTD_maxCLevel()` of libzstd 1.5).
    static let zstdLevel = -131_072...22
    static let gzipLevel = 0...9
    /// The largest window a browser must accept for zstd content coding (RFC 9659: 8 MB).
    static let browserSafeZstdWindowLog = 23
    /// The largest zstd window the decoder accepts (zstd's default limit, 128 MB).
    static let maxDecoderZstdWindowLog = 27

    static func validate(_ parameters: Codec.Parameters) throws {
        switch parameters {
        case .brotli(let quality, let windowBits):
            try check(quality, in: brotliQuality, "brotli quality")
            try check(windowBits, in: brotliWindowBits, "brotli windowBits")
        case .zstd(let level, let windowLog, _):
            try check(level, in: zstdLevel, "zstd level")
            if let windowLog { try check(windowLog, in: zstdWindowLog, "zstd windowLog") }
        case .gzip(let level):
            try check(level, in: gzipLevel, "gzip level")
        }
    }

    /// The window log the zstd encoder is told to use, or nil to keep zstd's choice for the level
    /// (which is at most 23 for levels up to 19 without long mode).
    static func zstdEncoderWindowLog(level: Int, windowLog: Int?, long: Bool) -> Int? {
        if let windowLog { return windowLog }
        return level > 19 || long ? browserSafeZstdWindowLog : nil
    }

    private static func check(_ value: Int, in range: ClosedRange<Int>, _ name: String) throws {
        guard range.contains(value) else {
            throw CodecError.invalidParameter("\(name) must be in \(range.lowerBound)...\(range.upperBound) (got \(value))")
        }
    }
}

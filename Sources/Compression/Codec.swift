/// A content coding with its parameters: brotli, zstd or gzip, as a browser negotiates them.
///
/// A `Codec` is a plain value (it holds no C state), so it can be stored in configuration and shared
/// between tasks. Parameters are checked when it is used: `encode`, `decode` and the `make…` calls throw
/// `CodecError.invalidParameter` for out-of-range values. `validate()` checks them up front.
public struct Codec: Sendable, Hashable, CustomStringConvertible {
    /// The settings of one codec. Internal so that the public surface stays the factory functions.
    enum Parameters: Sendable, Hashable {
        case brotli(quality: Int, windowBits: Int)
        case zstd(level: Int, windowLog: Int?, long: Bool)
        case gzip(level: Int)
    }

    let parameters: Parameters

    /// Brotli (RFC 7932). `quality` 0...11, `windowBits` 10...24 (the window is 2^windowBits - 16 bytes).
    public static func brotli(quality: Int = 11, windowBits: Int = 22) -> Codec {
        Codec(parameters: .brotli(quality: quality, windowBits: windowBits))
    }

    /// Zstandard (RFC 8878). `level` is zstd's level (negative = faster, up to 22).
    ///
    /// `windowLog` 10...27 sets the window to 2^windowLog bytes. `nil` keeps the stream browser-safe: at most
    /// 2^23 = 8 MB (RFC 9659), also for levels 20...22 and for `long` mode, whose zstd defaults would be larger.
    /// Above 27 a decoder must opt in (`zstd -d --long=31`), so such windows are refused.
    /// `long` enables long-distance matching (useful with a large explicit `windowLog`).
    public static func zstd(level: Int = 19, windowLog: Int? = nil, long: Bool = false) -> Codec {
        Codec(parameters: .zstd(level: level, windowLog: windowLog, long: long))
    }

    /// gzip (RFC 1952) over zlib's deflate. `level` 0...9. The header has no file name and mtime 0,
    /// so equal input always gives equal output.
    public static func gzip(level: Int = 9) -> Codec {
        Codec(parameters: .gzip(level: level))
    }

    /// The default codec for an HTTP content-coding token ("br", "zstd", "gzip"), or nil for any other token.
    public init?(token: String) {
        switch token.lowercased() {
        case "br": self = .brotli()
        case "zstd": self = .zstd()
        case "gzip", "x-gzip": self = .gzip()
        default: return nil
        }
    }

    init(parameters: Parameters) {
        self.parameters = parameters
    }

    /// The HTTP content-coding token: "br", "zstd" or "gzip".
    public var token: String {
        switch parameters {
        case .brotli: "br"
        case .zstd: "zstd"
        case .gzip: "gzip"
        }
    }

    /// A short human-readable form, e.g. `br(quality: 11, windowBits: 22)`.
    public var description: String {
        switch parameters {
        case .brotli(let quality, let windowBits): "br(quality: \(quality), windowBits: \(windowBits))"
        case .zstd(let level, let windowLog, let long):
            "zstd(level: \(level), windowLog: \(windowLog.map(String.init) ?? "auto"), long: \(long))"
        case .gzip(let level): "gzip(level: \(level))"
        }
    }

    /// Throws `CodecError.invalidParameter` if a parameter is out of range.
    public func validate() throws {
        try CodecLimits.validate(parameters)
    }

    /// Compresses `input` in one call. The output is a complete stream (`brotli -d`, `zstd -d`, `gzip -d` read it).
    public func encode(_ input: [UInt8]) throws -> [UInt8] {
        try validate()
        let encoder = EncodingStream(engine: try makeCompressionEngine(parameters, sizeHint: input.count))
        return try encoder.finish(with: input)
    }

    /// Decompresses a complete stream, producing at most `maxOutputBytes` bytes.
    ///
    /// Throws `.corrupt` for invalid data, `.truncated` for a stream that ends early, and
    /// `.outputLimitExceeded(maxOutputBytes)` as soon as the output would pass the limit.
    /// Only the kind of codec matters: encoder parameters (quality, level, window) are ignored.
    /// zstd frames declaring a window over max(8 MB, maxOutputBytes), capped at 128 MB, are refused as
    /// `.corrupt`, so a hostile header cannot make the decoder allocate more than that.
    public func decode(_ input: [UInt8], maxOutputBytes: Int) throws -> [UInt8] {
        let decoder = try makeDecodingStream(maxOutputBytes: maxOutputBytes)
        var output = try decoder.update(input)
        output += try decoder.finish()
        return output
    }

    /// A streaming compressor with these parameters.
    ///
    /// The input size is unknown to a stream, so zstd sizes its tables for the level's full window:
    /// a level-19 stream holds about 80 MB. `encode` of a small input uses far less.
    public func makeEncoder() throws -> any StreamingEncoder {
        try validate()
        return EncodingStream(engine: try makeCompressionEngine(parameters, sizeHint: nil))
    }

    /// A streaming decompressor that stops with `.outputLimitExceeded` past `maxOutputBytes` in total.
    public func makeDecoder(maxOutputBytes: Int) throws -> any StreamingDecoder {
        try makeDecodingStream(maxOutputBytes: maxOutputBytes)
    }

    private func makeDecodingStream(maxOutputBytes: Int) throws -> DecodingStream {
        guard maxOutputBytes >= 0 else {
            throw CodecError.invalidParameter("maxOutputBytes must not be negative (got \(maxOutputBytes))")
        }
        let engine = try makeDecompressionEngine(parameters, maxOutputBytes: maxOutputBytes)
        return DecodingStream(engine: engine, maxOutputBytes: maxOutputBytes)
    }
}

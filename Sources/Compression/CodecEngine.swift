/// What one call into a C codec did.
struct EngineStep {
    /// Input bytes the codec took.
    var consumed: Int
    /// Output bytes the codec wrote.
    var produced: Int
    /// Encoders: nothing more to do for this input (and, when finishing, the stream is complete).
    /// Decoders: a complete stream (frame, member) ended exactly at the consumed position.
    var done: Bool
}

/// One C compressor (zstd, brotli or deflate) behind a uniform, single-step interface.
/// The loops, limits and state checks live in `EncodingStream`, in Swift.
protocol CompressionEngine: AnyObject {
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool) throws -> EngineStep
}

/// One C decompressor behind a uniform, single-step interface; see `DecodingStream`.
protocol DecompressionEngine: AnyObject {
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> EngineStep
}

/// The size of the output buffer handed to the C libraries per call (zstd's block size).
let engineBufferSize = 128 * 1024

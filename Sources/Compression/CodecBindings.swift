// The only file that touches C: zstd, brotli and zlib behind `CompressionEngine` / `DecompressionEngine`.
// Each engine owns one C context, created in `init` and freed in `deinit`; each method is one C call.
internal import CCodecs

/// Creates the C compressor for `parameters` (already validated). `sizeHint` is the exact input size
/// for one-shot encoding (it goes into zstd's frame header and tunes brotli), nil for streaming.
func makeCompressionEngine(_ parameters: Codec.Parameters, sizeHint: Int?) throws -> any CompressionEngine {
    switch parameters {
    case .brotli(let quality, let windowBits):
        return try BrotliCompressor(quality: quality, windowBits: windowBits, sizeHint: sizeHint)
    case .zstd(let level, let windowLog, let long):
        let effectiveWindowLog = CodecLimits.zstdEncoderWindowLog(level: level, windowLog: windowLog, long: long)
        return try ZstdCompressor(level: level, windowLog: effectiveWindowLog, long: long, sizeHint: sizeHint)
    case .gzip(let level):
        return try GzipCompressor(level: level)
    }
}

/// Creates the C decompressor for the codec of `parameters` (the parameters themselves don't matter).
func makeDecompressionEngine(_ parameters: Codec.Parameters, maxOutputBytes: Int) throws -> any DecompressionEngine {
    switch parameters {
    case .brotli: return try BrotliDecompressor()
    case .zstd: return try ZstdDecompressor(maxOutputBytes: maxOutputBytes)
    case .gzip: return try GzipDecompressor()
    }
}

// MARK: - zstd

private func zstdErrorName(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
}

/// A zstd compression context (`ZSTD_CCtx`) with a checksum, like the `zstd` CLI writes.
private final class ZstdCompressor: CompressionEngine {
    private let context: OpaquePointer

    init(level: Int, windowLog: Int?, long: Bool, sizeHint: Int?) throws {
        guard let context = ZSTD_createCCtx() else { throw CodecError.outOfMemory }
        var settings: [(ZSTD_cParameter, Int)] = [(ZSTD_c_compressionLevel, level), (ZSTD_c_checksumFlag, 1)]
        if long { settings.append((ZSTD_c_enableLongDistanceMatching, 1)) }
        if let windowLog { settings.append((ZSTD_c_windowLog, windowLog)) }
        for (parameter, value) in settings {
            let result = ZSTD_CCtx_setParameter(context, parameter, Int32(value))
            if ZSTD_isError(result) != 0 {
                ZSTD_freeCCtx(context)
                throw CodecError.invalidParameter("zstd: \(zstdErrorName(result))")
            }
        }
        if let sizeHint {
            let result = ZSTD_CCtx_setPledgedSrcSize(context, UInt64(sizeHint))
            if ZSTD_isError(result) != 0 {
                ZSTD_freeCCtx(context)
                throw CodecError.invalidParameter("zstd: \(zstdErrorName(result))")
            }
        }
        self.context = context
    }

    deinit { ZSTD_freeCCtx(context) }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool) throws -> EngineStep {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var destination = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_compressStream2(context, &destination, &source, finishing ? ZSTD_e_end : ZSTD_e_continue)
        if ZSTD_isError(result) != 0 { throw CodecError.invalidParameter("zstd: \(zstdErrorName(result))") }
        let done = finishing ? result == 0 : source.pos == source.size
        return EngineStep(consumed: source.pos, produced: destination.pos, done: done)
    }
}

/// A zstd decompression context (`ZSTD_DCtx`). Accepts concatenated and skippable frames.
private final class ZstdDecompressor: DecompressionEngine {
    private let context: OpaquePointer

    /// The window limit grows with the output limit (a window larger than the whole output is never
    /// needed) between 8 MB and zstd's default 128 MB, so a hostile header cannot make it allocate more.
    init(maxOutputBytes: Int) throws {
        guard let context = ZSTD_createDCtx() else { throw CodecError.outOfMemory }
        var windowLogMax = CodecLimits.browserSafeZstdWindowLog
        while windowLogMax < CodecLimits.maxDecoderZstdWindowLog && (1 << windowLogMax) < maxOutputBytes {
            windowLogMax += 1
        }
        let result = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Int32(windowLogMax))
        if ZSTD_isError(result) != 0 {
            ZSTD_freeDCtx(context)
            throw CodecError.invalidParameter("zstd: \(zstdErrorName(result))")
        }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> EngineStep {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var destination = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(context, &destination, &source)
        if ZSTD_isError(result) != 0 { throw CodecError.corrupt("zstd: \(zstdErrorName(result))") }
        return EngineStep(consumed: source.pos, produced: destination.pos, done: result == 0)
    }
}

// MARK: - brotli

/// Runs one brotli stream call with Swift buffers mapped to brotli's in/out pointer pairs.
private func withBrotliBuffers<Result>(
    _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
    _ body: (inout Int, inout UnsafePointer<UInt8>?, inout Int, inout UnsafeMutablePointer<UInt8>?) -> Result
) -> (result: Result, consumed: Int, produced: Int) {
    var availableIn = input.count
    var nextIn = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
    var availableOut = output.count
    var nextOut = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
    let result = body(&availableIn, &nextIn, &availableOut, &nextOut)
    return (result, input.count - availableIn, output.count - availableOut)
}

/// A brotli encoder instance (`BrotliEncoderState`).
private final class BrotliCompressor: CompressionEngine {
    private let state: OpaquePointer

    init(quality: Int, windowBits: Int, sizeHint: Int?) throws {
        guard let state = BrotliEncoderCreateInstance(nil, nil, nil) else { throw CodecError.outOfMemory }
        var settings: [(BrotliEncoderParameter, Int)] = [(BROTLI_PARAM_QUALITY, quality), (BROTLI_PARAM_LGWIN, windowBits)]
        if let sizeHint { settings.append((BROTLI_PARAM_SIZE_HINT, min(sizeHint, 1 << 30))) }
        for (parameter, value) in settings where BrotliEncoderSetParameter(state, parameter, UInt32(value)) == BROTLI_FALSE {
            BrotliEncoderDestroyInstance(state)
            throw CodecError.invalidParameter("brotli: parameter \(parameter.rawValue) rejected value \(value)")
        }
        self.state = state
    }

    deinit { BrotliEncoderDestroyInstance(state) }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool) throws -> EngineStep {
        let operation = finishing ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS
        let call = withBrotliBuffers(input, output) { availableIn, nextIn, availableOut, nextOut in
            BrotliEncoderCompressStream(state, operation, &availableIn, &nextIn, &availableOut, &nextOut, nil)
        }
        if call.result == BROTLI_FALSE { throw CodecError.invalidParameter("brotli: the encoder rejected the call") }
        let done =
            finishing
            ? BrotliEncoderIsFinished(state) != BROTLI_FALSE
            : call.consumed == input.count && BrotliEncoderHasMoreOutput(state) == BROTLI_FALSE
        return EngineStep(consumed: call.consumed, produced: call.produced, done: done)
    }
}

/// A brotli decoder instance (`BrotliDecoderState`). Brotli streams cannot be concatenated:
/// bytes after the end of the stream are an error.
private final class BrotliDecompressor: DecompressionEngine {
    private let state: OpaquePointer
    private var ended = false

    init() throws {
        guard let state = BrotliDecoderCreateInstance(nil, nil, nil) else { throw CodecError.outOfMemory }
        self.state = state
    }

    deinit { BrotliDecoderDestroyInstance(state) }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> EngineStep {
        if ended {
            if input.isEmpty { return EngineStep(consumed: 0, produced: 0, done: true) }
            throw CodecError.corrupt("brotli: data after the end of the stream")
        }
        let call = withBrotliBuffers(input, output) { availableIn, nextIn, availableOut, nextOut in
            BrotliDecoderDecompressStream(state, &availableIn, &nextIn, &availableOut, &nextOut, nil)
        }
        switch call.result {
        case BROTLI_DECODER_RESULT_ERROR:
            let code = BrotliDecoderGetErrorCode(state)
            if (-30 ... -21).contains(code.rawValue) { throw CodecError.outOfMemory }  // BROTLI_DECODER_ERROR_ALLOC_*
            throw CodecError.corrupt("brotli: \(String(cString: BrotliDecoderErrorString(code)))")
        case BROTLI_DECODER_RESULT_SUCCESS:
            ended = true
            if call.consumed < input.count { throw CodecError.corrupt("brotli: data after the end of the stream") }
            return EngineStep(consumed: call.consumed, produced: call.produced, done: true)
        default:
            return EngineStep(consumed: call.consumed, produced: call.produced, done: false)
        }
    }
}

// MARK: - gzip (zlib)

/// zlib takes 32-bit lengths; larger buffers are handled over several calls.
private func zlibLength(_ count: Int) -> UInt32 {
    UInt32(min(count, Int(UInt32.max)))
}

/// Maps a zlib stream's buffers to Swift buffers for one call, and reports what moved.
private func withZlibBuffers(
    _ stream: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
    _ body: () -> Int32
) -> (result: Int32, consumed: Int, produced: Int) {
    let inLength = zlibLength(input.count)
    let outLength = zlibLength(output.count)
    stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
    stream.pointee.avail_in = inLength
    stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
    stream.pointee.avail_out = outLength
    let result = body()
    let consumed = Int(inLength - stream.pointee.avail_in)
    let produced = Int(outLength - stream.pointee.avail_out)
    stream.pointee.next_in = nil
    stream.pointee.next_out = nil
    return (result, consumed, produced)
}

private func zlibMessage(_ stream: UnsafeMutablePointer<z_stream>, _ fallback: String) -> String {
    stream.pointee.msg.map { String(cString: $0) } ?? fallback
}

/// zlib's `windowBits` for a gzip (RFC 1952) wrapper around a 32 KB deflate window.
private let gzipWindowBits: Int32 = 15 + 16

/// A zlib deflate stream writing the gzip format. zlib writes mtime 0 and no file name.
/// The `z_stream` is heap-allocated: zlib keeps a pointer back to it, so it must not move.
private final class GzipCompressor: CompressionEngine {
    private let stream: UnsafeMutablePointer<z_stream>

    init(level: Int) throws {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = wharf_deflateInit2(stream, Int32(level), Z_DEFLATED, gzipWindowBits, 9, Z_DEFAULT_STRATEGY)
        guard result == Z_OK else {
            stream.deallocate()
            throw result == Z_MEM_ERROR ? CodecError.outOfMemory : CodecError.invalidParameter("gzip: deflateInit2 returned \(result)")
        }
        self.stream = stream
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, finishing: Bool) throws -> EngineStep {
        let call = withZlibBuffers(stream, input, output) { deflate(stream, finishing ? Z_FINISH : Z_NO_FLUSH) }
        switch call.result {
        case Z_OK, Z_BUF_ERROR, Z_STREAM_END: break
        default: throw CodecError.invalidParameter("gzip: \(zlibMessage(stream, "deflate returned \(call.result)"))")
        }
        let done =
            finishing
            ? call.result == Z_STREAM_END
            : call.consumed == input.count && call.produced < output.count
        return EngineStep(consumed: call.consumed, produced: call.produced, done: done)
    }
}

/// A zlib inflate stream reading the gzip format only. Several gzip members in a row are one stream
/// (RFC 1952 §2.2); anything else after a member is an error.
private final class GzipDecompressor: DecompressionEngine {
    private let stream: UnsafeMutablePointer<z_stream>
    private var ended = false

    init() throws {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = wharf_inflateInit2(stream, gzipWindowBits)
        guard result == Z_OK else {
            stream.deallocate()
            throw result == Z_MEM_ERROR ? CodecError.outOfMemory : CodecError.invalidParameter("gzip: inflateInit2 returned \(result)")
        }
        self.stream = stream
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> EngineStep {
        if ended {
            if input.isEmpty { return EngineStep(consumed: 0, produced: 0, done: true) }
            guard inflateReset(stream) == Z_OK else { throw CodecError.corrupt("gzip: inflateReset failed") }
            ended = false
        }
        let call = withZlibBuffers(stream, input, output) { inflate(stream, Z_NO_FLUSH) }
        switch call.result {
        case Z_OK, Z_BUF_ERROR: break
        case Z_STREAM_END: ended = true
        case Z_MEM_ERROR: throw CodecError.outOfMemory
        case Z_NEED_DICT: throw CodecError.corrupt("gzip: the stream needs a preset dictionary")
        default: throw CodecError.corrupt("gzip: \(zlibMessage(stream, "inflate returned \(call.result)"))")
        }
        return EngineStep(consumed: call.consumed, produced: call.produced, done: ended)
    }
}

// MARK: - zstd with a raw dictionary (reference prefix)

/// Compresses `input` as one zstd frame (with checksum and content size) that may reference
/// `prefix` as if it came right before the input (`ZSTD_CCtx_refPrefix`): the prefix is a raw
/// content dictionary, as RFC 9842 `dcz` requires, and a decoder needs the same bytes.
func zstdCompressReferencingPrefix(_ input: [UInt8], prefix: [UInt8], level: Int, windowLog: Int) throws -> [UInt8] {
    guard let context = ZSTD_createCCtx() else { throw CodecError.outOfMemory }
    defer { ZSTD_freeCCtx(context) }
    let settings: [(ZSTD_cParameter, Int)] = [
        (ZSTD_c_compressionLevel, level), (ZSTD_c_checksumFlag, 1), (ZSTD_c_contentSizeFlag, 1),
        (ZSTD_c_windowLog, windowLog),
    ]
    for (parameter, value) in settings {
        let result = ZSTD_CCtx_setParameter(context, parameter, Int32(value))
        if ZSTD_isError(result) != 0 { throw CodecError.invalidParameter("zstd: \(zstdErrorName(result))") }
    }
    let bound = ZSTD_compressBound(input.count)
    var output = [UInt8](repeating: 0, count: bound)
    let written = prefix.withUnsafeBytes { dictionary -> Int in
        // The prefix is referenced, not copied, and only for the next frame: this call.
        let referenced = ZSTD_CCtx_refPrefix(context, dictionary.baseAddress, dictionary.count)
        if ZSTD_isError(referenced) != 0 { return referenced }
        return input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                ZSTD_compress2(context, destination.baseAddress, destination.count, source.baseAddress, source.count)
            }
        }
    }
    if ZSTD_isError(written) != 0 { throw CodecError.invalidParameter("zstd: \(zstdErrorName(written))") }
    output.removeSubrange(written...)
    return output
}

/// Decodes exactly one zstd frame made against `prefix` (`ZSTD_DCtx_refPrefix`), producing at
/// most `maxOutputBytes`; frames declaring a window over 2^`windowLogMax` are refused. Bytes after
/// the frame are an error (a `dcz` body holds one frame).
func zstdDecompressReferencingPrefix(_ input: ArraySlice<UInt8>, prefix: [UInt8], maxOutputBytes: Int, windowLogMax: Int) throws -> [UInt8] {
    guard let context = ZSTD_createDCtx() else { throw CodecError.outOfMemory }
    defer { ZSTD_freeDCtx(context) }
    let limit = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Int32(windowLogMax))
    if ZSTD_isError(limit) != 0 { throw CodecError.invalidParameter("zstd: \(zstdErrorName(limit))") }
    var output: [UInt8] = []
    var scratch = [UInt8](repeating: 0, count: engineBufferSize)
    return try prefix.withUnsafeBytes { dictionary in
        let referenced = ZSTD_DCtx_refPrefix(context, dictionary.baseAddress, dictionary.count)
        if ZSTD_isError(referenced) != 0 { throw CodecError.invalidParameter("zstd: \(zstdErrorName(referenced))") }
        return try input.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            // Each round consumes input or produces output (zstd guarantees progress with room
            // in both buffers); the output limit bounds the loop.
            while true {
                let (result, produced) = scratch.withUnsafeMutableBytes { buffer -> (Int, Int) in
                    var outBuffer = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                    let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                    return (result, outBuffer.pos)
                }
                if ZSTD_isError(result) != 0 { throw CodecError.corrupt("zstd: \(zstdErrorName(result))") }
                if output.count + produced > maxOutputBytes { throw CodecError.outputLimitExceeded(maxOutputBytes) }
                output.append(contentsOf: scratch[..<produced])
                if result == 0 {
                    if inBuffer.pos != inBuffer.size { throw CodecError.corrupt("zstd: data after the frame") }
                    return output
                }
                if inBuffer.pos == inBuffer.size && produced < scratch.count { throw CodecError.truncated }
            }
        }
    }
}

// MARK: - raw deflate and CRC-32 (zip archives)

/// Raw deflate (RFC 1951, no zlib or gzip wrapper) decoding that reports how much input it
/// consumed and when the deflate stream ended, so a reader of a container whose entries are
/// deflate streams of unknown compressed length (zip entries with data descriptors) knows
/// where the next record starts. Holds one zlib context; one user at a time.
public final class RawInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    public private(set) var ended = false

    public init() throws {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = wharf_inflateInit2(stream, -15)
        guard result == Z_OK else {
            stream.deallocate()
            throw result == Z_MEM_ERROR ? CodecError.outOfMemory : CodecError.invalidParameter("deflate: inflateInit2 returned \(result)")
        }
        self.stream = stream
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Decodes from `input` into `output`. `consumed` input bytes were used; bytes after the end
    /// of the stream (`ended`) are not consumed. Throws `CodecError.corrupt` on invalid data.
    public func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
        -> (consumed: Int, produced: Int, ended: Bool)
    {
        if ended { return (0, 0, true) }
        let call = withZlibBuffers(stream, input, output) { CCodecs.inflate(stream, Z_NO_FLUSH) }
        switch call.result {
        case Z_OK, Z_BUF_ERROR: break
        case Z_STREAM_END: ended = true
        case Z_MEM_ERROR: throw CodecError.outOfMemory
        default: throw CodecError.corrupt("deflate: \(zlibMessage(stream, "inflate returned \(call.result)"))")
        }
        return (call.consumed, call.produced, ended)
    }
}

/// CRC-32 (ISO 3309, as zip and gzip use it), by zlib.
public enum CRC32 {
    /// `crc` extended over `bytes` (start with 0).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var value = UInt(crc)
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, Int(UInt32.max))
            value = crc32(value, rest.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(n))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        return UInt32(truncatingIfNeeded: value)
    }
}

/// The `StreamingDecoder` for every codec: drives a `DecompressionEngine`, enforces the output limit,
/// and tells a complete stream from a truncated one.
///
/// The output buffer handed to the engine never exceeds the remaining allowance plus one byte, so a
/// decompression bomb stops within one buffer of the limit. Not `Sendable`: it owns mutable C state.
final class DecodingStream: StreamingDecoder {
    private enum State {
        case open, finished
        case failed(CodecError)
    }

    private let engine: any DecompressionEngine
    private let maxOutputBytes: Int
    private var buffer = [UInt8](repeating: 0, count: engineBufferSize)
    private var state = State.open
    private var producedBytes = 0
    /// True when the input so far ends exactly at the end of a complete stream.
    private var atStreamEnd = false

    init(engine: any DecompressionEngine, maxOutputBytes: Int) {
        self.engine = engine
        self.maxOutputBytes = maxOutputBytes
    }

    func update(_ chunk: [UInt8]) throws -> [UInt8] {
        try checkOpen()
        do {
            return try chunk.withUnsafeBytes { try drive($0) }
        } catch {
            let codecError = error as? CodecError ?? .corrupt("\(error)")
            state = .failed(codecError)
            throw codecError
        }
    }

    func finish() throws -> [UInt8] {
        try checkOpen()
        guard atStreamEnd else {
            state = .failed(.truncated)
            throw CodecError.truncated
        }
        state = .finished
        return []
    }

    private func checkOpen() throws {
        switch state {
        case .open: return
        case .finished: throw CodecError.invalidParameter("the decoder was already finished")
        case .failed(let error): throw error
        }
    }

    private func drive(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        while true {
            let allowance = maxOutputBytes - producedBytes
            let capacity = allowance >= buffer.count ? buffer.count : allowance + 1
            let step = try buffer.withUnsafeMutableBytes { scratch in
                try engine.decompress(
                    UnsafeRawBufferPointer(rebasing: input[offset...]),
                    into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<capacity]))
            }
            offset += step.consumed
            producedBytes += step.produced
            if producedBytes > maxOutputBytes { throw CodecError.outputLimitExceeded(maxOutputBytes) }
            output.append(contentsOf: buffer[..<step.produced])

            let progressed = step.consumed > 0 || step.produced > 0
            if progressed { atStreamEnd = step.done }
            if offset == input.count && step.produced < capacity { return output }
            if !progressed {
                if offset == input.count { return output }
                throw CodecError.corrupt("the decoder made no progress")
            }
        }
    }
}

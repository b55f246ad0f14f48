/// The `StreamingEncoder` for every codec: drives a `CompressionEngine` until each chunk is consumed.
///
/// Memory per call is the engine's state plus one fixed output buffer and the returned bytes.
/// Not `Sendable`: it owns mutable C state.
final class EncodingStream: StreamingEncoder {
    private enum State {
        case open, finished
        case failed(CodecError)
    }

    private let engine: any CompressionEngine
    private var buffer = [UInt8](repeating: 0, count: engineBufferSize)
    private var state = State.open

    init(engine: any CompressionEngine) {
        self.engine = engine
    }

    func update(_ chunk: [UInt8]) throws -> [UInt8] {
        try run(chunk, finishing: false)
    }

    func finish() throws -> [UInt8] {
        try finish(with: [])
    }

    /// Compresses a last chunk and ends the stream (one-shot encoding is this with the whole input).
    func finish(with chunk: [UInt8]) throws -> [UInt8] {
        let output = try run(chunk, finishing: true)
        state = .finished
        return output
    }

    private func run(_ chunk: [UInt8], finishing: Bool) throws -> [UInt8] {
        switch state {
        case .open: break
        case .finished: throw CodecError.invalidParameter("the encoder was already finished")
        case .failed(let error): throw error
        }
        do {
            return try chunk.withUnsafeBytes { try drive($0, finishing: finishing) }
        } catch {
            let codecError = error as? CodecError ?? .corrupt("\(error)")
            state = .failed(codecError)
            throw codecError
        }
    }

    /// Calls the engine until it has taken all input (and, when finishing, ended the stream).
    /// Every round either moves bytes or ends the loop, so the loop is bounded by input plus output size.
    private func drive(_ input: UnsafeRawBufferPointer, finishing: Bool) throws -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        while true {
            let step = try buffer.withUnsafeMutableBytes { scratch in
                try engine.compress(UnsafeRawBufferPointer(rebasing: input[offset...]), into: scratch, finishing: finishing)
            }
            offset += step.consumed
            output.append(contentsOf: buffer[..<step.produced])
            if step.done && offset == input.count { return output }
            if step.consumed == 0 && step.produced == 0 {
                throw CodecError.invalidParameter("the encoder made no progress")
            }
        }
    }
}

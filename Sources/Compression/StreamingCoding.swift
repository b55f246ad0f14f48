/// Compresses a stream chunk by chunk with memory bounded by the codec's window, not by the input size.
///
/// Call `update` for every chunk of input, then `finish` once; concatenate everything both return.
/// Instances hold C state and are not `Sendable`: use one from one task at a time.
public protocol StreamingEncoder: AnyObject {
    /// Compresses `chunk`; returns whatever compressed bytes are ready (often none for small chunks).
    func update(_ chunk: [UInt8]) throws -> [UInt8]
    /// Ends the stream and returns the remaining compressed bytes. The encoder cannot be used afterwards.
    func finish() throws -> [UInt8]
}

/// Decompresses a stream chunk by chunk, never producing more than the limit it was created with.
///
/// Instances hold C state and are not `Sendable`: use one from one task at a time.
public protocol StreamingDecoder: AnyObject {
    /// Decompresses `chunk`; returns the bytes decoded so far from it.
    /// Throws `CodecError.corrupt` on invalid data and `.outputLimitExceeded` past the limit.
    func update(_ chunk: [UInt8]) throws -> [UInt8]
    /// Checks that the stream ended: throws `CodecError.truncated` if the stream is incomplete.
    func finish() throws -> [UInt8]
}

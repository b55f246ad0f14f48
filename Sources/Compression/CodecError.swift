/// Why an encode or decode failed. Decoders never crash on hostile input: they answer with one of these.
public enum CodecError: Error, Equatable, Sendable {
    /// The input is not a valid stream of the codec (the message names the codec and the reason).
    case corrupt(String)
    /// The input ended before the stream did (a cut download, a partial file).
    case truncated
    /// Decoding would produce more than the allowed number of bytes (the associated value is the limit).
    case outputLimitExceeded(Int)
    /// A codec parameter or call is out of range (quality 12, window 30, a stream used after `finish()`).
    case invalidParameter(String)
    /// The C library could not allocate its state.
    case outOfMemory
}

/// The `dcz` content coding of RFC 9842 §5.2 (Compression Dictionary Transport): a 40-byte header,
/// then one zstd frame compressed with the dictionary as a raw reference prefix.
///
/// The header is a zstd skippable frame (RFC 8878 §3.1.2): the magic `0x184D2A5E` little-endian,
/// the frame size 32 little-endian, and the SHA-256 of the dictionary. A client checks the hash
/// against the dictionary it announced before decoding. The `zstd` CLI reads the frame after the
/// header with `zstd -D <dictionary> -d` (it treats a file without dictionary magic as raw content).
public enum DictionaryZstd {
    /// Header bytes before the zstd frame.
    static let headerSize = 40
    /// The first 8 bytes of every `dcz` body.
    public static let headerPrefix: [UInt8] = [0x5E, 0x2A, 0x4D, 0x18, 0x20, 0x00, 0x00, 0x00]
    /// The largest window a client must accept (RFC 9842 §5.2): 1.25 × the dictionary size if that
    /// is over 8 MB (RFC 9659's limit), never more than 128 MB.
    public static func maxWindowSize(dictionarySize: Int) -> Int {
        min(max(8 << 20, dictionarySize + dictionarySize / 4), 128 << 20)
    }

    /// The window log used for an input: large enough that the whole dictionary stays reachable
    /// for the whole input (zstd keeps the prefix in reach while the output is within the window),
    /// never over `maxWindowSize`.
    static func windowLog(inputSize: Int, dictionarySize: Int) -> Int {
        let cap = maxWindowSize(dictionarySize: dictionarySize)
        var log = CodecLimits.zstdWindowLog.lowerBound
        while log < CodecLimits.zstdWindowLog.upperBound && (1 << log) < inputSize + dictionarySize && (1 << (log + 1)) <= cap {
            log += 1
        }
        return log
    }

    /// Encodes `input` against `dictionary`; `dictionaryHash` is the dictionary's SHA-256 (32 bytes),
    /// which this module cannot compute itself (it has no hash function).
    public static func encode(_ input: [UInt8], dictionary: [UInt8], dictionaryHash: [UInt8], level: Int = 19) throws -> [UInt8] {
        guard dictionaryHash.count == 32 else {
            throw CodecError.invalidParameter("dcz: the dictionary hash must be 32 bytes (got \(dictionaryHash.count))")
        }
        guard CodecLimits.zstdLevel.contains(level) else {
            throw CodecError.invalidParameter("zstd level must be in \(CodecLimits.zstdLevel) (got \(level))")
        }
        let windowLog = windowLog(inputSize: input.count, dictionarySize: dictionary.count)
        let frame = try zstdCompressReferencingPrefix(input, prefix: dictionary, level: level, windowLog: windowLog)
        return headerPrefix + dictionaryHash + frame
    }

    /// The dictionary hash a `dcz` body declares, or nil when it does not start with a valid header.
    public static func dictionaryHash(of body: [UInt8]) -> [UInt8]? {
        guard body.count >= headerSize, body[0..<8].elementsEqual(headerPrefix) else { return nil }
        return Array(body[8..<headerSize])
    }

    /// Decodes a `dcz` body made against `dictionary` (whose SHA-256 is `dictionaryHash`).
    /// Throws `.corrupt` for a missing or wrong header or a bad frame, `.truncated` for a cut one,
    /// `.outputLimitExceeded` past `maxOutputBytes`.
    public static func decode(_ body: [UInt8], dictionary: [UInt8], dictionaryHash: [UInt8], maxOutputBytes: Int) throws -> [UInt8] {
        guard body.count >= headerSize else {
            throw body.count >= 8 && body[0..<8].elementsEqual(headerPrefix) ? CodecError.truncated : CodecError.corrupt("dcz: no header")
        }
        guard let declared = Self.dictionaryHash(of: body) else { throw CodecError.corrupt("dcz: not a dcz header") }
        guard declared == dictionaryHash else { throw CodecError.corrupt("dcz: made for another dictionary") }
        guard maxOutputBytes >= 0 else { throw CodecError.invalidParameter("maxOutputBytes must not be negative") }
        var windowLogMax = CodecLimits.browserSafeZstdWindowLog
        while windowLogMax < CodecLimits.maxDecoderZstdWindowLog && (1 << windowLogMax) < maxWindowSize(dictionarySize: dictionary.count) {
            windowLogMax += 1
        }
        return try zstdDecompressReferencingPrefix(
            body[headerSize...], prefix: dictionary,
            maxOutputBytes: maxOutputBytes, windowLogMax: windowLogMax)
    }
}

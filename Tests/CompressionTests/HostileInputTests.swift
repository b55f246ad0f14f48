import Compression
import Testing

@Suite("Hostile input")
struct HostileInputTests {
    static let sample = TestInputs.scriptText(count: 64 * 1024, seed: 20)

    @Test("random garbage is corrupt for zstd and gzip, whose streams start with a magic number", arguments: [Codec.zstd(), .gzip()])
    func garbage(codec: Codec) {
        for seed: UInt64 in 1...20 {
            let garbage = TestInputs.random(count: 4096, seed: seed)
            let error = codecError { try codec.decode(garbage, maxOutputBytes: 1 << 20) }
            guard case .corrupt = error else {
                Issue.record("\(codec) seed \(seed): expected corrupt, got \(String(describing: error))")
                continue
            }
        }
    }

    /// Brotli has no magic number: random bytes can start a valid stream, e.g. an uncompressed
    /// meta-block of up to 1 MB that the decoder copies while waiting for the rest.
    @Test("random garbage is corrupt or, when it happens to be a valid brotli prefix, truncated")
    func brotliGarbage() {
        var corrupt = 0
        for seed: UInt64 in 1...20 {
            let garbage = TestInputs.random(count: 4096, seed: seed)
            switch codecError({ try Codec.brotli().decode(garbage, maxOutputBytes: 1 << 20) }) {
            case .corrupt: corrupt += 1
            case .truncated: break
            case let other: Issue.record("seed \(seed): expected corrupt or truncated, got \(String(describing: other))")
            }
        }
        #expect(corrupt >= 15, "most random inputs are rejected outright (\(corrupt) of 20)")
    }

    @Test("text that is not compressed at all is corrupt", arguments: defaultCodecs)
    func plainText(codec: Codec) {
        let error = codecError { try codec.decode(Self.sample, maxOutputBytes: 1 << 20) }
        guard case .corrupt = error else {
            Issue.record("\(codec): expected corrupt, got \(String(describing: error))")
            return
        }
    }

    @Test("every proper prefix of a stream is truncated", arguments: defaultCodecs)
    func everyPrefixIsTruncated(codec: Codec) throws {
        let input = TestInputs.scriptText(count: 3000, seed: 21)
        let compressed = try codec.encode(input)
        for length in 0..<compressed.count {
            let error = codecError { try codec.decode(Array(compressed.prefix(length)), maxOutputBytes: input.count) }
            #expect(error == .truncated, "\(codec) cut at \(length) of \(compressed.count)")
        }
    }

    @Test("a stream cut in half is truncated, one-shot and streaming", arguments: defaultCodecs)
    func cutInHalf(codec: Codec) throws {
        let compressed = try codec.encode(Self.sample)
        let half = Array(compressed.prefix(compressed.count / 2))
        #expect(codecError { try codec.decode(half, maxOutputBytes: 1 << 20) } == .truncated)
        let decoder = try codec.makeDecoder(maxOutputBytes: 1 << 20)
        let partial = try decoder.update(half)
        #expect(partial.count < Self.sample.count)
        #expect(partial == Array(Self.sample.prefix(partial.count)), "what was decoded so far is right")
        #expect(codecError { try decoder.finish() } == .truncated)
        #expect(codecError { try decoder.finish() } == .truncated, "the error sticks")
    }

    /// zstd (checksum) and gzip (CRC-32 and length) detect every flipped byte; the gzip header's
    /// mtime, extra-flags and OS bytes (4...9) are not covered by the CRC and are skipped.
    @Test("every flipped byte in a zstd or gzip stream is detected", arguments: [Codec.zstd(), .gzip()])
    func flippedBytesDetected(codec: Codec) throws {
        let compressed = try codec.encode(Self.sample)
        let positions =
            stride(from: 0, to: compressed.count, by: max(1, compressed.count / 200))
            .filter { codec.token != "gzip" || !(4...9).contains($0) } + [compressed.count - 1]
        for position in positions {
            var damaged = compressed
            damaged[position] ^= 0xFF
            let error = codecError { try codec.decode(damaged, maxOutputBytes: Self.sample.count) }
            switch error {
            case .corrupt, .truncated, .outputLimitExceeded: break
            default: Issue.record("\(codec) flip at \(position): got \(String(describing: error))")
            }
        }
    }

    /// Brotli has no checksum: a flipped byte may decode to other bytes. It must never crash or overrun.
    @Test("flipped bytes in a brotli stream never crash or overrun the limit")
    func flippedBrotliBytes() throws {
        let codec = Codec.brotli()
        let compressed = try codec.encode(Self.sample)
        var detected = 0
        var positions = 0
        for position in stride(from: 0, to: compressed.count, by: max(1, compressed.count / 200)) {
            var damaged = compressed
            damaged[position] ^= 0xFF
            positions += 1
            do {
                let output = try codec.decode(damaged, maxOutputBytes: Self.sample.count)
                #expect(output.count <= Self.sample.count)
            } catch is CodecError {
                detected += 1
            }
        }
        #expect(detected * 2 > positions, "most damage is still detected (\(detected) of \(positions))")
    }

    @Test("data after the end of a stream is corrupt", arguments: defaultCodecs)
    func trailingData(codec: Codec) throws {
        let compressed = try codec.encode(TestInputs.tinyText) + Array("trailing garbage".utf8)
        let error = codecError { try codec.decode(compressed, maxOutputBytes: 1000) }
        guard case .corrupt = error else {
            Issue.record("\(codec): expected corrupt, got \(String(describing: error))")
            return
        }
    }

    /// 100 MB of zeros, compressed by streaming 1 MB chunks (never held in memory).
    static func bomb(_ codec: Codec) throws -> [UInt8] {
        let encoder = try codec.makeEncoder()
        let zeros = [UInt8](repeating: 0, count: 1024 * 1024)
        var compressed: [UInt8] = []
        for _ in 0..<100 { compressed += try encoder.update(zeros) }
        return compressed + (try encoder.finish())
    }

    @Test("a 100 MB bomb stops at a 1 MB limit, one-shot and streaming", arguments: fastCodecs)
    func bomb(codec: Codec) throws {
        let compressed = try Self.bomb(codec)
        #expect(compressed.count < 200 * 1024)
        let limit = 1024 * 1024
        #expect(codecError { try codec.decode(compressed, maxOutputBytes: limit) } == .outputLimitExceeded(limit))

        let decoder = try codec.makeDecoder(maxOutputBytes: limit)
        var decoded = 0
        var offset = 0
        var error: CodecError?
        while offset < compressed.count && error == nil {
            let chunk = Array(compressed[offset..<min(offset + 4096, compressed.count)])
            offset += chunk.count
            do { decoded += try decoder.update(chunk).count } catch let thrown as CodecError { error = thrown }
        }
        #expect(error == .outputLimitExceeded(limit))
        #expect(decoded <= limit)
        #expect(codecError { try decoder.update([]) } == .outputLimitExceeded(limit), "the error sticks")
    }

    @Test("the output limit is exact: the full length passes, one byte less fails", arguments: defaultCodecs)
    func exactLimit(codec: Codec) throws {
        let input = TestInputs.scriptText(count: 200_000, seed: 22)
        let compressed = try codec.encode(input)
        #expect(try codec.decode(compressed, maxOutputBytes: input.count) == input)
        #expect(codecError { try codec.decode(compressed, maxOutputBytes: input.count - 1) } == .outputLimitExceeded(input.count - 1))
        #expect(try codec.decode(try codec.encode([]), maxOutputBytes: 0) == [])
        #expect(codecError { try codec.decode(try codec.encode([1]), maxOutputBytes: 0) } == .outputLimitExceeded(0))
    }

    @Test("a zstd frame declaring a 128 MB window is refused under a small output limit, not allocated")
    func hugeZstdWindow() throws {
        let codec = Codec.zstd(level: 1, windowLog: 27)
        let compressed = try streamEncode(codec, TestInputs.tinyText, chunkSize: 10)
        let error = codecError { try codec.decode(compressed, maxOutputBytes: 1024 * 1024) }
        guard case .corrupt = error else {
            Issue.record("expected corrupt, got \(String(describing: error))")
            return
        }
        // With a limit as large as the window it decodes.
        #expect(try codec.decode(compressed, maxOutputBytes: 1 << 27) == TestInputs.tinyText)
    }
}

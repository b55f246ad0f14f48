import Compression
import Testing

@Suite("Streaming")
struct StreamingTests {
    /// (chunk size, input): 1-byte chunks over a small input keep the call count reasonable.
    static let cases: [(Int, [UInt8])] = [
        (1, TestInputs.scriptText(count: 20_000, seed: 10)),
        (7, TestInputs.mixed(count: 300_000, seed: 11)),
        (64 * 1024, TestInputs.mixed(count: 3 * 1024 * 1024, seed: 12)),
    ]

    @Test("streaming encoding in 1, 7 and 65536-byte chunks decodes to the input", arguments: fastCodecs)
    func streamingEncode(codec: Codec) throws {
        for (chunkSize, input) in Self.cases {
            let compressed = try streamEncode(codec, input, chunkSize: chunkSize)
            #expect(try codec.decode(compressed, maxOutputBytes: input.count) == input, "\(codec) chunks of \(chunkSize)")
        }
    }

    @Test("streaming decoding in 1, 7 and 65536-byte chunks gives the one-shot result", arguments: fastCodecs)
    func streamingDecode(codec: Codec) throws {
        for (chunkSize, input) in Self.cases {
            let compressed = try codec.encode(input)
            let oneShot = try codec.decode(compressed, maxOutputBytes: input.count)
            let streamed = try streamDecode(codec, compressed, chunkSize: chunkSize, maxOutputBytes: input.count)
            #expect(streamed == oneShot, "\(codec) chunks of \(chunkSize)")
            #expect(streamed == input)
        }
    }

    @Test("default parameters stream too", arguments: defaultCodecs)
    func defaultParametersStream(codec: Codec) throws {
        let input = TestInputs.scriptText(count: 100_000, seed: 13)
        let compressed = try streamEncode(codec, input, chunkSize: 4096)
        #expect(try streamDecode(codec, compressed, chunkSize: 999, maxOutputBytes: input.count) == input)
    }

    @Test("an encoder emits output before it is finished, so memory stays bounded", arguments: fastCodecs)
    func encoderEmitsEarly(codec: Codec) throws {
        let encoder = try codec.makeEncoder()
        var emitted = 0
        for seed: UInt64 in 1...8 {
            // A different random megabyte each time: a repeated one would be matched by the window.
            emitted += try encoder.update(TestInputs.random(count: 1024 * 1024, seed: 100 + seed)).count
        }
        // Random data barely compresses: most of the 8 MB must already have come out.
        #expect(emitted > 4 * 1024 * 1024)
        #expect(try encoder.finish().count < 4 * 1024 * 1024)
    }

    @Test("empty chunks are accepted anywhere", arguments: defaultCodecs)
    func emptyChunks(codec: Codec) throws {
        let encoder = try codec.makeEncoder()
        var compressed = try encoder.update([])
        compressed += try encoder.update(TestInputs.tinyText)
        compressed += try encoder.update([])
        compressed += try encoder.finish()
        let decoder = try codec.makeDecoder(maxOutputBytes: 1000)
        var decoded = try decoder.update([])
        decoded += try decoder.update(compressed)
        decoded += try decoder.update([])
        decoded += try decoder.finish()
        #expect(decoded == TestInputs.tinyText)
    }

    @Test("an encoder or decoder cannot be used after finish", arguments: defaultCodecs)
    func useAfterFinish(codec: Codec) throws {
        let encoder = try codec.makeEncoder()
        let compressed = try encoder.finish()
        #expect(codecError { try encoder.update([1]) } == .invalidParameter("the encoder was already finished"))
        let decoder = try codec.makeDecoder(maxOutputBytes: 10)
        _ = try decoder.update(compressed)
        _ = try decoder.finish()
        #expect(codecError { try decoder.update([]) } == .invalidParameter("the decoder was already finished"))
    }

    @Test("zstd frames and gzip members in a row decode as one stream")
    func concatenatedStreams() throws {
        for codec in [Codec.zstd(), .gzip()] {
            let first = Array("first part, ".utf8)
            let second = Array("second part".utf8)
            let joined = try codec.encode(first) + codec.encode(second)
            #expect(try codec.decode(joined, maxOutputBytes: 100) == first + second, "\(codec)")
            #expect(try streamDecode(codec, joined, chunkSize: 3, maxOutputBytes: 100) == first + second, "\(codec)")
        }
    }
}

import Compression
import Testing

/// Codecs with their default (publish-time) parameters.
let defaultCodecs: [Codec] = [.brotli(), .zstd(), .gzip()]
/// Faster settings for the 10 MB inputs: brotli 11 alone would take most of a minute on them.
/// The stream format is the same at every level, so these exercise the same framing and buffering.
let fastCodecs: [Codec] = [.brotli(quality: 5), .zstd(level: 3), .gzip(level: 6)]

@Suite("Round trips")
struct RoundTripTests {
    static let smallInputs: [(String, [UInt8])] = [
        ("empty", []),
        ("one byte", [0x42]),
        ("tiny text", TestInputs.tinyText),
    ]

    @Test("small inputs decode to themselves with default parameters", arguments: defaultCodecs)
    func smallInputs(codec: Codec) throws {
        for (name, input) in Self.smallInputs {
            let compressed = try codec.encode(input)
            #expect(!compressed.isEmpty, "\(codec) \(name): even an empty input makes a non-empty stream")
            #expect(try codec.decode(compressed, maxOutputBytes: 1024) == input, "\(codec) \(name)")
        }
    }

    @Test("1 MB of random bytes decodes to itself and barely grows", arguments: defaultCodecs)
    func incompressible(codec: Codec) throws {
        let input = TestInputs.random1MB
        let compressed = try codec.encode(input)
        #expect(compressed.count < input.count + input.count / 100)
        #expect(try codec.decode(compressed, maxOutputBytes: input.count) == input)
    }

    @Test("10 MB of mixed content decodes to itself", arguments: fastCodecs)
    func mixed(codec: Codec) throws {
        let input = TestInputs.mixed10MB
        let compressed = try codec.encode(input)
        #expect(compressed.count < input.count)
        #expect(try codec.decode(compressed, maxOutputBytes: input.count) == input)
    }

    @Test("10 MB of one repeated line compresses over 100 times and decodes to itself", arguments: fastCodecs)
    func repetitive(codec: Codec) throws {
        let input = TestInputs.repetitive10MB
        let compressed = try codec.encode(input)
        #expect(compressed.count * 100 < input.count)
        #expect(try codec.decode(compressed, maxOutputBytes: input.count) == input)
    }

    @Test("script text compresses at least 3 times with default parameters", arguments: defaultCodecs)
    func scriptText(codec: Codec) throws {
        let input = TestInputs.scriptText(count: 128 * 1024, seed: 3)
        let compressed = try codec.encode(input)
        #expect(compressed.count * 3 < input.count)
        #expect(try codec.decode(compressed, maxOutputBytes: input.count) == input)
    }

    @Test("gzip output is deterministic: no file name and mtime 0")
    func gzipIsDeterministic() throws {
        let first = try Codec.gzip().encode(TestInputs.tinyText)
        let second = try Codec.gzip().encode(TestInputs.tinyText)
        #expect(first == second)
        #expect(Array(first.prefix(3)) == [0x1F, 0x8B, 0x08], "gzip magic and deflate method")
        #expect(first[3] == 0, "no FNAME, FCOMMENT, FEXTRA or FHCRC flag")
        #expect(Array(first[4..<8]) == [0, 0, 0, 0], "mtime 0")
    }
}

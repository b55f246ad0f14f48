import Compression
import Testing

@Suite("Parameters")
struct ParameterTests {
    static let invalid: [Codec] = [
        .brotli(quality: 12), .brotli(quality: -1), .brotli(windowBits: 30), .brotli(windowBits: 9),
        .zstd(windowLog: 31), .zstd(windowLog: 28), .zstd(windowLog: 9), .zstd(level: 23),
        .gzip(level: 10), .gzip(level: -1),
    ]

    @Test("out-of-range parameters are invalidParameter for encode, makeEncoder and validate", arguments: invalid)
    func outOfRange(codec: Codec) {
        let expectInvalid: (CodecError?) -> Void = { error in
            guard case .invalidParameter = error else {
                Issue.record("\(codec): expected invalidParameter, got \(String(describing: error))")
                return
            }
        }
        expectInvalid(codecError { try codec.encode([1, 2, 3]) })
        expectInvalid(codecError { try codec.makeEncoder() })
        expectInvalid(codecError { try codec.validate() })
    }

    @Test("boundary values are accepted and round-trip")
    func boundaries() throws {
        let codecs: [Codec] = [
            .brotli(quality: 0, windowBits: 10), .brotli(quality: 11, windowBits: 24),
            .zstd(level: -5), .zstd(level: 1, windowLog: 10), .zstd(level: 1, windowLog: 27, long: true), .zstd(level: 22),
            .gzip(level: 0), .gzip(level: 1),
        ]
        for codec in codecs {
            try codec.validate()
            let input = TestInputs.scriptText(count: 20_000, seed: 30)
            #expect(try codec.decode(try codec.encode(input), maxOutputBytes: input.count) == input, "\(codec)")
        }
    }

    @Test("a negative output limit is invalidParameter", arguments: defaultCodecs)
    func negativeLimit(codec: Codec) {
        guard case .invalidParameter = codecError({ try codec.makeDecoder(maxOutputBytes: -1) }) else {
            Issue.record("\(codec): expected invalidParameter")
            return
        }
        guard case .invalidParameter = codecError({ try codec.decode([], maxOutputBytes: -1) }) else {
            Issue.record("\(codec): expected invalidParameter")
            return
        }
    }

    @Test("tokens are the HTTP content-coding names and map back to the defaults")
    func tokens() {
        #expect(Codec.brotli().token == "br")
        #expect(Codec.zstd().token == "zstd")
        #expect(Codec.gzip().token == "gzip")
        #expect(Codec(token: "br") == .brotli(quality: 11, windowBits: 22))
        #expect(Codec(token: "ZSTD") == .zstd(level: 19))
        #expect(Codec(token: "gzip") == .gzip(level: 9))
        #expect(Codec(token: "deflate") == nil)
        #expect(Codec(token: "identity") == nil)
    }

    @Test("codecs with different parameters are different values")
    func hashable() {
        #expect(Codec.brotli(quality: 5) != .brotli(quality: 6))
        #expect(Codec.zstd(long: true) != .zstd())
        #expect(Set<Codec>([.gzip(), .gzip(level: 9), .gzip(level: 1)]).count == 2)
        #expect(Codec.zstd().description == "zstd(level: 19, windowLog: auto, long: false)")
    }
}

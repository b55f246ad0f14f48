import Testing

@testable import Compression

/// Browsers refuse zstd windows over 8 MB (RFC 9659) and brotli windows over 2^24: the headers we write must stay within.
@Suite("Frame windows")
struct FrameWindowTests {
    static let eightMB: UInt64 = 8 * 1024 * 1024

    /// The header of a streamed frame (size unknown), where zstd uses the level's full window.
    static func streamedZstdHeader(_ codec: Codec) throws -> [UInt8] {
        try streamEncode(codec, TestInputs.tinyText, chunkSize: 16)
    }

    @Test("zstd level 19 streams declare exactly an 8 MB window")
    func zstdDefaultStreamed() throws {
        #expect(FrameWindow.zstdWindowSize(try Self.streamedZstdHeader(.zstd())) == Self.eightMB)
    }

    @Test("zstd level 19 on a 10 MB input declares at most 8 MB")
    func zstdDefaultLargeInput() throws {
        let compressed = try Codec.zstd().encode(TestInputs.repetitive10MB)
        let window = try #require(FrameWindow.zstdWindowSize(compressed))
        #expect(window <= Self.eightMB)
    }

    @Test("zstd levels 20-22 and long mode stay within 8 MB unless a window is given")
    func zstdUltraAndLong() throws {
        for codec in [Codec.zstd(level: 22), .zstd(level: 20, long: true), .zstd(long: true)] {
            let window = try #require(FrameWindow.zstdWindowSize(try Self.streamedZstdHeader(codec)))
            #expect(window <= Self.eightMB, "\(codec)")
        }
        let explicit = try Self.streamedZstdHeader(.zstd(level: 3, windowLog: 27, long: true))
        #expect(FrameWindow.zstdWindowSize(explicit) == 1 << 27)
    }

    @Test("a small one-shot zstd frame is single-segment: its window is its content size")
    func zstdSingleSegment() throws {
        #expect(FrameWindow.zstdWindowSize(try Codec.zstd().encode(TestInputs.tinyText)) == UInt64(TestInputs.tinyText.count))
        let input = TestInputs.scriptText(count: 70_000, seed: 40)
        #expect(FrameWindow.zstdWindowSize(try Codec.zstd().encode(input)) == UInt64(input.count))
    }

    @Test("the zstd header reader agrees with the zstd CLI's frames")
    func zstdReaderMatchesCLI() throws {
        let tool = try CommandLineTool()
        defer { tool.cleanUp() }
        let streamed = try tool.run("cat IN | zstd -q -19 -c > OUT", input: TestInputs.tinyText)
        #expect(FrameWindow.zstdWindowSize(streamed) == Self.eightMB)
        let long = try tool.run("cat IN | zstd -q -3 --long=27 -c > OUT", input: TestInputs.tinyText)
        #expect(FrameWindow.zstdWindowSize(long) == 1 << 27)
        let windowLog20 = try tool.run("cat IN | zstd -q -3 --zstd=wlog=20 -c > OUT", input: TestInputs.tinyText)
        #expect(FrameWindow.zstdWindowSize(windowLog20) == 1 << 20)
        #expect(FrameWindow.zstdWindowSize(Array("not zstd".utf8)) == nil)
    }

    @Test("brotli streams declare the window they were asked for")
    func brotliWindows() throws {
        for bits in [10, 16, 17, 18, 22, 24] {
            let compressed = try Codec.brotli(quality: 5, windowBits: bits).encode(TestInputs.scriptText(count: 50_000, seed: 41))
            #expect(FrameWindow.brotliWindowBits(compressed) == bits, "windowBits \(bits)")
        }
        #expect(FrameWindow.brotliWindowBits(try Codec.brotli().encode(TestInputs.tinyText)) == 22)
    }

    @Test("the brotli header reader agrees with the brotli CLI")
    func brotliReaderMatchesCLI() throws {
        let tool = try CommandLineTool()
        defer { tool.cleanUp() }
        for bits in [10, 16, 17, 22, 24] {
            let compressed = try tool.run("brotli -q 5 -w \(bits) -c IN > OUT", input: TestInputs.tinyText)
            #expect(FrameWindow.brotliWindowBits(compressed) == bits, "brotli -w \(bits)")
        }
    }
}

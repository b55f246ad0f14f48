import Compression
import Foundation
import Testing

/// Every encoder and decoder frees its C context when it goes away.
@Suite("Resources")
struct ResourceTests {
    /// Resident memory of this process, from /proc/self/statm.
    static func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        let pages = try #require(Int(fields[1]))
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// A level-19 zstd encoder zeroes about 80 MB of match tables: 40 rounds that leaked them would keep
    /// over 3 GB resident (checked by removing the free calls). Brotli and zlib contexts are too small to
    /// show over the noise of tests running in parallel; LeakSanitizer covers those (see the module notes).
    @Test("creating and dropping many encoders and decoders does not grow memory")
    func contextsAreFreed() throws {
        let input = TestInputs.random(count: 2 * 1024 * 1024, seed: 60)
        let compressedZstd = try streamEncode(.zstd(level: 1), input, chunkSize: 1 << 20)
        let before = try Self.residentBytes()
        for _ in 0..<40 {
            for codec in defaultCodecs {
                let encoder = try codec.makeEncoder()
                _ = try encoder.update(TestInputs.tinyText)
                _ = try encoder.finish()
            }
            _ = try Codec.zstd().decode(compressedZstd, maxOutputBytes: input.count)
            _ = try Codec.brotli().makeDecoder(maxOutputBytes: 1).update([])
        }
        let growth = try Self.residentBytes() - before
        #expect(growth < 1024 * 1024 * 1024, "resident memory grew by \(growth >> 20) MB")
    }
}

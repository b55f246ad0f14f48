import Compression
import Foundation
import Testing
import WharfTestSupport

/// RFC 9842 `dcz`: our encoder against the real `zstd` CLI and hostile bodies against our decoder.
@Suite("dcz (zstd with a raw dictionary)")
struct DictionaryZstdTests {
    /// A 128 KB script and the same script with one line changed in the middle.
    static let old = TestInputs.scriptText(count: 128 * 1024, seed: 11)
    static let new: [UInt8] = {
        var bytes = old
        bytes.replaceSubrange(64_000..<64_000, with: Array("\nconsole.log(\"deployed again\");\n".utf8))
        return bytes
    }()

    /// SHA-256 through the real `sha256sum` (this module has no hash function of its own).
    static func sha256(_ bytes: [UInt8], _ cli: CommandLineTool) throws -> [UInt8] {
        let hex = String(decoding: try cli.run("sha256sum IN | cut -c1-64 | tr -d '\\n' > OUT", input: bytes), as: UTF8.self)
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test("the zstd CLI decodes the frame after the 40-byte header with -D old to the exact new bytes")
    func cliDecodesDelta() throws {
        let cli = try CommandLineTool()
        defer { cli.cleanUp() }
        let hash = try Self.sha256(Self.old, cli)
        let body = try DictionaryZstd.encode(Self.new, dictionary: Self.old, dictionaryHash: hash)
        #expect(Array(body.prefix(8)) == [0x5E, 0x2A, 0x4D, 0x18, 0x20, 0x00, 0x00, 0x00])
        #expect(Array(body[8..<40]) == hash)
        let dictionary = cli.directory.appendingPathComponent("old.js")
        try Data(Self.old).write(to: dictionary)
        let decoded = try cli.run("tail -c +41 IN | zstd -q -d -D '\(dictionary.path)' -c > OUT", input: body)
        #expect(decoded == Self.new)
        // Without the dictionary the CLI cannot decode it.
        #expect(throws: CommandLineTool.Failure.self) { try cli.run("tail -c +41 IN | zstd -q -d -c > OUT 2>/dev/null", input: body) }
    }

    @Test("a one-line change costs a tiny fraction of plain zstd, and the window stays in RFC 9842's limit")
    func deltaIsSmall() throws {
        let hash = [UInt8](repeating: 7, count: 32)
        let body = try DictionaryZstd.encode(Self.new, dictionary: Self.old, dictionaryHash: hash)
        let plain = try Codec.zstd().encode(Self.new)
        #expect(body.count * 20 < plain.count, "dcz \(body.count) vs zstd \(plain.count)")
        let window = try #require(FrameWindowProbe.zstdWindow(Array(body[40...])))
        #expect(window <= UInt64(DictionaryZstd.maxWindowSize(dictionarySize: Self.old.count)))
        #expect(try DictionaryZstd.decode(body, dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: Self.new.count) == Self.new)
    }

    @Test("we decode a body made by the zstd CLI with -D old behind our header")
    func decodesCLIOutput() throws {
        let cli = try CommandLineTool()
        defer { cli.cleanUp() }
        let dictionary = cli.directory.appendingPathComponent("old.js")
        try Data(Self.old).write(to: dictionary)
        let frame = try cli.run("zstd -q -19 -D '\(dictionary.path)' -c IN > OUT", input: Self.new)
        let hash = try Self.sha256(Self.old, cli)
        let body = DictionaryZstd.headerPrefix + hash + frame
        #expect(try DictionaryZstd.decode(body, dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: 1 << 20) == Self.new)
    }

    @Test("the dictionary hash is read from the header; anything else is not a dcz body")
    func headerParsing() {
        let hash = (0..<32).map { UInt8($0) }
        #expect(DictionaryZstd.dictionaryHash(of: DictionaryZstd.headerPrefix + hash) == hash)
        #expect(DictionaryZstd.dictionaryHash(of: DictionaryZstd.headerPrefix + hash.dropLast()) == nil)
        #expect(DictionaryZstd.dictionaryHash(of: []) == nil)
        var wrongMagic = DictionaryZstd.headerPrefix + hash
        wrongMagic[0] = 0x50
        #expect(DictionaryZstd.dictionaryHash(of: wrongMagic) == nil)
        var wrongSize = DictionaryZstd.headerPrefix + hash
        wrongSize[4] = 0x21
        #expect(DictionaryZstd.dictionaryHash(of: wrongSize) == nil)
    }

    @Test("hostile bodies: wrong hash, wrong dictionary, cuts, garbage, trailing bytes, output limit")
    func hostileBodies() throws {
        let hash = [UInt8](repeating: 1, count: 32)
        let body = try DictionaryZstd.encode(Self.new, dictionary: Self.old, dictionaryHash: hash)
        let limit = Self.new.count
        #expect(throws: CodecError.self) {
            try DictionaryZstd.decode(body, dictionary: Self.old, dictionaryHash: [UInt8](repeating: 2, count: 32), maxOutputBytes: limit)
        }
        // Same declared hash, other bytes: the frame checksum (or the matches) fail.
        var otherDictionary = Self.old
        otherDictionary[1000] ^= 0x55
        otherDictionary[64_500] ^= 0x55
        #expect(throws: CodecError.self) {
            try DictionaryZstd.decode(body, dictionary: otherDictionary, dictionaryHash: hash, maxOutputBytes: limit)
        }
        for cut in [0, 7, 8, 39, 40, 41, body.count / 2, body.count - 1] {
            #expect(throws: CodecError.self, "cut at \(cut)") {
                try DictionaryZstd.decode(Array(body.prefix(cut)), dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: limit)
            }
        }
        #expect(throws: CodecError.self) {
            try DictionaryZstd.decode(body + [0], dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: limit)
        }
        #expect(throws: CodecError.outputLimitExceeded(limit - 1)) {
            try DictionaryZstd.decode(body, dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: limit - 1)
        }
        var generator = SeededRandom(seed: 99)
        for round in 0..<200 {
            let garbage = DictionaryZstd.headerPrefix + hash + TestInputs.random(count: Int(generator.next() % 300), seed: UInt64(round))
            // Must throw or return something bounded; never crash or allocate past the limit.
            if let out = try? DictionaryZstd.decode(garbage, dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: 4096) {
                #expect(out.count <= 4096)
            }
        }
        #expect(throws: CodecError.self) {
            try DictionaryZstd.encode(Self.new, dictionary: Self.old, dictionaryHash: [1, 2, 3])
        }
    }

    @Test("an empty dictionary and an empty input still make valid bodies")
    func emptyEdges() throws {
        let hash = [UInt8](repeating: 3, count: 32)
        let a = try DictionaryZstd.encode([], dictionary: Self.old, dictionaryHash: hash)
        #expect(try DictionaryZstd.decode(a, dictionary: Self.old, dictionaryHash: hash, maxOutputBytes: 0) == [])
        let b = try DictionaryZstd.encode(TestInputs.tinyText, dictionary: [], dictionaryHash: hash)
        #expect(try DictionaryZstd.decode(b, dictionary: [], dictionaryHash: hash, maxOutputBytes: 1000) == TestInputs.tinyText)
    }
}

/// The window a zstd frame header declares (RFC 8878 §3.1.1.1), read here independently of the module.
enum FrameWindowProbe {
    static func zstdWindow(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= 6, bytes.prefix(4).elementsEqual([0x28, 0xB5, 0x2F, 0xFD]) else { return nil }
        let descriptor = bytes[4]
        if descriptor & 0x20 == 0 {
            let w = bytes[5]
            let base = UInt64(1) << (10 + UInt64(w >> 3))
            return base + (base / 8) * UInt64(w & 7)
        }
        let start = 5 + [0, 1, 2, 4][Int(descriptor & 3)]
        let fieldSize = [1, 2, 4, 8][Int(descriptor >> 6)]
        guard bytes.count >= start + fieldSize else { return nil }
        var size: UInt64 = 0
        for i in (0..<fieldSize).reversed() { size = size << 8 | UInt64(bytes[start + i]) }
        return fieldSize == 2 ? size + 256 : size
    }
}

import Compression
import Foundation
import GRDB
import Testing

@testable import ArtifactStore

@Suite struct VariantTests {
    /// Text that compresses to about half: hex digits carry 4 bits per byte.
    static func hexText(_ count: Int, seed: UInt64) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return Fixture.randomBytes(count, seed: seed).map { digits[Int($0 & 0x0f)] }
    }

    private func expectVariantsDecode(_ store: Store, _ entry: ManifestEntry, original: [UInt8]) throws {
        for variant in entry.variants {
            let encoded = try store.readBytes(entry, coding: variant.coding)
            #expect(Int64(encoded.count) == variant.size)
            #expect(ContentHash.of(encoded) == variant.hash)
            let codec = try #require(Codec(token: variant.coding))
            #expect(try codec.decode(encoded, maxOutputBytes: original.count) == original, "\(entry.path) \(variant.coding)")
        }
    }

    @Test func compressibleFilesGetBrZstdAndGzipVariantsThatDecodeByteForByte() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("dist")
        let files: [String: [UInt8]] = [
            "index.html": Array("<!doctype html><title>x</title>\(String(repeating: "<p>hello wharf</p>", count: 40))".utf8),
            "assets/app.js": Fixture.text(20_000),
            "assets/vendor.js": Self.hexText(200_000, seed: 1),  // large variants: stored as files
            "data.json": Array("{\"items\": [\(Array(repeating: "{\"a\": 1, \"b\": \"two\"}", count: 100).joined(separator: ","))]}".utf8),
            "logo.svg": Array(
                "<svg xmlns=\"http://www.w3.org/2000/svg\">\(String(repeating: "<rect width=\"1\" height=\"1\"/>", count: 50))</svg>".utf8),
        ]
        for (path, bytes) in files { try dir.write("dist/\(path)", bytes) }

        let manifest = try store.publish(PublishRequest(app: "web", directory: source)).deployment

        for (path, original) in files {
            let entry = try #require(manifest.files["/" + path])
            #expect(entry.availableCodings == ["br", "zstd", "gzip"], "\(path)")
            try expectVariantsDecode(store, entry, original: original)
        }
        let vendor = try #require(manifest.files["/assets/vendor.js"])
        for variant in vendor.variants {
            #expect(variant.size > Int64(store.options.inlineThreshold))
            guard case .file = try store.readBody(vendor, coding: variant.coding) else {
                Issue.record("a \(variant.size)-byte variant must be a file")
                continue
            }
        }
        #expect(try store.verify(deep: true).isHealthy)
    }

    @Test func aVariantIsKeptOnlyIfItSavesEnough() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("dist")
        try dir.write("dist/random.js", Fixture.randomBytes(5_000, seed: 2))  // compressible type, incompressible bytes
        try dir.write("dist/photo.png", Fixture.text(5_000))  // compressible bytes, type never compressed
        try dir.write("dist/app.js", Fixture.text(5_000))

        let manifest = try store.publish(PublishRequest(app: "web", directory: source)).deployment

        #expect(manifest.files["/random.js"]?.variants == [])
        #expect(manifest.files["/photo.png"]?.variants == [])
        #expect(manifest.files["/app.js"]?.variants.count == 3)

        let strict = TemporaryDirectory()
        let strictStore = try Store.openForTest(strict) { $0.minVariantSavings = 0.6 }
        try strict.write("dist/hex.js", Self.hexText(5_000, seed: 3))  // saves ~45%: under the bar
        try strict.write("dist/app.js", Fixture.text(5_000))  // saves > 90%
        let strictManifest = try strictStore.publish(PublishRequest(app: "web", directory: strict.path + "/dist")).deployment
        #expect(strictManifest.files["/hex.js"]?.variants == [])
        #expect(strictManifest.files["/app.js"]?.variants.count == 3)
    }

    @Test func etagsDifferPerEncodingAndStayStableAcrossIdenticalRepublishes() throws {
        let dir = TemporaryDirectory()
        let source = try dir.subdirectory("dist")
        try dir.write("dist/app.js", Fixture.text(30_000))
        let store = try Store.openForTest(dir)

        let first = try #require(try store.publish(PublishRequest(app: "web", directory: source)).deployment.files["/app.js"])
        let again = try store.publish(PublishRequest(app: "web", directory: source))
        let second = try #require(again.deployment.files["/app.js"])
        let elsewhere = TemporaryDirectory()
        let otherStore = try Store.openForTest(elsewhere)
        let third = try #require(try otherStore.publish(PublishRequest(app: "other", directory: source)).deployment.files["/app.js"])

        let tags = [first.etag] + first.variants.map(\.etag)
        #expect(Set(tags).count == 4)
        #expect(tags.allSatisfy { $0.hasPrefix("\"") && $0.hasSuffix("\"") && !$0.hasPrefix("W/") })
        #expect(second.etag == first.etag && second.variants == first.variants)
        #expect(third.etag == first.etag && third.variants.map(\.etag) == first.variants.map(\.etag))
        #expect(again.variantsCreated == 0)

        try dir.write("dist/app.js", Fixture.text(30_000, seed: 1))
        let changed = try #require(try store.publish(PublishRequest(app: "web", directory: source)).deployment.files["/app.js"])
        #expect(Set([changed.etag] + changed.variants.map(\.etag)).isDisjoint(with: tags))
    }

    @Test func largeInputsAboveTheStreamingThresholdAreCompressedFromTheirFile() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir) {
            $0.streamingCompressionThreshold = 64 * 1024
            $0.brotliQuality = 5
            $0.zstdLevel = 3
            $0.gzipLevel = 6
        }
        let source = try dir.subdirectory("dist")
        let big = Self.hexText(300_000, seed: 4) + Fixture.text(100_000)
        try dir.write("dist/bundle.js", big)

        let entry = try #require(try store.publish(PublishRequest(app: "web", directory: source)).deployment.files["/bundle.js"])

        #expect(entry.availableCodings == ["br", "zstd", "gzip"])
        try expectVariantsDecode(store, entry, original: big)
    }

    @Test func deepVerifyCatchesAVariantThatNoLongerDecodesToItsSource() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("dist")
        try dir.write("dist/a.js", Fixture.text(4_000))
        try dir.write("dist/b.js", Fixture.text(4_000, seed: 7))
        let manifest = try store.publish(PublishRequest(app: "web", directory: source)).deployment
        let a = try #require(manifest.files["/a.js"]?.variant(coding: "gzip"))
        // Point a.js's gzip variant at b.js's gzip bytes: every hash is intact, the pairing is wrong.
        let bGzip = try #require(manifest.files["/b.js"]?.variant(coding: "gzip"))
        try store.pool.write { db in
            try db.execute(sql: "UPDATE variants SET blob_hash = ? WHERE blob_hash = ?", arguments: [bGzip.hash, a.hash])
        }
        #expect(try store.verify().isHealthy)
        let deep = try store.verify(deep: true)
        #expect(deep.problems.count == 1)
        #expect(deep.problems.first?.contains("decodes to different bytes") == true)
    }

    @Test func largeRandomLookingFilesSkipCompressionButLargeTextDoesNot() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("dist")
        try dir.write("dist/app.wasm", Fixture.randomBytes(1 << 20, seed: 7))
        try dir.write("dist/big.js", Self.hexText(1 << 20, seed: 8))
        #expect(VariantBuilder.looksIncompressible(IngestedBlob(hash: "", size: 1 << 20, inlineBytes: nil, readPath: source + "/app.wasm")))
        #expect(!VariantBuilder.looksIncompressible(IngestedBlob(hash: "", size: 1 << 20, inlineBytes: nil, readPath: source + "/big.js")))
        let manifest = try store.publish(PublishRequest(app: "web", directory: source)).deployment
        #expect(manifest.files["/app.wasm"]?.variants.isEmpty == true)
        #expect(manifest.files["/big.js"]?.variants.count == 3)
    }
}

import Foundation
import GRDB
import Glibc
import Testing

@testable import ArtifactStore

@Suite struct PublishTests {
    @Test func publishingTheSameContentTwiceStoresEachBlobOnce() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let large = Fixture.randomBytes(80_000, seed: 1)
        let a = try dir.subdirectory("a")
        try dir.write("a/one.bin", large)
        try dir.write("a/small.bin", Fixture.randomBytes(100, seed: 2))
        let b = try dir.subdirectory("b")
        try dir.write("b/one.bin", large)
        try dir.write("b/copy/of-one.bin", large)
        try dir.write("b/small.bin", Fixture.randomBytes(100, seed: 2))

        let first = try store.publish(PublishRequest(app: "dedupe", directory: a))
        let second = try store.publish(PublishRequest(app: "dedupe", directory: b))

        #expect(first.newBlobs == 2)
        #expect(second.newBlobs == 0)
        #expect(second.reusedBlobs == 2)
        let blobCount = try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM blobs") }
        #expect(blobCount == 2)
        #expect(try store.blobFiles.allHashes().count == 1)
        #expect(second.deployment.files["/copy/of-one.bin"]?.blobHash == second.deployment.files["/one.bin"]?.blobHash)
    }

    @Test func blobsUpToTheInlineThresholdLiveInSQLiteAndLargerOnesAreFiles() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let threshold = store.options.inlineThreshold
        let source = try dir.subdirectory("site")
        let under = Fixture.randomBytes(threshold - 1, seed: 10)
        let at = Fixture.randomBytes(threshold, seed: 11)
        let over = Fixture.randomBytes(threshold + 1, seed: 12)
        try dir.write("site/under.bin", under)
        try dir.write("site/at.bin", at)
        try dir.write("site/over.bin", over)

        let manifest = try store.publish(PublishRequest(app: "placement", directory: source)).deployment

        let underEntry = try #require(manifest.files["/under.bin"])
        let atEntry = try #require(manifest.files["/at.bin"])
        let overEntry = try #require(manifest.files["/over.bin"])
        #expect(try store.readBody(underEntry, coding: nil) == .bytes(under))
        #expect(try store.readBody(atEntry, coding: nil) == .bytes(at))
        let overPath = store.blobFiles.path(for: overEntry.blobHash)
        #expect(try store.readBody(overEntry, coding: nil) == .file(path: overPath, offset: 0, length: threshold + 1))
        #expect(overPath.hasSuffix("/blobs/\(overEntry.blobHash.prefix(2))/\(overEntry.blobHash.dropFirst(2))"))
        #expect(try FileSystem.readFile(overPath) == over)
        #expect(try store.blobFiles.allHashes() == [overEntry.blobHash])
        let inlineCount = try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM blobs WHERE data IS NOT NULL") }
        #expect(inlineCount == 2)
    }

    @Test func openBlobFileOpensFileBlobsOnlyWithoutTheDatabase() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let threshold = store.options.inlineThreshold
        let source = try dir.subdirectory("site")
        try dir.write("site/small.bin", Fixture.randomBytes(threshold, seed: 20))
        let big = Fixture.randomBytes(threshold + 10, seed: 21)
        try dir.write("site/big.bin", big)
        let manifest = try store.publish(PublishRequest(app: "direct", directory: source)).deployment
        let small = try #require(manifest.files["/small.bin"])
        let large = try #require(manifest.files["/big.bin"])

        #expect(store.openBlobFile(small, coding: nil) == nil, "an inline blob has no file")
        #expect(store.openBlobFile(large, coding: "br") == nil, "no such variant (random bytes do not compress)")
        let opened = try #require(store.openBlobFile(large, coding: nil))
        defer { close(opened.descriptor) }
        #expect(opened.size == big.count)
        var first = [UInt8](repeating: 0, count: 64)
        #expect(pread(opened.descriptor, &first, 64, 0) == 64)
        #expect(first == Array(big.prefix(64)))
    }

    @Test func aManifestDescribesEveryFileWithItsHeaders() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("dist")
        try dir.write("dist/index.html", "<!doctype html><script src=\"assets/app.3f9a1c2e.js\"></script>")
        try dir.write("dist/assets/app.3f9a1c2e.js", "console.log('hello')")
        try dir.write("dist/logo.png", Fixture.randomBytes(300, seed: 3))
        try dir.write("dist/empty.txt", [])
        let oldDate = Date(timeIntervalSince1970: 1_700_000_000)
        try FileManager.default.setAttributes([.modificationDate: oldDate], ofItemAtPath: source + "/logo.png")

        let request = PublishRequest(
            app: "manifest", directory: source, version: "1.2.3", message: "first",
            metadata: ["commit": "abc123"])
        let manifest = try store.publish(request).deployment

        #expect(manifest.app == "manifest")
        #expect(manifest.version == "1.2.3")
        #expect(manifest.message == "first")
        #expect(manifest.metadata == ["commit": "abc123"])
        #expect(manifest.entryPoint == "/index.html")
        #expect(Set(manifest.files.keys) == ["/index.html", "/assets/app.3f9a1c2e.js", "/logo.png", "/empty.txt"])
        #expect(abs(Double(manifest.createdAt) / 1000 - Date().timeIntervalSince1970) < 60)

        let logo = try #require(manifest.files["/logo.png"])
        #expect(logo.contentType == "image/png")
        #expect(logo.size == 300)
        #expect(logo.lastModified == 1_700_000_000)
        #expect(logo.etag == "\"\(logo.blobHash.prefix(32))\"")
        #expect(logo.variants.isEmpty)
        #expect(try store.readBytes(logo) == Fixture.randomBytes(300, seed: 3))

        let html = try #require(manifest.files["/index.html"])
        #expect(html.contentType == "text/html; charset=utf-8")
        #expect(html.cacheControl == "no-cache")
        #expect(html.preloadHints == [PreloadHint(href: "/assets/app.3f9a1c2e.js", as: "script")])
        #expect(manifest.files["/assets/app.3f9a1c2e.js"]?.cacheControl == CachePolicy.immutable)
        #expect(manifest.files["/empty.txt"]?.size == 0)
        #expect(try store.readBytes(try #require(manifest.files["/empty.txt"])) == [])

        #expect(try store.currentDeployment(app: "manifest") == manifest)
        #expect(try store.apps() == ["manifest"])
    }

    @Test func largeFilesAreStreamedIntoBlobFilesByteForByte() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("apk")
        let apk = Fixture.randomBytes(3 * 1024 * 1024 + 17, seed: 4)
        try dir.write("apk/app-release.apk", apk)

        let entry = try #require(try store.publish(PublishRequest(app: "android", directory: source)).deployment.files["/app-release.apk"])

        #expect(entry.contentType == "application/vnd.android.package-archive")
        #expect(entry.size == Int64(apk.count))
        guard case .file(let path, 0, let length) = try store.readBody(entry, coding: nil) else {
            Issue.record("a 3 MB blob must be a file")
            return
        }
        #expect(length == apk.count)
        #expect(try FileSystem.readFile(path) == apk)
        #expect(entry.blobHash == ContentHash.of(apk))
    }

    @Test func symlinksInsideTheDirectoryPublishTheFilesTheyPointTo() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/real/data.json", "{\"a\":1}")
        try FileManager.default.createSymbolicLink(atPath: source + "/alias.json", withDestinationPath: "real/data.json")
        try FileManager.default.createSymbolicLink(atPath: source + "/linked-dir", withDestinationPath: source + "/real")

        let manifest = try store.publish(PublishRequest(app: "links", directory: source)).deployment

        #expect(Set(manifest.files.keys) == ["/real/data.json", "/alias.json", "/linked-dir/data.json"])
        #expect(manifest.files["/alias.json"]?.blobHash == manifest.files["/real/data.json"]?.blobHash)
        #expect(manifest.entryPoint == nil)
    }

    @Test func deploymentsAreListedNewestFirstWithTheCurrentOneMarked() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/index.html", "v1")
        let first = try store.publish(PublishRequest(app: "listing", directory: source, version: "1"))
        try dir.write("site/index.html", "v2")
        let second = try store.publish(PublishRequest(app: "listing", directory: source, version: "2", activate: false))

        let list = try store.deployments(app: "listing")

        #expect(list.map(\.id) == [second.deployment.id, first.deployment.id])
        #expect(list.map(\.isCurrent) == [false, true])
        #expect(list.map(\.version) == ["2", "1"])
        #expect(list[0].fileCount == 1 && list[0].totalSize == 2)
        #expect(try store.deployments(app: "nobody").isEmpty)
    }
}

extension PublishTests {
    @Test func aSymlinkLoopBackToAnAncestorDirectoryIsSkippedNotFollowedForever() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/sub/index.html", "x")
        try FileManager.default.createSymbolicLink(atPath: source + "/sub/up", withDestinationPath: "..")
        let manifest = try store.publish(PublishRequest(app: "loop", directory: source)).deployment
        #expect(Set(manifest.files.keys) == ["/sub/index.html"])
    }
}

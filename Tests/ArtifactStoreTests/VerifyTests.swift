import Foundation
import GRDB
import Testing

@testable import ArtifactStore

@Suite struct VerifyTests {
    private func publishedStore(_ dir: TemporaryDirectory) throws -> (Store, DeploymentManifest) {
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/index.html", "<h1>hello</h1>")
        try dir.write("site/big.bin", Fixture.randomBytes(90_000, seed: 8))
        return (store, try store.publish(PublishRequest(app: "web", directory: source)).deployment)
    }

    @Test func aFreshlyPublishedStoreVerifiesClean() throws {
        let dir = TemporaryDirectory()
        let (store, _) = try publishedStore(dir)
        let report = try store.verify()
        #expect(report.isHealthy)
        #expect(report.blobsChecked == 2)
        #expect(report.deploymentsChecked == 1)
        #expect(report.bytesChecked == 90_000 + 14)
    }

    @Test func aFlippedByteInABlobFileIsReported() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let hash = manifest.files["/big.bin"]!.blobHash
        let path = store.blobFiles.path(for: hash)
        var bytes = try FileSystem.readFile(path)
        bytes[1234] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let report = try store.verify()

        #expect(!report.isHealthy)
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.contains(hash) == true)
    }

    @Test func alteredInlineBytesAreReported() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let hash = manifest.files["/index.html"]!.blobHash
        try store.pool.write { db in
            try db.execute(sql: "UPDATE blobs SET data = ? WHERE hash = ?", arguments: [Data("<h1>HELLO</h1>".utf8), hash])
        }
        let report = try store.verify()
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.contains("inline content") == true)
    }

    @Test func aMissingOrTruncatedBlobFileIsReported() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let path = store.blobFiles.path(for: manifest.files["/big.bin"]!.blobHash)
        try Data(Fixture.randomBytes(10, seed: 1)).write(to: URL(fileURLWithPath: path))
        #expect(try store.verify().problems.first?.contains("expected 90000") == true)
        unlink(path)
        #expect(try store.verify().problems.first?.contains("missing") == true)
    }
}

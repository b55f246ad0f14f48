import Foundation
import GRDB
import Testing

@testable import ArtifactStore

@Suite struct GarbageCollectorTests {
    @Test func retentionKeepsTheNewestDeploymentsAndGcDeletesBlobsOnlyTheOthersUsed() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir) { $0.retainedDeploymentsPerApp = 3 }
        let source = try dir.subdirectory("site")
        try dir.write("site/shared.bin", Fixture.randomBytes(60_000, seed: 99))
        var ids: [String] = []
        var uniqueHashes: [String] = []
        for version in 1...5 {
            try dir.write("site/unique.bin", Fixture.randomBytes(60_000, seed: UInt64(version)))
            let manifest = try store.publish(PublishRequest(app: "web", directory: source)).deployment
            ids.append(manifest.id)
            uniqueHashes.append(manifest.files["/unique.bin"]!.blobHash)
        }
        #expect(try store.deployments(app: "web").map(\.id) == Array(ids.suffix(3).reversed()))
        #expect(try store.blobFiles.allHashes().count == 6)  // dropped deployments' blobs wait for gc

        let report = try store.collectGarbage()

        #expect(report.blobsRemoved == 2)
        #expect(report.bytesFreed == 120_000)
        #expect(Set(try store.blobFiles.allHashes()) == Set(uniqueHashes.suffix(3) + [ContentHash.of(Fixture.randomBytes(60_000, seed: 99))]))
        #expect(try store.verify().isHealthy)
        for id in ids.suffix(3) {
            let manifest = try #require(try store.deployment(id: id))
            for entry in manifest.files.values { _ = try store.readBytes(entry) }
        }
        #expect(try store.collectGarbage() == GarbageReport())
    }

    @Test func anAliasedDeploymentIsRetainedEvenWhenOlderThanTheNewestN() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir) { $0.retainedDeploymentsPerApp = 2 }
        let source = try dir.subdirectory("site")
        try dir.write("site/index.html", "pinned")
        let pinned = try store.publish(PublishRequest(app: "web", directory: source)).deployment.id
        for version in 1...4 {
            try dir.write("site/index.html", "staged \(version)")
            try store.publish(PublishRequest(app: "web", directory: source, activate: false))
        }
        try store.collectGarbage()

        let ids = try store.deployments(app: "web").map(\.id)
        #expect(ids.count == 3)
        #expect(ids.last == pinned)
        #expect(try store.currentDeployment(app: "web").map { try store.readBytes($0.files["/index.html"]!) } == Array("pinned".utf8))
    }

    @Test func gcRemovesOrphanBlobFilesAndTemporaryFilesLeftByACrash() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/big.bin", Fixture.randomBytes(60_000, seed: 1))
        try store.publish(PublishRequest(app: "web", directory: source))
        let orphan = Fixture.randomBytes(70_000, seed: 2)
        try store.blobFiles.write(orphan, hash: ContentHash.of(orphan))
        try dir.write("store/tmp/123-abc.part", Fixture.randomBytes(500, seed: 3))
        #expect(try store.verify().garbageFiles == 1)

        let report = try store.collectGarbage()

        #expect(report.orphanFilesRemoved == 1)
        #expect(report.temporaryFilesRemoved == 1)
        #expect(report.blobsRemoved == 0)
        #expect(try store.blobFiles.allHashes().count == 1)
        #expect(try store.verify().isHealthy && store.verify().garbageFiles == 0)
    }

    @Test func gcWaitsForARunningPublishInsteadOfDeletingItsFiles() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir) { $0.busyTimeoutSeconds = 0.2 }
        let publishing = try StoreLock(path: store.lockPath, mode: .shared, timeoutSeconds: 1)
        #expect(throws: StoreError.self) { try store.collectGarbage() }
        withExtendedLifetime(publishing) {}
    }
}

import Foundation
import Synchronization
import Testing

@testable import ArtifactStore

@Suite struct AliasTests {
    private func publishVersions(_ count: Int, app: String, store: Store, dir: TemporaryDirectory) throws -> [String] {
        let source = try dir.subdirectory("src-\(app)")
        var ids: [String] = []
        for version in 1...count {
            try dir.write("src-\(app)/index.html", "version \(version)")
            ids.append(try store.publish(PublishRequest(app: app, directory: source, version: "\(version)")).deployment.id)
        }
        return ids
    }

    @Test func rollbackWithoutAnIdReturnsToThePreviousDeploymentAndThenTheOneBefore() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let ids = try publishVersions(3, app: "web", store: store, dir: dir)

        #expect(try store.currentDeploymentID(app: "web") == ids[2])
        #expect(try store.rollback(app: "web") == ids[1])
        #expect(try store.currentDeployment(app: "web")?.version == "2")
        #expect(try store.rollback(app: "web") == ids[0])
        #expect(throws: StoreError.nothingToRollBack(app: "web")) { try store.rollback(app: "web") }
        #expect(try store.currentDeploymentID(app: "web") == ids[0])
    }

    @Test func rollbackToAnIdPointsTheAliasAtExactlyThatDeployment() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let ids = try publishVersions(3, app: "web", store: store, dir: dir)
        let other = try publishVersions(1, app: "other", store: store, dir: dir)

        #expect(try store.rollback(app: "web", to: ids[0]) == ids[0])
        #expect(try store.rollback(app: "web", to: ids[2]) == ids[2])
        #expect(throws: StoreError.deploymentNotFound("no-such-id")) { try store.rollback(app: "web", to: "no-such-id") }
        #expect(throws: StoreError.deploymentNotFound(other[0])) { try store.rollback(app: "web", to: other[0]) }
        #expect(throws: StoreError.unknownApp("ghost")) { try store.rollback(app: "ghost") }
        #expect(try store.currentDeploymentID(app: "web") == ids[2])
    }

    @Test func theAliasGenerationMovesOnEveryPublishAndRollbackOnly() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let start = try store.aliasGeneration()
        _ = try publishVersions(2, app: "web", store: store, dir: dir)
        let afterPublish = try store.aliasGeneration()
        #expect(afterPublish == start + 2)
        _ = try store.verify()
        _ = try store.deployments(app: "web")
        #expect(try store.aliasGeneration() == afterPublish)
        try store.rollback(app: "web")
        #expect(try store.aliasGeneration() == afterPublish + 1)
    }

    @Test func aReaderInAnotherConnectionSeesTheOldOrTheNewDeploymentNeverAMix() throws {
        let dir = TemporaryDirectory()
        let writer = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        func write(version: Int) throws {
            for name in ["index.html", "a.txt", "b.txt"] {
                try dir.write("site/\(name)", "v\(version) \(name)")
            }
            try dir.write("site/large.bin", Array("v\(version) ".utf8) + Fixture.randomBytes(60_000, seed: UInt64(version)))
        }
        try write(version: 0)
        try writer.publish(PublishRequest(app: "live", directory: source, version: "0"))

        let reader = try Store.open(at: writer.path)  // its own pool, as another process would have
        let done = Atomic<Bool>(false)
        let observations = Mutex<(reads: Int, mixes: [String])>((0, []))
        let thread = Thread {
            while !done.load(ordering: .acquiring) {
                guard let manifest = try? reader.currentDeployment(app: "live"), let version = manifest.version else { continue }
                for entry in manifest.files.values {
                    let bytes = (try? reader.readBytes(entry)) ?? []
                    if !bytes.starts(with: Array("v\(version) ".utf8)) {
                        observations.withLock { $0.mixes.append("\(manifest.id) \(entry.path)") }
                    }
                }
                observations.withLock { $0.reads += 1 }
            }
        }
        thread.start()
        for version in 1...5 {
            try write(version: version)
            try writer.publish(PublishRequest(app: "live", directory: source, version: "\(version)"))
        }
        try writer.rollback(app: "live")
        done.store(true, ordering: .releasing)
        while !thread.isFinished { usleep(1000) }

        let result = observations.withLock { $0 }
        #expect(result.mixes.isEmpty)
        #expect(result.reads > 0)
        #expect(try reader.currentDeployment(app: "live")?.version == "4")
    }
}

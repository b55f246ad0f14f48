import ArtifactStore
import Foundation
import Testing
import WharfTestSupport

/// `Store.replicaState()` on an origin and `Store.importReplica` on an edge's replica: the replica
/// serves the same manifests (paths, hashes, sizes, variants, headers, ETags) with no blob bytes,
/// and a state that is malformed or inconsistent changes nothing.
@Suite struct ReplicaImportTests {
    /// An origin store with one published app.
    static func origin(
        _ dir: TemporaryDirectory,
        files: [String: String] = [
            "index.html": "<!doctype html><script src=/app.0123abcd.js></script>" + String(repeating: "<p>hello</p>", count: 200),
            "app.0123abcd.js": String(repeating: "export const x = 1;\n", count: 400),
            "logo.bin": String(repeating: "\u{1}", count: 70_000),
        ]
    ) throws -> Store {
        for (name, text) in files { try dir.file("site/" + name, text) }
        let store = try Store.open(at: dir.path + "/origin")
        try store.publish(PublishRequest(app: "demo", directory: dir.path + "/site", version: "1"))
        return store
    }

    @Test func aReplicaServesTheOriginsManifestsWithoutItsBytes() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-replica")
        defer { dir.remove() }
        let origin = try Self.origin(dir)
        let state = try origin.replicaState()
        #expect(state.aliases.map(\.app) == ["demo"])
        #expect(!state.variants.isEmpty, "compressible files have variants")

        let replica = try Store.open(at: dir.path + "/replica")
        let before = try replica.aliasGeneration()
        #expect(try replica.importReplica(state))
        #expect(try replica.aliasGeneration() > before)
        let id = try #require(try origin.currentDeploymentID(app: "demo"))
        let want = try #require(try origin.deployment(id: id))
        let got = try #require(try replica.currentDeployment(app: "demo"))
        #expect(got.files.keys.sorted() == want.files.keys.sorted())
        for (path, entry) in want.files {
            let mine = try #require(got.files[path])
            #expect(mine.blobHash == entry.blobHash && mine.size == entry.size && mine.etag == entry.etag)
            #expect(mine.contentType == entry.contentType && mine.cacheControl == entry.cacheControl)
            #expect(mine.variants == entry.variants && mine.preloadHints == entry.preloadHints)
            #expect(replica.openBlobFile(hash: entry.blobHash) == nil, "no bytes until fetched")
        }
        // The same state again changes nothing; the replica's own state round-trips.
        #expect(try replica.importReplica(state) == false)
        #expect(try replica.blobFileInventory().isEmpty)
    }

    @Test func aRollbackAndARemovedAppAreFollowed() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-replica")
        defer { dir.remove() }
        let origin = try Self.origin(dir)
        let first = try #require(try origin.currentDeploymentID(app: "demo"))
        try dir.file("site/index.html", "<p>two</p>")
        try origin.publish(PublishRequest(app: "demo", directory: dir.path + "/site", version: "2"))
        let replica = try Store.open(at: dir.path + "/replica")
        try replica.importReplica(origin.replicaState())
        #expect(try replica.currentDeployment(app: "demo")?.version == "2")
        try origin.rollback(app: "demo", to: first)
        #expect(try replica.importReplica(origin.replicaState()))
        #expect(try replica.currentDeploymentID(app: "demo") == first)
        #expect(try replica.deployments(app: "demo").count == 1, "the replica keeps only what the origin serves")
        var empty = try origin.replicaState()
        empty.aliases = []
        empty.deployments = []
        #expect(try replica.importReplica(empty))
        #expect(try replica.apps().isEmpty)
    }

    @Test func inconsistentOrMalformedStatesChangeNothing() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-replica")
        defer { dir.remove() }
        let origin = try Self.origin(dir)
        let good = try origin.replicaState()
        let replica = try Store.open(at: dir.path + "/replica")
        try replica.importReplica(good)
        let generation = try replica.aliasGeneration()
        let deployment = try replica.currentDeploymentID(app: "demo")

        var bad: [(String, ReplicaState)] = []
        var s = good
        s.format = 2
        bad.append(("format", s))
        s = good
        s.blobs[0].hash = "../../etc/passwd"
        bad.append(("hash", s))
        s = good
        s.blobs[0].hash = s.blobs[0].hash.uppercased()
        bad.append(("upper-case hash", s))
        s = good
        s.blobs[0].size = -1
        bad.append(("negative size", s))
        s = good
        s.blobs.append(ReplicaState.Blob(hash: good.blobs[0].hash, size: good.blobs[0].size + 1))
        bad.append(("two sizes", s))
        s = good
        s.blobs.removeLast()
        bad.append(("unlisted blob", s))
        s = good
        s.deployments[0].files[0].path = "relative"
        bad.append(("relative path", s))
        s = good
        s.deployments[0].files[0].path = "/a\r\nb"
        bad.append(("control path", s))
        s = good
        s.deployments[0].files[0].contentType = "text/html\r\nSet-Cookie: x=1"
        bad.append(("header injection", s))
        s = good
        s.deployments[0].files = []
        bad.append(("no files", s))
        s = good
        s.aliases[0].deployment = "nope"
        bad.append(("alias to unlisted deployment", s))
        s = good
        s.aliases[0].app = "other"
        bad.append(("alias to another app's deployment", s))
        s = good
        s.deployments[0].app = "Bad App!"
        s.aliases[0].app = "Bad App!"
        bad.append(("unsafe app name", s))
        s = good
        s.variants.append(ReplicaState.Variant(source: good.blobs[0].hash, coding: "evil", blob: good.blobs[1].hash))
        bad.append(("coding", s))
        s = good
        s.deployments.append(good.deployments[0])
        bad.append(("duplicate deployment", s))
        s = good
        s.deltas.append(.init(source: good.blobs[0].hash, dictionary: good.blobs[1].hash, coding: "br", blob: good.blobs[2].hash))
        bad.append(("delta coding", s))
        s = good
        s.variants.append(ReplicaState.Variant(source: good.blobs[0].hash, coding: "br", blob: good.blobs[0].hash))
        bad.append(("variant of itself", s))
        for (what, state) in bad {
            #expect(throws: ReplicaState.Invalid.self, "\(what)") { try replica.importReplica(state) }
            #expect(try replica.aliasGeneration() == generation, "\(what)")
            #expect(try replica.currentDeploymentID(app: "demo") == deployment, "\(what)")
        }
        // A blob the replica knows with one size cannot be re-announced with another.
        var resized = good
        resized.generation += 1
        resized.blobs = resized.blobs.map { ReplicaState.Blob(hash: $0.hash, size: $0.size + 1) }
        #expect(throws: ReplicaState.Invalid.self) { try replica.importReplica(resized) }
        #expect(try replica.aliasGeneration() == generation)
    }

    @Test func malformedDocumentsAreNotDecoded() {
        for text in [
            "", "{", "[]", "null", #"{"format":1}"#,
            #"{"format":"1","generation":0,"aliases":[],"deployments":[],"blobs":[],"variants":[],"deltas":[]}"#,
            String(repeating: "[", count: 100_000),
        ] {
            #expect(throws: (any Error).self) { try JSONDecoder().decode(ReplicaState.self, from: Data(text.utf8)) }
        }
    }
}

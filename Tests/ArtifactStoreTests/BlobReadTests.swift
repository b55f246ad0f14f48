import Foundation
import GRDB
import Synchronization
import Testing

@testable import ArtifactStore

/// The edge's miss path in the store: `body(hash:)` through `BlobRowReader` (read-only SQLite
/// connections of its own) and `InlineBlobVerifier` (inline bodies hashed once while the
/// database files are unchanged).
@Suite struct BlobReadTests {
    private func publishedStore(_ dir: TemporaryDirectory) throws -> (Store, DeploymentManifest) {
        let store = try Store.openForTest(dir)
        let source = try dir.subdirectory("site")
        try dir.write("site/index.html", "<h1>hello</h1>")
        try dir.write("site/logo.png", Fixture.randomBytes(20_000, seed: 3))
        try dir.write("site/big.bin", Fixture.randomBytes(90_000, seed: 8))
        return (store, try store.publish(PublishRequest(app: "web", directory: source)).deployment)
    }

    @Test func inlineFileAndAbsentBlobsReadAsTheCatalogueSays() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let logo = manifest.files["/logo.png"]!
        let big = manifest.files["/big.bin"]!
        #expect(try store.body(hash: logo.blobHash) == .bytes(Fixture.randomBytes(20_000, seed: 3)))
        #expect(try store.body(hash: big.blobHash) == .file(path: store.blobFiles.path(for: big.blobHash), offset: 0, length: 90_000))
        #expect(throws: StoreError.self) { try store.body(hash: String(repeating: "0", count: 64)) }
    }

    /// Hash text is bound as a parameter: quotes, NULs, SQL, megabytes of it, invalid hex all
    /// read as "no such blob", and the store is left exactly as it was.
    @Test func hostileHashesAreAbsentAndChangeNothing() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let before = try StoreSnapshot.take(store)
        let logo = manifest.files["/logo.png"]!.blobHash
        let hostile = [
            "", "'", "' OR '1'='1", "\(logo)' OR '1'='1", "x'; DELETE FROM blobs; --", "\(logo)\u{0}",
            String(logo.dropLast()), logo.uppercased(), String(repeating: "a", count: 1 << 20), "é\u{0}\u{FFFF}",
        ]
        for hash in hostile {
            #expect(throws: StoreError.self) { try store.body(hash: hash) }
        }
        #expect(try StoreSnapshot.take(store) == before)
        // The readers are still good after all those answers.
        #expect(try store.body(hash: logo) == .bytes(Fixture.randomBytes(20_000, seed: 3)))
    }

    /// Many threads at once (more than the readers kept idle) each get the right bytes, while a
    /// publish commits beside them.
    @Test func concurrentReadsGetTheirOwnBytes() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let logo = manifest.files["/logo.png"]!.blobHash
        let index = manifest.files["/index.html"]!.blobHash
        let wrong = Atomic<Int>(0)
        let threads = 16
        try dir.write("site2/index.html", "<h1>second</h1>")
        let second = dir.path + "/site2"
        let published = Atomic<Bool>(false)
        DispatchQueue.concurrentPerform(iterations: threads + 1) { i in
            if i == threads {
                if (try? store.publish(PublishRequest(app: "web", directory: second))) != nil { published.store(true, ordering: .relaxed) }
                return
            }
            for n in 0..<200 {
                let (hash, expected): (String, [UInt8]) =
                    (i + n) % 2 == 0
                    ? (logo, Fixture.randomBytes(20_000, seed: 3)) : (index, Array("<h1>hello</h1>".utf8))
                if (try? store.body(hash: hash)) != .bytes(expected) { wrong.add(1, ordering: .relaxed) }
            }
        }
        let wrongCount = wrong.load(ordering: .relaxed)
        let publishedOK = published.load(ordering: .relaxed)
        #expect(wrongCount == 0)
        #expect(publishedOK)
        #expect(try store.currentDeployment(app: "web")?.files["/index.html"] != nil)
    }

    /// A blob row removed by another connection (gc) reads as absent straight away: the reader
    /// holds no read transaction between reads.
    @Test func aDeletedRowIsSeenAtOnce() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let index = manifest.files["/index.html"]!.blobHash
        #expect(try store.body(hash: index) == .bytes(Array("<h1>hello</h1>".utf8)))
        try store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: "DELETE FROM blobs WHERE hash = ?", arguments: [index])
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        #expect(throws: StoreError.self) { try store.body(hash: index) }
    }

    @Test func inlineBytesAreHashedOnceWhileTheDatabaseIsUnchanged() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let verifier = store.inlineVerifier
        let hash = manifest.files["/index.html"]!.blobHash
        let good = Array("<h1>hello</h1>".utf8)
        let bad = Array("<h1>HELLO</h1>".utf8)
        // Never checked yet: wrong bytes are refused.
        #expect(!verifier.matches(bad, hash: hash, readSince: verifier.stamp()))
        #expect(verifier.matches(good, hash: hash, readSince: verifier.stamp()))
        // Checked and nothing written since: remembered, not hashed again. This is what the memo
        // gives up: bytes that changed without a write to the files (bit rot) pass.
        #expect(verifier.matches(bad, hash: hash, readSince: verifier.stamp()))
    }

    /// What still catches corruption with the memo: any write to the database (here the row
    /// itself, rewritten through another connection) forgets what was checked.
    @Test func aWriteToTheDatabaseForgetsWhatWasChecked() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let verifier = store.inlineVerifier
        let hash = manifest.files["/index.html"]!.blobHash
        let since = verifier.stamp()
        guard case .bytes(let first) = try store.body(hash: hash) else {
            Issue.record("not inline")
            return
        }
        #expect(verifier.matches(first, hash: hash, readSince: since))

        try store.pool.write { db in
            try db.execute(sql: "UPDATE blobs SET data = ? WHERE hash = ?", arguments: [Data("<h1>HELLO</h1>".utf8), hash])
        }
        let after = verifier.stamp()
        #expect(after != since)
        guard case .bytes(let corrupted) = try store.body(hash: hash) else {
            Issue.record("not inline")
            return
        }
        #expect(corrupted == Array("<h1>HELLO</h1>".utf8))
        #expect(!verifier.matches(corrupted, hash: hash, readSince: after))
    }

    /// Bytes read while the files changed under the read are hashed, and not remembered.
    @Test func aReadThatRacedAWriteIsNotRemembered() throws {
        let dir = TemporaryDirectory()
        let (store, manifest) = try publishedStore(dir)
        let verifier = store.inlineVerifier
        let hash = manifest.files["/index.html"]!.blobHash
        let good = Array("<h1>hello</h1>".utf8)
        let bad = Array("<h1>HELLO</h1>".utf8)
        let stale = verifier.stamp()
        try store.pool.write { db in try db.execute(sql: "UPDATE store_state SET alias_generation = alias_generation + 1") }
        #expect(verifier.stamp() != stale)
        #expect(verifier.matches(good, hash: hash, readSince: stale))
        #expect(!verifier.matches(bad, hash: hash, readSince: verifier.stamp()))
    }
}

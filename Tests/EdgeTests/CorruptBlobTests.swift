import Foundation
import Glibc
import Testing

@testable import Edge

/// A blob corrupted on disk after publishing is never served: each body is checked against its
/// SHA-256 when it is loaded into the cache (and a blob file once per process before it is sent),
/// so the client gets a 500 (HTTP/1.1) or a reset stream (HTTP/2), never the wrong bytes.
@Suite(.serialized) struct CorruptBlobTests {
    @Test func corruptedInlineAndFileBlobsAreRefusedNotServed() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let png = "/assets/logo.9c8d7e6f.png"
        let apk = "/downloads/app-release.apk"
        // The PNG (20 KB) lives inline in SQLite: zero its bytes, keeping the size.
        let database = h.root.appendingPathComponent("store/store.sqlite").path
        let update = try Command.run([
            "sqlite3", database,
            "UPDATE blobs SET data = zeroblob(size) WHERE hash = '\(EdgeHarness.sha256(h.files[png]!))';",
        ])
        #expect(update.status == 0, "\(update.stderr)")
        // The APK (3 MiB) is a blob file: flip one byte in the middle.
        let apkHash = EdgeHarness.sha256(h.files[apk]!)
        let blob = h.root.appendingPathComponent("store/blobs/\(apkHash.prefix(2))/\(apkHash.dropFirst(2))").path
        let fd = open(blob, O_WRONLY)
        #expect(fd >= 0)
        var byte: UInt8 = h.files[apk]![1_000_000] ^ 0xff
        #expect(pwrite(fd, &byte, 1, 1_000_000) == 1)
        close(fd)

        for path in [png, apk] {
            let r = try h.client(.plain).get(path, headers: ["Accept-Encoding": "identity"])
            #expect(r.status == 500, "\(path)")
            #expect(r.body != h.files[path])
        }
        // Over HTTP/2 the stream is reset: no status, no body.
        #expect(throws: (any Error).self) { _ = try TestClient(http2Port: h.tlsPort, caFile: h.caFile!).get(apk) }
        // The rest of the app is still served.
        let css = try h.client(.tls).get("/assets/style.5e6f7a8b.css", headers: ["Accept-Encoding": "identity"])
        #expect(css.status == 200)
        #expect(css.body == h.files["/assets/style.5e6f7a8b.css"])
    }

    /// Inline bodies are hashed once while the database is unchanged (`InlineBlobVerifier`):
    /// rewriting a row after it was served is a write, so the next load checks it again.
    @Test func inlineBlobCorruptedAfterItWasServedIsRefusedOnTheNextLoad() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let png = "/assets/logo.9c8d7e6f.png"
        for _ in 0..<2 {
            let r = try h.client(.plain).get(png, headers: ["Accept-Encoding": "identity"])
            #expect(r.status == 200)
            #expect(r.body == h.files[png])
            _ = h.server.cache.purge { _ in true }
        }
        let database = h.root.appendingPathComponent("store/store.sqlite").path
        let update = try Command.run([
            "sqlite3", database,
            "UPDATE blobs SET data = zeroblob(size) WHERE hash = '\(EdgeHarness.sha256(h.files[png]!))';",
        ])
        #expect(update.status == 0, "\(update.stderr)")
        let r = try h.client(.plain).get(png, headers: ["Accept-Encoding": "identity"])
        #expect(r.status == 500)
        #expect(r.body != h.files[png])
    }

    /// A blob file read into memory (under the sendfile threshold) is hashed once per process
    /// while its inode, size and time stay the same; a write to it makes the next load check again.
    @Test func blobFileReadIntoMemoryIsCheckedAgainAfterAWrite() throws {
        let h = try EdgeHarness { $0.sendfileThresholdBytes = 8 << 20 }
        defer { h.stop() }
        let apk = "/downloads/app-release.apk"
        for _ in 0..<2 {
            let r = try h.client(.plain).get(apk, headers: ["Accept-Encoding": "identity"])
            #expect(r.status == 200)
            #expect(r.body == h.files[apk])
            _ = h.server.cache.purge { _ in true }
        }
        let apkHash = EdgeHarness.sha256(h.files[apk]!)
        let blob = h.root.appendingPathComponent("store/blobs/\(apkHash.prefix(2))/\(apkHash.dropFirst(2))").path
        let fd = open(blob, O_WRONLY)
        #expect(fd >= 0)
        var byte: UInt8 = h.files[apk]![2_000_000] ^ 0xff
        #expect(pwrite(fd, &byte, 1, 2_000_000) == 1)
        close(fd)
        let r = try h.client(.plain).get(apk, headers: ["Accept-Encoding": "identity"])
        #expect(r.status == 500)
        #expect(r.body != h.files[apk])
    }
}

import ArtifactStore
import Foundation
import Synchronization
import Testing
import WharfTestSupport

@testable import Deploy

/// The upload protocol in process over a real store: manifest checks, the missing answer,
/// verified blob bodies, finalize through the publisher (promoted or not), promote later, and a
/// second manifest that shares content asking for only what changed.
@Suite struct UploadAPITests {
    final class Fixture {
        let dir: TemporaryDirectory
        let store: Store
        let api: UploadAPI
        let token: String
        var published: [String] = []

        init(limits: UploadLimits = UploadLimits()) throws {
            dir = try TemporaryDirectory(prefix: "wharf-upload")
            store = try Store.open(at: dir.path + "/store")
            token = try AppRegistryService(store: store).add("web", settings: AppSettings()).token.text
            api = try UploadAPI(store: store, limits: limits, urls: { ["http://\($0.name).test/"] })
        }

        deinit { dir.remove() }

        func request(
            _ parameters: [String: String], body: String = "", upload: (String, Int, String)? = nil,
            headers: [String: String] = [:]
        ) -> DeployRequest {
            DeployRequest(
                method: "POST", parameters: ["app": "web"].merging(parameters) { $1 }, headers: headers, body: Array(body.utf8),
                upload: upload.map { (path: $0.0, size: $0.1, sha256: $0.2) }, credential: token)
        }

        static func json(_ r: DeployResponse) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        }

        func open(_ files: [(String, String)]) -> (Int, [String: Any]) {
            let entries = files.map { #"{"path":"\#($0.0)","sha256":"\#(ContentHash.of(Array($0.1.utf8)))","size":\#($0.1.utf8.count)}"# }
            let r = api.open(request([:], body: #"{"files":[\#(entries.joined(separator: ","))],"version":"v"}"#))
            return (r.status, Self.json(r))
        }

        /// PUTs `content` as the body of its blob (through a file in the incoming directory, as the server does).
        func put(_ id: String, _ content: String, digestOf: String? = nil) throws -> Int {
            let bytes = Array(content.utf8)
            let file = api.area.incoming + "/upload-\(UUID().uuidString)"
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let hash = ContentHash.of(Array((digestOf ?? content).utf8))
            let r = api.putBlob(
                request(
                    ["id": id, "hash": hash], upload: (file, bytes.count, ContentHash.of(bytes)),
                    headers: ["content-digest": ContentDigest.header(sha256Hex: hash)]))
            try? FileManager.default.removeItem(atPath: file)
            return r.status
        }
    }

    @Test func openUploadFinalizePromote() throws {
        let f = try Fixture()
        let files = [("index.html", "<!doctype html><p>hi</p>"), ("assets/app.js", "console.log(1)"), ("copy.js", "console.log(1)")]
        let (status, opened) = f.open(files)
        #expect(status == 201)
        let id = try #require(opened["id"] as? String)
        #expect((opened["missing"] as? [String])?.count == 2)  // two distinct contents
        #expect(try f.put(id, "<!doctype html><p>hi</p>") == 201)
        #expect(try f.put(id, "<!doctype html><p>hi</p>") == 200)  // already there
        let early = f.api.finalize(f.request(["id": id], body: #"{"promote":true}"#))
        #expect(early.status == 409)
        #expect(try f.put(id, "console.log(1)") == 201)
        let done = f.api.finalize(f.request(["id": id], body: #"{"promote":false}"#))
        #expect(done.status == 200, "\(String(decoding: done.body, as: UTF8.self))")
        let deployment = try #require(Fixture.json(done)["deployment"] as? String)
        #expect(try f.store.currentDeploymentID(app: "web") == nil)
        let manifest = try #require(try f.store.deployment(id: deployment))
        #expect(manifest.files.keys.sorted() == ["/assets/app.js", "/copy.js", "/index.html"])
        #expect(manifest.version == "v")
        #expect(f.api.finalize(f.request(["id": id])).status == 409)
        #expect(f.api.promote(f.request(["id": id])).status == 200)
        #expect(try f.store.currentDeploymentID(app: "web") == deployment)
        #expect(f.api.metrics.blobsUploaded.load(ordering: .relaxed) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.api.area.root + "/blobs").isEmpty)

        // A second manifest with one changed file asks for exactly that one.
        let (_, second) = f.open([("index.html", "<!doctype html><p>bye</p>"), ("assets/app.js", "console.log(1)")])
        #expect(second["missing"] as? [String] == [ContentHash.of(Array("<!doctype html><p>bye</p>".utf8))])
    }

    @Test func anEmptyFileNeedsNoBody() throws {
        let f = try Fixture()
        let (_, opened) = f.open([("empty.txt", ""), ("index.html", "<p>x</p>")])
        let id = try #require(opened["id"] as? String)
        let empty = ContentHash.of([])
        let r = f.api.putBlob(f.request(["id": id, "hash": empty], headers: ["content-digest": ContentDigest.header(sha256Hex: empty)]))
        #expect(r.status == 201, "\(String(decoding: r.body, as: UTF8.self))")
        #expect(try f.put(id, "<p>x</p>") == 201)
        let done = f.api.finalize(f.request(["id": id], body: #"{"promote":true}"#))
        #expect(done.status == 200, "\(String(decoding: done.body, as: UTF8.self))")
        #expect(try f.store.currentDeployment(app: "web")?.files["/empty.txt"]?.size == 0)
    }

    @Test func blobBodiesMustMatchTheirHashAndTheManifest() throws {
        let f = try Fixture()
        let (_, opened) = f.open([("a.txt", "aaaa")])
        let id = try #require(opened["id"] as? String)
        #expect(try f.put(id, "bbbb", digestOf: "aaaa") == 422)  // same size, other bytes
        #expect(try f.put(id, "aaaaa", digestOf: "aaaa") == 422)  // other size
        #expect(try f.put(id, "zzzz") == 404)  // not in the manifest
        let wrongDigest = f.api.putBlob(
            f.request(
                ["id": id, "hash": ContentHash.of(Array("aaaa".utf8))],
                upload: ("/nonexistent", 4, ContentHash.of(Array("aaaa".utf8))),
                headers: ["content-digest": "sha-256=:AAAA:"]))
        #expect(wrongDigest.status == 400)
        #expect(f.api.putBlob(f.request(["id": "0123456789abcdef", "hash": ContentHash.of(Array("aaaa".utf8))])).status == 404)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.api.area.root + "/blobs").isEmpty)
    }

    @Test func manifestPathsAndQuotas() throws {
        var limits = UploadLimits()
        limits.maxFiles = 3
        limits.maxBytes = 100
        limits.maxFileBytes = 60
        let h = String(repeating: "a", count: 64)
        func status(_ body: String) -> Int {
            do {
                _ = try UploadManifest.parse(Array(body.utf8), limits: limits)
                return 200
            } catch {
                return error.status
            }
        }
        func one(_ path: String, size: Int = 1) -> String { #"{"files":[{"path":\#(path),"sha256":"\#(h)","size":\#(size)}]}"# }
        #expect(status(one(#""a/b.txt""#)) == 200)
        for bad in [
            #""../a""#, #""a/../../b""#, #""/a""#, #""a\\b""#, #""a\u0000b""#, #""a\nb""#, #""./a""#, #""a//b""#, #""a/""#, #""""#,
            #""a/.""#,
        ] {
            #expect(status(one(bad)) == 400, "\(bad)")
        }
        #expect(status(one(#""a""#, size: 61)) == 413)
        #expect(status(#"{"files":[{"path":"a","sha256":"\#(h)","size":50},{"path":"b","sha256":"\#(h)","size":51}]}"#) == 413)
        #expect(status(#"{"files":[\#((0..<4).map { #"{"path":"f\#($0)","sha256":"\#(h)","size":1}"# }.joined(separator: ","))]}"#) == 413)
        #expect(status(#"{"files":[{"path":"a","sha256":"\#(h)","size":1},{"path":"a","sha256":"\#(h)","size":1}]}"#) == 400)
        #expect(status(#"{"files":[{"path":"a","sha256":"\#(h)","size":1},{"path":"a/b","sha256":"\#(h)","size":1}]}"#) == 400)
        #expect(status(#"{"files":[{"path":"a","sha256":"\#(h.uppercased())","size":1}]}"#) == 400)
        #expect(status(#"{"files":[]}"#) == 400)
        #expect(status("{") == 400)
        #expect(status(#"{"files":[{"path":"a","sha256":"\#(h)","size":1,"mode":"0777"}]}"#) == 400)
    }

    @Test func contentDigestHeaders() {
        let hex = ContentHash.of(Array("hello".utf8))
        let header = ContentDigest.header(sha256Hex: hex)
        #expect(header == "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:")
        #expect(ContentDigest.sha256Hex(fromHeader: header) == hex)
        #expect(ContentDigest.sha256Hex(fromHeader: "md5=:abc=:, " + header) == hex)
        #expect(ContentDigest.sha256Hex(fromHeader: "sha-256=:AAAA:") == nil)
        #expect(ContentDigest.sha256Hex(fromHeader: "sha-512=:" + String(header.dropFirst(9))) == nil)
    }
}

/// `wharf gc`'s sweep of abandoned uploads: old files go, recent ones stay.
@Suite struct UploadSweepTests {
    @Test func oldUploadsAreSweptRecentOnesKept() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-sweep")
        defer { dir.remove() }
        let area = try UploadArea(storePath: dir.path)
        let old = area.root + "/blobs/" + String(repeating: "a", count: 64)
        let fresh = area.root + "/blobs/" + String(repeating: "b", count: 64)
        let session = area.root + "/sessions/0123456789abcdef.json"
        for path in [old, fresh, session] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
        try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: old)
        try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: session)
        #expect(area.sweep() == 1)
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(FileManager.default.fileExists(atPath: session))
        #expect(area.sweep(now: Date().addingTimeInterval(8 * 86_400)) == 2)
    }
}

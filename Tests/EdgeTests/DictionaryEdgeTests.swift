import ArtifactStore
import Compression
import Crypto
import Foundation
import Synchronization
import Testing

@testable import Edge

/// RFC 9842 through the real edge: two deployments of an app published into a real store, the
/// server on an ephemeral loopback port, requests over real sockets (and curl).
@Suite(.serialized) struct DictionaryEdgeTests {
    /// Two versions of an app whose script and stylesheet change by one line.
    final class TwoVersions: Sendable {
        let root: URL
        let store: Store
        let server: EdgeServer
        let oldJS: [UInt8], newJS: [UInt8], oldCSS: [UInt8], newCSS: [UInt8]
        static let newJSPath = "/assets/app.22bb33cc44.js"
        static let newCSSPath = "/assets/site.9f8e7d6c55.css"

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-dict-\(UUID().uuidString)")
            var js = ""
            for i in 0..<2000 { js += "export function f\(i)(x) { return x * \(i) + \"item-\(i)\".length; }\n" }
            var css = ""
            for i in 0..<600 { css += ".c\(i) { margin: \(i)px; color: #\(String(i * 7919 % 0xFFFFFF, radix: 16)); }\n" }
            oldJS = Array(js.utf8)
            newJS = Array(js.replacingOccurrences(of: "f1000(x) { return x * 1000", with: "f1000(x) { return x * 1001").utf8)
            oldCSS = Array(css.utf8)
            newCSS = Array((css + ".banner { color: red; }\n").utf8)
            let store = try Store.open(at: root.appendingPathComponent("store").path)
            self.store = store
            let root = self.root
            func publish(_ name: String, _ files: [String: [UInt8]]) throws {
                let dir = root.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: dir.appendingPathComponent("assets"), withIntermediateDirectories: true)
                for (path, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(String(path.dropFirst()))) }
                try store.publish(PublishRequest(app: "demo", directory: dir.path))
            }
            try publish("v1", ["/index.html": Array("<p>v1".utf8), "/assets/app.11aa22bb33.js": oldJS, "/assets/site.0a1b2c3d44.css": oldCSS])
            try publish("v2", ["/index.html": Array("<p>v2".utf8), Self.newJSPath: newJS, Self.newCSSPath: newCSS])
            var config = EdgeConfiguration()
            config.listenPort = 0
            config.workers = 2
            server = try EdgeServer(configuration: config, store: store)
            try server.start()
        }

        var port: Int { server.port }

        static func dictionaryField(_ bytes: [UInt8]) -> String {
            ":" + Data(SHA256.hash(data: bytes)).base64EncodedString() + ":"
        }

        func stop() {
            server.shutdown()
            try? FileManager.default.removeItem(at: root)
        }
    }

    static let shared: TwoVersions = try! TwoVersions()
    var h: TwoVersions { Self.shared }
    static let browserAccept = "gzip, deflate, br, zstd, dcz"

    func dictionaryRequest(
        _ path: String = TwoVersions.newJSPath, dictionary: [UInt8]? = nil, extra: [String: String] = [:],
        method: String = "GET"
    ) throws -> TestClient.Response {
        var headers = ["Accept-Encoding": Self.browserAccept, "Available-Dictionary": TwoVersions.dictionaryField(dictionary ?? h.oldJS)]
        for (k, v) in extra { headers[k] = v }
        return try TestClient(port: h.port).get(path, headers: headers, method: method)
    }

    @Test func aClientHoldingTheOldVersionGetsTheDczDeltaThatDecodesToTheNewBytes() throws {
        let r = try dictionaryRequest()
        #expect(r.status == 200)
        #expect(r.header("Content-Encoding") == "dcz")
        #expect(r.header("Vary") == "Accept-Encoding, Available-Dictionary")
        #expect(r.header("Accept-Ranges") == nil)
        #expect(r.header("Use-As-Dictionary") == #"match="app.*.js", match-dest=("script")"#)
        #expect(r.header("Cache-Control") == "max-age=31536000, immutable")
        let hash = [UInt8](SHA256.hash(data: h.oldJS))
        #expect(try DictionaryZstd.decode(r.body, dictionary: h.oldJS, dictionaryHash: hash, maxOutputBytes: 1 << 20) == h.newJS)
        let br = try TestClient(port: h.port).get(TwoVersions.newJSPath, headers: ["Accept-Encoding": "br"])
        #expect(br.header("Content-Encoding") == "br")
        #expect(br.header("Vary") == "Accept-Encoding, Available-Dictionary")
        #expect(r.header("ETag") != br.header("ETag"))
        #expect(r.body.count * 10 <= br.body.count, "dcz \(r.body.count) vs br \(br.body.count)")

        let css = try dictionaryRequest(TwoVersions.newCSSPath, dictionary: h.oldCSS)
        #expect(css.header("Content-Encoding") == "dcz")
        #expect(
            try DictionaryZstd.decode(
                css.body, dictionary: h.oldCSS, dictionaryHash: [UInt8](SHA256.hash(data: h.oldCSS)),
                maxOutputBytes: 1 << 20) == h.newCSS)
    }

    @Test func curlGetsADeltaThatTheZstdCLIDecodesWithTheOldFile() throws {
        let dir = h.root.appendingPathComponent("curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(h.oldJS).write(to: dir.appendingPathComponent("old.js"))
        let script = """
            cd '\(dir.path)' && curl -sS -D head.txt -o body.dcz \
              -H 'Accept-Encoding: br, dcz' -H 'Available-Dictionary: \(TwoVersions.dictionaryField(h.oldJS))' \
              'http://127.0.0.1:\(h.port)\(TwoVersions.newJSPath)' \
            && tail -c +41 body.dcz | zstd -q -d -D old.js -o new.js
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let head = try String(contentsOf: dir.appendingPathComponent("head.txt"), encoding: .utf8).lowercased()
        #expect(head.contains("content-encoding: dcz"))
        #expect([UInt8](try Data(contentsOf: dir.appendingPathComponent("new.js"))) == h.newJS)
    }

    @Test func unknownMalformedOrUnacceptedDictionariesFallBackToTheNormalNegotiationSilently() throws {
        let unknown = try dictionaryRequest(dictionary: Array("not a version we published".utf8))
        #expect(unknown.status == 200 && unknown.header("Content-Encoding") == "br")
        #expect(unknown.header("Vary") == "Accept-Encoding, Available-Dictionary")
        #expect(unknown.body.count > 0)
        for malformed in [
            ":abc:", "", "sha-256=:x:", String(repeating: "A", count: 4000),
            TwoVersions.dictionaryField(h.oldJS) + ", " + TwoVersions.dictionaryField(h.oldJS),
            String(TwoVersions.dictionaryField(h.oldJS).dropLast()),
        ] {
            let r = try dictionaryRequest(extra: ["Available-Dictionary": malformed])
            #expect(r.status == 200, "\(malformed.prefix(40))")
            #expect(r.header("Content-Encoding") == "br", "\(malformed.prefix(40))")
        }
        let noDcz = try dictionaryRequest(extra: ["Accept-Encoding": "gzip, br, zstd"])
        #expect(noDcz.header("Content-Encoding") == "br")
        let wildcard = try dictionaryRequest(extra: ["Accept-Encoding": "*"])
        #expect(wildcard.header("Content-Encoding") != "dcz")
        // A dictionary for another asset does not apply here.
        let otherAsset = try dictionaryRequest(TwoVersions.newCSSPath, dictionary: h.oldJS)
        #expect(otherAsset.header("Content-Encoding") == "br")
        // The old version itself is served normally (it has no delta of its own).
        let old = try dictionaryRequest("/apps/demo/assets/app.11aa22bb33.js")
        #expect(old.status == 404 || old.header("Content-Encoding") != "dcz")
    }

    @Test func headAnswersWithTheDeltasHeadAndNoBody() throws {
        let get = try dictionaryRequest()
        let head = try dictionaryRequest(method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Encoding") == "dcz")
        #expect(head.header("Content-Length") == "\(get.body.count)")
        #expect(head.header("ETag") == get.header("ETag"))
    }

    @Test func theDeltasETagRevalidatesWith304AndVaryOnlyWhenTheSameDictionaryIsOffered() throws {
        let first = try dictionaryRequest()
        let etag = try #require(first.header("ETag"))
        let again = try dictionaryRequest(extra: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.header("ETag") == etag)
        #expect(again.header("Vary") == "Accept-Encoding, Available-Dictionary")
        // Without the dictionary the selected representation is br, whose tag differs: full 200.
        let withoutDictionary = try TestClient(port: h.port).get(TwoVersions.newJSPath, headers: ["Accept-Encoding": "br", "If-None-Match": etag])
        #expect(withoutDictionary.status == 200)
        #expect(withoutDictionary.header("Content-Encoding") == "br")
    }

    @Test func aRangeRequestThatWouldGetTheDeltaGetsTheWholeDelta() throws {
        let plain = try dictionaryRequest()
        let r = try dictionaryRequest(extra: ["Range": "bytes=0-99"])
        #expect(r.status == 200)
        #expect(r.header("Content-Encoding") == "dcz")
        #expect(r.header("Accept-Ranges") == nil)
        #expect(r.header("ETag") == plain.header("ETag"))
        #expect(r.body == plain.body)
    }

    @Test func responseCacheKeysKeepTheDeltaAndTheVariantsApartOnOneConnection() throws {
        let c = try TestClient(port: h.port)
        let dictionary = TwoVersions.dictionaryField(h.oldJS)
        var codings: [String?] = []
        for round in 0..<6 {
            var headers = ["Accept-Encoding": Self.browserAccept]
            if round % 2 == 1 { headers["Available-Dictionary"] = dictionary }
            let r = try c.get(TwoVersions.newJSPath, headers: headers)
            #expect(r.status == 200)
            codings.append(r.header("Content-Encoding"))
            let body =
                r.header("Content-Encoding") == "dcz"
                ? try DictionaryZstd.decode(r.body, dictionary: h.oldJS, dictionaryHash: [UInt8](SHA256.hash(data: h.oldJS)), maxOutputBytes: 1 << 20)
                : try Decoding.decode(r.body, coding: r.header("Content-Encoding") ?? "identity")
            #expect(body == h.newJS)
        }
        #expect(codings == ["br", "dcz", "br", "dcz", "br", "dcz"])
        let cached = h.server.cache.statistics()
        #expect(cached.hits >= 4)
    }

    @Test func metricsCountDeltasServedAndTheBytesTheySaved() throws {
        let before = h.server.metrics.dictionaryResponses.load(ordering: .relaxed)
        let savedBefore = h.server.metrics.dictionaryBytesSaved.load(ordering: .relaxed)
        let r = try dictionaryRequest()
        let br = try TestClient(port: h.port).get(TwoVersions.newJSPath, headers: ["Accept-Encoding": "br"])
        // The counters are updated when the response is handed to the socket: wait for it (bounded).
        var after = before
        for _ in 0..<100 where after == before {
            after = h.server.metrics.dictionaryResponses.load(ordering: .relaxed)
            if after == before { usleep(10_000) }
        }
        #expect(after == before + 1)
        let saved = h.server.metrics.dictionaryBytesSaved.load(ordering: .relaxed) - savedBefore
        #expect(saved == br.body.count - r.body.count)
        var text = PrometheusText()
        EdgeAdminRoutes.metrics(h.server, &text)
        let rendered = text.text
        #expect(rendered.contains("wharf_dictionary_responses_total "))
        #expect(rendered.contains("wharf_dictionary_bytes_saved_total "))
        #expect(rendered.contains("wharf_http_responses_by_encoding_total{encoding=\"dcz\"}"))
    }
}

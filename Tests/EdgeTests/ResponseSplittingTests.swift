import ArtifactStore
import Foundation
import Synchronization
import Testing

@testable import Edge

/// One CR/LF rule on both listeners (HTTPCore's `ResponseFieldLine`): a header value holding CR,
/// LF or NUL, or a name that is not a token, leaves its field out, so a hostile value cannot add a
/// field or a second response. Each case pipelines a second request on the same connection and
/// reads everything the server sent: exactly two responses, the injected text nowhere.
@Suite struct ResponseSplittingTests {
    static let hostileHeaders: [AdminRequest.Header] = [
        .init(name: "X-Echo", value: "a\r\nSet-Cookie: evil=1"),
        .init(name: "X-Lone-LF", value: "a\nSet-Cookie: evil=2"),
        .init(name: "X-Nul", value: "a\u{0}Set-Cookie: evil=3"),
        .init(name: "Set-Cookie: evil=4\r\nX-Name", value: "v"),
        .init(name: "X-Second-Response", value: "\r\n\r\nHTTP/1.1 200 OK\r\nSet-Cookie: evil=5\r\n\r\n"),
        .init(name: "X-Ok", value: "fine"),
    ]

    static func pipelined(_ path: String, extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: x\r\n\(extra)\r\n" + "GET \(path) HTTP/1.1\r\nHost: x\r\n\(extra)Connection: close\r\n\r\n"
    }

    static func occurrences(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test func anAdminHandlersHostileHeaderValuesCannotSplitTheResponse() throws {
        let admin = AdminServer(port: 0, token: AdminToken("secret"))
        try admin.routes.register("GET", "/_wharf/api/hostile") { _ in
            var response = AdminResponse(status: 200, body: Array("body\n".utf8), contentType: "text/plain\r\nSet-Cookie: evil=6")
            response.headers = ResponseSplittingTests.hostileHeaders
            return response
        }
        try admin.start()
        defer { admin.shutdown() }
        let client = try TestClient(port: admin.port)
        try client.send(Self.pipelined("/_wharf/api/hostile", extra: "Authorization: Bearer secret\r\n"))
        let text = String(decoding: try client.readRawToEnd(), as: UTF8.self)
        #expect(Self.occurrences("HTTP/1.1 200 OK\r\n", in: text) == 2, "\(text)")
        #expect(Self.occurrences("\r\nX-Ok: fine\r\n", in: text) == 2)
        #expect(Self.occurrences("body\n", in: text) == 2)
        #expect(!text.contains("evil"), "\(text)")
        #expect(!text.contains("X-Echo") && !text.contains("X-Nul") && !text.contains("\r\nContent-Type:"), "\(text)")
    }

    /// A streamed admin response writes its head through the same rule.
    @Test func aStreamedAdminResponsesHostileHeaderValuesAreLeftOut() throws {
        final class Once: AdminBodyStream {
            let sent = Atomic(false)
            func next() throws -> AdminStreamChunk {
                sent.exchange(true, ordering: .relaxed) ? .end : .bytes(Array("streamed\n".utf8))
            }
        }
        let admin = AdminServer(port: 0, token: AdminToken("secret"))
        try admin.routes.register("GET", "/_wharf/api/hostile-stream") { _ in
            var response = AdminResponse(status: 200, body: [], contentType: "text/plain")
            response.headers = ResponseSplittingTests.hostileHeaders
            response.stream = Once()
            return response
        }
        try admin.start()
        defer { admin.shutdown() }
        let client = try TestClient(port: admin.port)
        try client.send("GET /_wharf/api/hostile-stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n")
        let text = String(decoding: try client.readRawToEnd(), as: UTF8.self)
        #expect(Self.occurrences("HTTP/1.1 200 OK\r\n", in: text) == 1, "\(text)")
        #expect(text.contains("\r\nX-Ok: fine\r\n") && text.contains("streamed\n"))
        #expect(!text.contains("evil"), "\(text)")
    }

    /// The edge's heads come from the stored manifest: a store altered behind the publisher's back
    /// (a content type with CR LF written straight into its SQLite file) cannot split them either.
    @Test func aHostileContentTypeInTheStoredManifestCannotSplitTheEdgesResponse() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-split-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let app = root.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        try Data("<!doctype html><title>t</title>".utf8).write(to: app.appendingPathComponent("index.html"))
        try Data("User-agent: *\n".utf8).write(to: app.appendingPathComponent("robots.txt"))
        do {
            let publisher = try Store.open(at: root.appendingPathComponent("store").path)
            try publisher.publish(PublishRequest(app: "demo", directory: app.path, version: "v1", message: nil, metadata: [:]))
        }
        let tamper = try Command.run([
            "sqlite3", root.appendingPathComponent("store/store.sqlite").path,
            "UPDATE files SET content_type = 'text/plain' || char(13, 10) || 'Set-Cookie: evil=1' WHERE path = '/robots.txt'",
        ])
        #expect(tamper.status == 0, "\(tamper.stderr)")
        // A store opened afresh (the publisher's keeps what it published in memory).
        let store = try Store.open(at: root.appendingPathComponent("store").path)

        var config = EdgeConfiguration()
        config.listenPort = 0
        config.workers = 1
        let server = try EdgeServer(configuration: config, store: store)
        try server.start()
        defer { server.shutdown() }
        let stored = server.catalog.snapshot.apps["demo"]?.files["/robots.txt"]?.entry.contentType
        #expect(stored.map { Array($0.utf8).contains(13) } == true, "the tampered value reached the edge: \(String(describing: stored))")

        for extra in ["", "Range: bytes=0-3\r\n"] {
            let client = try TestClient(port: server.port)
            try client.send(Self.pipelined("/apps/demo/robots.txt", extra: extra))
            let text = String(decoding: try client.readRawToEnd(), as: UTF8.self)
            #expect(Self.occurrences("HTTP/1.1 ", in: text) == 2, "\(text)")
            #expect(Self.occurrences(extra.isEmpty ? "User-agent: *\n" : "User", in: text) == 2, "\(text)")
            #expect(!text.contains("evil"), "\(text)")
        }
    }
}

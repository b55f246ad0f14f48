import ArtifactStore
import Foundation

@testable import Edge

/// A real edge (EdgeHarness: store with the fixture app published) plus its real admin server
/// on an ephemeral loopback port, with a random token.
final class AdminHarness: Sendable {
    let edge: EdgeHarness
    let admin: AdminServer
    let token: String

    init(configure: (inout EdgeConfiguration) -> Void = { _ in }) throws {
        edge = try EdgeHarness { config in
            config.adminPort = 0
            configure(&config)
        }
        token = AdminToken.generate()
        admin = AdminServer(edge: edge.server, token: AdminToken(token))
        try admin.start()
    }

    var port: Int { admin.port }
    var store: Store { edge.store }
    var cache: ResponseCache { edge.server.cache }

    /// Publishes the fixture app again with `/index.html` replaced by `html`; returns the id.
    @discardableResult
    func publishVersion(_ version: String, html: String) throws -> String {
        let app = edge.root.appendingPathComponent("app")
        try Data(html.utf8).write(to: app.appendingPathComponent("index.html"))
        return try store.publish(PublishRequest(app: "demo", directory: app.path, version: version, message: nil, metadata: [:])).deployment.id
    }

    /// One request with the token (unless `token` is given: "" sends none).
    func call(
        _ method: String, _ path: String, body: String? = nil, token: String? = nil,
        headers: [String: String] = [:]
    ) throws -> TestClient.Response {
        let client = try TestClient(port: port)
        return try client.request(method, path, body: body.map { Array($0.utf8) }, token: token ?? self.token, headers: headers)
    }

    /// The parsed JSON object of a response body.
    static func json(_ r: TestClient.Response) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(r.body))
        guard let dict = object as? [String: Any] else { throw TestClient.ClientError.malformed(r.text) }
        return dict
    }

    /// The edge records a response's metrics just after handing it to the socket, so a client
    /// can see the response first: poll (bounded) until `condition` holds.
    static func eventually(seconds: Double = 2, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            usleep(10_000)
        }
    }

    func stop() {
        admin.shutdown()
        edge.stop()
    }
}

extension TestClient {
    /// A request with an optional body (Content-Length) and bearer token ("" sends none).
    func request(
        _ method: String, _ path: String, body: [UInt8]? = nil, token: String = "",
        headers: [String: String] = [:]
    ) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        if !token.isEmpty { head += "Authorization: Bearer \(token)\r\n" }
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
        return try readResponse(head: method == "HEAD")
    }
}

import ArtifactStore
import Edge
import Foundation
import WharfTestSupport

/// A real edge on an ephemeral loopback port over a real store holding a published fixture app
/// (`demo`: an HTML entry point, a hashed JS and CSS file large enough to get compressed
/// variants, a PNG, robots.txt): what the wiring under test is started beside.
final class WiringEdge: Sendable {
    let directory: TemporaryDirectory
    var root: URL { URL(fileURLWithPath: directory.path) }
    let store: Store
    let server: EdgeServer
    var port: Int { server.port }
    /// Fixture files by URL path.
    let files: [String: [UInt8]]

    init(configure: (inout EdgeConfiguration) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory(prefix: "wharf-wiring")
        let root = URL(fileURLWithPath: directory.path)
        var js = ""
        for i in 0..<1500 { js += "export function f\(i)(x) { return x * \(i) + \"item-\(i)\".length; }\n" }
        var css = ""
        for i in 0..<400 { css += ".c\(i) { margin: \(i)px; color: #\(String(i, radix: 16)); }\n" }
        var rng = SeededRandom(seed: 14)
        let files: [String: [UInt8]] = [
            "/index.html": Array(
                """
                <!doctype html><html><head><meta charset="utf-8"><title>fixture</title>
                <link rel="stylesheet" href="/assets/style.5e6f7a8b.css">
                <script type="module" src="/assets/app.1a2b3c4d.js"></script>
                </head><body><h1>Fixture</h1></body></html>
                """.utf8),
            "/assets/app.1a2b3c4d.js": Array(js.utf8),
            "/assets/style.5e6f7a8b.css": Array(css.utf8),
            "/assets/logo.9c8d7e6f.png": (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) },
            "/robots.txt": Array("User-agent: *\n".utf8),
        ]
        let app = root.appendingPathComponent("app")
        for (path, bytes) in files {
            let url = app.appendingPathComponent(String(path.dropFirst()))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        self.files = files
        store = try Store.open(at: root.appendingPathComponent("store").path)
        try store.publish(PublishRequest(app: "demo", directory: app.path, version: "v1", message: nil, metadata: [:]))
        var config = EdgeConfiguration()
        config.listenPort = 0
        config.workers = 2
        config.sendfileThresholdBytes = 1 << 20
        config.aliasPollMs = 50
        configure(&config)
        server = try EdgeServer(configuration: config, store: store)
        try server.start()
    }

    func stop() {
        server.shutdown()
        directory.remove()
    }
}

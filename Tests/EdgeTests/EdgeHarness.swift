import ArtifactStore
import Crypto
import Foundation
import Glibc
@testable import Edge

/// A real edge on an ephemeral loopback port over a real store holding a published fixture app.
final class EdgeHarness: Sendable {
    let root: URL
    let store: Store
    let server: EdgeServer
    var port: Int { server.port }
    /// Fixture files by URL path.
    let files: [String: [UInt8]]

    static let html = """
    <!doctype html><html><head><meta charset="utf-8"><title>fixture</title>
    <link rel="stylesheet" href="/assets/style.5e6f7a8b.css">
    <script type="module" src="/assets/app.1a2b3c4d.js"></script>
    </head><body><h1>Fixture</h1></body></html>
    """

    init(configure: (inout EdgeConfiguration) -> Void = { _ in }) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-edge-\(UUID().uuidString)")
        let app = root.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app.appendingPathComponent("assets"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: app.appendingPathComponent("downloads"), withIntermediateDirectories: true)
        var js = ""
        for i in 0..<1500 { js += "export function f\(i)(x) { return x * \(i) + \"item-\(i)\".length; }\n" }
        var css = ""
        for i in 0..<400 { css += ".c\(i) { margin: \(i)px; color: #\(String(i, radix: 16)); }\n" }
        let png = EdgeHarness.randomBytes(20_000)
        let wasm = EdgeHarness.randomBytes(3 << 20)
        var files: [String: [UInt8]] = [
            "/index.html": Array(EdgeHarness.html.utf8),
            "/assets/app.1a2b3c4d.js": Array(js.utf8),
            "/assets/style.5e6f7a8b.css": Array(css.utf8),
            "/assets/logo.9c8d7e6f.png": png,
            "/downloads/app-release.apk": wasm,
        ]
        files["/robots.txt"] = Array("User-agent: *\n".utf8)
        for (path, bytes) in files {
            try Data(bytes).write(to: app.appendingPathComponent(String(path.dropFirst())))
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
        try? FileManager.default.removeItem(at: root)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let fd = open("/dev/urandom", O_RDONLY)
        defer { close(fd) }
        bytes.withUnsafeMutableBytes { p in
            var filled = 0
            while filled < count {
                let n = read(fd, p.baseAddress! + filled, count - filled)
                if n > 0 { filled += n }
            }
        }
        return bytes
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

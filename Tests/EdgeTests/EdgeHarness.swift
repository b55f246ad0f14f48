import ArtifactStore
import Crypto
import Foundation
import Glibc
import TLS

@testable import Edge

/// A real edge on an ephemeral loopback port over a real store holding a published fixture app.
final class EdgeHarness: Sendable {
    let root: URL
    let store: Store
    let server: EdgeServer
    var port: Int { server.port }
    /// Fixture files by URL path.
    let files: [String: [UInt8]]
    /// With `tls: true`: the CA that signed the edge's certificate (for `localhost`, 127.0.0.1,
    /// ::1), its PEM file for curl/openssl/Python, and a client context trusting it.
    let caFile: String?
    let tlsClient: TLSClientContext?
    var tlsPort: Int { server.tlsPort }

    /// A client on the plain or the TLS listener (the same HTTP cases run through both).
    func client(_ via: Listener, timeoutSeconds: Int = 10) throws -> TestClient {
        switch via {
        case .plain: try TestClient(port: port, timeoutSeconds: timeoutSeconds)
        case .tls: try TestClient(port: tlsPort, tls: tlsClient!, timeoutSeconds: timeoutSeconds)
        case .h2: try TestClient(http2Port: tlsPort, caFile: caFile!, timeoutSeconds: timeoutSeconds)
        }
    }

    static let html = """
        <!doctype html><html><head><meta charset="utf-8"><title>fixture</title>
        <link rel="stylesheet" href="/assets/style.5e6f7a8b.css">
        <script type="module" src="/assets/app.1a2b3c4d.js"></script>
        </head><body><h1>Fixture</h1></body></html>
        """

    /// - Parameters:
    ///   - tls: also listen for HTTPS with certificates from a fresh test CA (`caFile`; its key
    ///     is beside it as `ca-key.pem`).
    ///   - certificateNames: the names of each certificate to issue; the first is the default.
    init(
        tls: Bool = false, certificateNames: [[String]] = [["localhost", "127.0.0.1", "::1"]],
        configure: (inout EdgeConfiguration) -> Void = { _ in }
    ) throws {
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
        if tls {
            let issuer = try CertificateIssuer(commonName: "Wharf test CA")
            let ca = root.appendingPathComponent("ca.pem").path
            try DevelopmentCertificates.writeFile(ca, issuer.authority.certificatePEM, mode: 0o644)
            try DevelopmentCertificates.writeFile(root.appendingPathComponent("ca-key.pem").path, issuer.authority.privateKeyPEM, mode: 0o600)
            var t = EdgeTLSConfiguration()
            t.listenPort = 0
            for (index, names) in certificateNames.enumerated() {
                let leaf = try issuer.issueServerCertificate(names: names)
                let files = TLSCertificateFiles(
                    certificateChainPath: root.appendingPathComponent("cert\(index).pem").path,
                    privateKeyPath: root.appendingPathComponent("cert\(index)-key.pem").path)
                try DevelopmentCertificates.writeFile(files.certificateChainPath, leaf.certificatePEM, mode: 0o644)
                try DevelopmentCertificates.writeFile(files.privateKeyPath, leaf.privateKeyPEM, mode: 0o600)
                t.certificates.append(files)
            }
            config.tls = t
            caFile = ca
            tlsClient = try TLSClientContext(trustedCAFile: ca)
        } else {
            caFile = nil
            tlsClient = nil
        }
        config.listenPort = 0
        config.workers = 2
        config.sendfileThresholdBytes = 1 << 20
        config.aliasPollMs = 50
        configure(&config)
        server = try EdgeServer(configuration: config, store: store)
        try server.start()
    }

    /// Which listener a test talks to.
    enum Listener: String, CaseIterable, Sendable, CustomStringConvertible {
        /// HTTP/1.1 in clear, HTTP/1.1 over TLS, HTTP/2 over TLS (ALPN h2).
        case plain, tls, h2
        /// The HTTP/1.1 listeners: cases that speak HTTP/1.1 bytes on the socket.
        static let allCases: [Listener] = [.plain, .tls]
        /// Every protocol: cases written against `TestClient.get`, whose semantics HTTP/2 shares.
        static let everyProtocol: [Listener] = [.plain, .tls, .h2]
        var description: String { rawValue }
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

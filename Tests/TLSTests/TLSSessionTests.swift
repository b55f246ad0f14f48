import Foundation
import TLS
import Testing

/// Fixture certificates made with the real issuer in a temporary directory.
final class CertificateFixture: @unchecked Sendable {
    let directory: String
    let issuer: CertificateIssuer
    var caFile: String { directory + "/ca.pem" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        issuer = try CertificateIssuer(commonName: "Wharf test CA")
        try DevelopmentCertificates.writeFile(caFile, issuer.authority.certificatePEM, mode: 0o644)
    }

    /// Issues and writes a server certificate for `names`; returns its files.
    func certificate(_ label: String, names: [String], notBeforeOffset: Int = -3600, notAfterOffset: Int = 86400) throws -> TLSCertificateFiles {
        let issued = try issuer.issueServerCertificate(names: names, notBeforeOffset: notBeforeOffset, notAfterOffset: notAfterOffset)
        let files = TLSCertificateFiles(certificateChainPath: "\(directory)/\(label).pem", privateKeyPath: "\(directory)/\(label)-key.pem")
        try DevelopmentCertificates.writeFile(files.certificateChainPath, issued.certificatePEM, mode: 0o644)
        try DevelopmentCertificates.writeFile(files.privateKeyPath, issued.privateKeyPEM, mode: 0o600)
        return files
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

/// Moves bytes between a client and a server session until neither has output.
func pump(_ client: TLSSession, _ server: TLSSession, clientReceived: inout [UInt8], serverReceived: inout [UInt8]) {
    var rounds = 0
    client.receive(nil) { clientReceived.append(contentsOf: $0) }
    while (client.hasOutput || server.hasOutput) && rounds < 20 {
        rounds += 1
        let toServer = client.takeOutput()
        _ = toServer.withUnsafeBytes { bytes in server.receive(bytes) { serverReceived.append(contentsOf: $0) } }
        let toClient = server.takeOutput()
        _ = toClient.withUnsafeBytes { bytes in client.receive(bytes) { clientReceived.append(contentsOf: $0) } }
    }
}

@Suite struct TLSSessionTests {
    @Test func aClientAndAServerHandshakeOverMemoryAndExchangeRecords() throws {
        let f = try CertificateFixture()
        let server = try TLSServerContext(certificates: [f.certificate("localhost", names: ["localhost", "127.0.0.1"])])
        let client = try TLSClientContext(trustedCAFile: f.caFile)
        let c = client.makeSession(serverName: "localhost")
        let s = server.makeSession()
        var fromServer: [UInt8] = []
        var fromClient: [UInt8] = []
        pump(c, s, clientReceived: &fromServer, serverReceived: &fromClient)
        #expect(c.state == .established)
        #expect(s.state == .established)
        #expect(s.protocolVersion == "TLSv1.3")
        #expect(s.applicationProtocol == "http/1.1")
        #expect(s.serverName == "localhost")
        let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        try request.withUnsafeBytes { try c.encrypt($0) }
        let response = Array(repeating: UInt8(ascii: "x"), count: 100_000)
        try response.withUnsafeBytes { try s.encrypt($0) }
        pump(c, s, clientReceived: &fromServer, serverReceived: &fromClient)
        #expect(fromClient == request)
        #expect(fromServer == response)
        s.shutdown()
        pump(c, s, clientReceived: &fromServer, serverReceived: &fromClient)
        #expect(c.state == .closedByPeer)
    }

    @Test func sniPicksTheCertificateWhoseNamesMatchAndUnknownNamesGetTheDefault() throws {
        let f = try CertificateFixture()
        let server = try TLSServerContext(certificates: [
            f.certificate("default", names: ["localhost"]),
            f.certificate("a", names: ["a.example.test"]),
            f.certificate("wild", names: ["*.apps.example.test"]),
        ])
        #expect(server.certificates.map(\.names) == [["localhost"], ["a.example.test"], ["*.apps.example.test"]])
        func peerNames(_ host: String) throws -> [String] {
            // Verification is on: a wrong certificate would fail the handshake, so check the state too.
            let c = try TLSClientContext(trustedCAFile: f.caFile).makeSession(serverName: host)
            let s = server.makeSession()
            var a: [UInt8] = []
            var b: [UInt8] = []
            pump(c, s, clientReceived: &a, serverReceived: &b)
            return c.state == .established ? c.peerCertificateNames : ["failed: \(c.state)"]
        }
        #expect(try peerNames("a.example.test") == ["a.example.test"])
        #expect(try peerNames("shop.apps.example.test") == ["*.apps.example.test"])
        #expect(try peerNames("localhost") == ["localhost"])
        // An unknown name gets the default certificate (and so fails the client's name check).
        #expect(try peerNames("other.example.test").first?.hasPrefix("failed") == true)
    }

    @Test func aRenegotiationRequestFailsTheServerSessionSoTheConnectionCloses() throws {
        let f = try CertificateFixture()
        let server = try TLSServerContext(certificates: [f.certificate("localhost", names: ["localhost"])])
        let client = try TLSClientContext(trustedCAFile: f.caFile, tls12Only: true)
        let c = client.makeSession(serverName: "localhost")
        let s = server.makeSession()
        var fromServer: [UInt8] = []
        var fromClient: [UInt8] = []
        pump(c, s, clientReceived: &fromServer, serverReceived: &fromClient)
        #expect(s.state == .established && s.protocolVersion == "TLSv1.2")
        #expect(c.requestRenegotiation())
        pump(c, s, clientReceived: &fromServer, serverReceived: &fromClient)
        guard case .failed(let error) = s.state else {
            Issue.record("the server session is still \(s.state) after a renegotiation request")
            return
        }
        #expect(error.description.contains("renegotiation refused"))
        // An established session that is not asked keeps working.
        let other = client.makeSession(serverName: "localhost")
        let t = server.makeSession()
        pump(other, t, clientReceived: &fromServer, serverReceived: &fromClient)
        #expect(t.state == .established)
    }

    @Test func garbageInsteadOfAClientHelloFailsTheSession() throws {
        let f = try CertificateFixture()
        let server = try TLSServerContext(certificates: [f.certificate("localhost", names: ["localhost"])])
        func failure(_ bytes: [UInt8]) -> (TLSError?, [UInt8]) {
            let s = server.makeSession()
            let state = bytes.withUnsafeBytes { s.receive($0) { _ in Issue.record("no plaintext expected") } }
            guard case .failed(let error) = state else { return (nil, s.takeOutput()) }
            return (error, s.takeOutput())
        }
        // Plain HTTP on the TLS port: OpenSSL recognises it and fails without an alert.
        let (http, _) = failure(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(http?.reason.contains("http request") == true)
        // A handshake record whose ClientHello is malformed: a fatal alert to send (RFC 8446 §6).
        let (malformed, alert) = failure([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef])
        #expect(malformed != nil)
        #expect(alert.first == 21)  // ContentType alert (RFC 8446 §5.1)
        #expect(alert.count >= 7 && alert[5] == 2)  // level fatal
    }

    @Test func badCertificatesAreRefusedWithTheFileAndTheReason() throws {
        let f = try CertificateFixture()
        let good = try f.certificate("good", names: ["localhost"])
        let other = try f.certificate("other", names: ["localhost"])
        let expired = try f.certificate("expired", names: ["localhost"], notBeforeOffset: -172_800, notAfterOffset: -86400)
        func reason(_ files: TLSCertificateFiles) -> String {
            do {
                _ = try TLSServerContext(certificates: [files])
                return "accepted"
            } catch { return error.reason }
        }
        let mismatched = reason(TLSCertificateFiles(certificateChainPath: good.certificateChainPath, privateKeyPath: other.privateKeyPath))
        #expect(mismatched.contains(other.privateKeyPath) && mismatched.contains("values mismatch"))
        let missing = reason(TLSCertificateFiles(certificateChainPath: f.directory + "/none.pem", privateKeyPath: good.privateKeyPath))
        #expect(missing == "\(f.directory)/none.pem: cannot read the certificate (No such file or directory)")
        let expiredReason = reason(expired)
        #expect(expiredReason.hasPrefix("\(expired.certificateChainPath): certificate expired at "))
        let notPEM = reason(TLSCertificateFiles(certificateChainPath: good.privateKeyPath, privateKeyPath: good.privateKeyPath))
        #expect(notPEM.hasPrefix("\(good.privateKeyPath): not a usable PEM certificate chain"))
        #expect(reason(good) == "accepted")
    }

    @Test func developmentCertificatesAreCreatedOnceWithPrivateKeyFiles0600() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-dev-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (paths, created) = try DevelopmentCertificates.ensure(in: dir)
        #expect(created)
        for key in [paths.key, paths.caKey] {
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: paths.certificate))
        let (_, again) = try DevelopmentCertificates.ensure(in: dir)
        #expect(!again)
        #expect(try Data(contentsOf: URL(fileURLWithPath: paths.certificate)) == before)
        let server = try TLSServerContext(certificates: [paths.files])
        #expect(server.certificates[0].names == ["localhost", "127.0.0.1", "::1"])
        // A client trusting only the generated CA accepts the certificate for each name.
        for host in ["localhost", "127.0.0.1", "::1"] {
            let c = try TLSClientContext(trustedCAFile: paths.caCertificate).makeSession(serverName: host)
            let s = server.makeSession()
            var a: [UInt8] = []
            var b: [UInt8] = []
            pump(c, s, clientReceived: &a, serverReceived: &b)
            #expect(c.state == .established, "\(host)")
        }
    }

    @Test func ticketKeysSurviveAReloadOfTheContext() throws {
        let f = try CertificateFixture()
        let files = try f.certificate("localhost", names: ["localhost"])
        let first = try TLSServerContext(certificates: [files])
        let second = try TLSServerContext(certificates: [files], previous: first)
        #expect(first.ticketKeyFingerprint == second.ticketKeyFingerprint)
        let unrelated = try TLSServerContext(certificates: [files])
        #expect(unrelated.ticketKeyFingerprint != first.ticketKeyFingerprint)
    }
}

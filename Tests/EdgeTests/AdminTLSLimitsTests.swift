import Foundation
import Testing

@testable import Edge

/// The admin listener over TLS keeps the connection core's rules as the edge's TLS port does: over
/// the cap a connection is closed before any handshake (no plaintext 503 on a TLS port), and a
/// handshake that never finishes is closed at the request timeout.
@Suite struct AdminTLSLimitsTests {
    func admin(_ h: EdgeHarness, _ configure: (inout AdminServer.Limits) -> Void) throws -> AdminServer {
        var limits = AdminServer.Limits()
        configure(&limits)
        let admin = AdminServer(port: 0, token: AdminToken("secret"), limits: limits)
        admin.useTLS(try #require(h.server.currentTLSContext))
        try admin.start()
        return admin
    }

    @Test func overTheCapATLSConnectionIsClosedWithoutAPlaintextAnswer() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let admin = try admin(h) { $0.maxConnections = 1 }
        defer { admin.shutdown() }
        let first = try TestClient(port: admin.port, tls: h.tlsClient!)
        #expect(try first.request("GET", "/_wharf/health").status == 200)
        // A second handshake is refused by a close.
        #expect(throws: (any Error).self) { try TestClient(port: admin.port, tls: h.tlsClient!, timeoutSeconds: 5) }
        let raw = try TestClient(port: admin.port, timeoutSeconds: 5)
        #expect(try raw.readRawToEnd().isEmpty, "not a byte of plaintext on a TLS port")
        // The first connection is still served.
        #expect(try first.request("GET", "/_wharf/health").status == 200)
    }

    @Test func aHandshakeThatNeverFinishesIsClosedAtTheRequestTimeout() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let admin = try admin(h) { $0.requestTimeoutMs = 300 }
        defer { admin.shutdown() }
        let silent = try TestClient(port: admin.port, timeoutSeconds: 10)
        let started = Date()
        let answer = try silent.readRawToEnd()
        let waited = Date().timeIntervalSince(started)
        #expect(answer.isEmpty)
        // The admin loop sweeps once a second: closed between the timeout and two ticks later.
        #expect(waited >= 0.3 && waited < 6, "closed after \(waited) s")
        #expect(try TestClient(port: admin.port, tls: h.tlsClient!).request("GET", "/_wharf/health").status == 200)
    }
}

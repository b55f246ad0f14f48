import Foundation
import Testing

@testable import TLS

/// The SNI callback remembers which certificate each server name got: the answer must be the same
/// from the cache as from the certificates, and hostile names must not grow it without bound.
@Suite struct ServerNameCacheTests {
    @Test func aRememberedNameGetsTheSameCertificateAndAnUnknownNameIsStillRefused() throws {
        let f = try CertificateFixture()
        let server = try TLSServerContext(
            certificates: [
                f.certificate("default", names: ["localhost"]),
                f.certificate("a", names: ["a.example.test"]),
                f.certificate("wild", names: ["*.apps.example.test"]),
            ], rejectUnknownServerNames: true)
        func handshake(_ host: String) throws -> String {
            let c = try TLSClientContext(trustedCAFile: f.caFile).makeSession(serverName: host)
            let s = server.makeSession()
            var a: [UInt8] = []
            var b: [UInt8] = []
            pump(c, s, clientReceived: &a, serverReceived: &b)
            return c.state == .established ? c.peerCertificateNames.joined(separator: ",") : "refused"
        }
        // Twice each: the first answer comes from the certificates, the second from the cache.
        for _ in 0..<2 {
            #expect(try handshake("a.example.test") == "a.example.test")
            #expect(try handshake("shop.apps.example.test") == "*.apps.example.test")
            #expect(try handshake("localhost") == "localhost")
            #expect(try handshake("other.example.test") == "refused")
        }
        #expect(server.cachedServerNameCount == 4)
    }

    @Test func aFloodOfDistinctNamesKeepsTheCacheBoundedAndAnswersRight() throws {
        let f = try CertificateFixture()
        let server = try TLSServerContext(
            certificates: [
                f.certificate("default", names: ["localhost"]),
                f.certificate("wild", names: ["*.apps.example.test"]),
            ], rejectUnknownServerNames: true)
        for index in 0..<5_000 {
            // Hostile: random unknown names, long names, and names under the wildcard.
            let name = index % 2 == 0 ? "h\(index)-\(UUID().uuidString).example.test" : "s\(index).apps.example.test"
            let entry = server.cachedEntry(forServerName: name)
            #expect((entry == nil) == (index % 2 == 0))
            #expect(server.cachedServerNameCount <= TLSServerContext.serverNameCacheLimit)
        }
        let long = String(repeating: "x", count: 300) + ".apps.example.test"  // a DNS label over 63 bytes
        #expect(server.cachedEntry(forServerName: long) === server.entry(forServerName: long))
        #expect(server.cachedEntry(forServerName: "localhost") === server.entries[0])
        #expect(server.cachedEntry(forServerName: "x.apps.example.test") === server.entries[1])
        #expect(server.cachedEntry(forServerName: "x.apps.example.test") === server.entries[1])
    }
}

import Foundation
import Testing

@testable import Edge

/// The dashboard on an admin listener served over TLS, with curl: the session cookie gets
/// `Secure`, and an `Origin` must be the https one.
@Suite struct DashboardTLSTests {
    @Test func overTLSTheCookieIsSecureAndOnlyTheHTTPSOriginMayPost() throws {
        let h = try EdgeHarness(tls: true) { $0.adminPort = 0 }
        defer { h.stop() }
        let admin = AdminServer(edge: h.server, token: AdminToken("secret-token"))
        admin.useTLS(try #require(h.server.currentTLSContext))
        try admin.start()
        defer { admin.shutdown() }
        let base = "https://localhost:\(admin.port)"
        let curl = ["curl", "-sS", "--cacert", h.caFile!]

        let signIn = try Command.run(curl + ["-D", "-", "-o", "/dev/null", "--data", "token=secret-token", base + "/_wharf/session"])
        let cookieLine = try #require(signIn.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }, "\(signIn)")
        #expect(cookieLine.contains("; Secure") && cookieLine.contains("; HttpOnly") && cookieLine.contains("; SameSite=Strict"))
        let id = try #require(cookieLine.firstMatch(of: /wharf_session=([0-9a-f]{64})/)?.1)
        let cookie = "Cookie: wharf_session=\(id)"

        let page = try Command.run(curl + ["-H", cookie, base + "/_wharf/ui/apps"])
        let csrf = try #require(page.stdout.firstMatch(of: /name="wharf-csrf" content="([0-9a-f]{64})"/)?.1, "\(page)")
        func purge(origin: String) throws -> String {
            try Command.run(
                curl + [
                    "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", cookie,
                    "-H", "X-Wharf-CSRF: \(csrf)", "-H", "Origin: \(origin)", base + "/_wharf/api/apps/demo/purge",
                ]
            ).stdout
        }
        #expect(try purge(origin: "http://localhost:\(admin.port)") == "403", "the plain-HTTP origin of the same host and port")
        #expect(try purge(origin: "https://localhost:\(admin.port)") == "200")
    }
}

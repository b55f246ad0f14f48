import ArtifactStore
import Foundation
import Synchronization
import Testing

@testable import Edge

/// The dashboard's sign-in, pages and session-authenticated API calls on a real admin server
/// next to a real edge, over real sockets: the attacks (no cookie, forged cookie, planted
/// cookie, cross-site and token-less mutations, read-only mutations, brute force) and the way in.
@Suite(.serialized) struct DashboardSessionTests {
    static let shared: AdminHarness = {
        let h = try! AdminHarness()
        h.admin.dashboard.useReadToken(AdminToken(readToken))
        return h
    }()
    static let readToken = AdminToken.generate()
    var h: AdminHarness { DashboardSessionTests.shared }

    static let csp =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    /// A signed-in browser: its cookie and CSRF token.
    struct Browser {
        var cookie: String
        var csrf: String
        var header: String { "wharf_session=\(cookie)" }
    }

    func post(_ path: String, body: String, headers: [String: String] = [:], contentType: String = "application/x-www-form-urlencoded") throws
        -> TestClient.Response
    {
        var all = headers
        all["Content-Type"] = contentType
        return try h.call("POST", path, body: body, token: "", headers: all)
    }

    func signIn(_ token: String, headers: [String: String] = [:]) throws -> Browser {
        let r = try post("/_wharf/session", body: "token=\(token)", headers: headers)
        #expect(r.status == 303)
        #expect(r.header("Location") == "/_wharf/ui/overview")
        let cookie = try #require(r.header("Set-Cookie"))
        let id = String(cookie.split(separator: ";")[0].dropFirst("wharf_session=".count))
        let page = try h.call("GET", "/_wharf/ui/overview", token: "", headers: ["Cookie": "wharf_session=\(id)"])
        #expect(page.status == 200)
        let match = try #require(page.text.firstMatch(of: /name="wharf-csrf" content="([0-9a-f]{64})"/))
        return Browser(cookie: id, csrf: String(match.1))
    }

    static func checkSecurityHeaders(_ r: TestClient.Response, _ label: String) {
        #expect(r.header("Content-Security-Policy") == csp, "\(label)")
        #expect(r.header("X-Content-Type-Options") == "nosniff", "\(label)")
        #expect(r.header("Referrer-Policy") == "no-referrer", "\(label)")
        #expect(r.header("Cache-Control") == "no-store", "\(label)")
        #expect(r.header("X-Frame-Options") == "DENY", "\(label)")
    }

    /// No inline script, no inline style, no event-handler attribute: what the CSP would block anyway.
    static func checkNoInlineCode(_ html: String, _ label: String) {
        #expect(html.firstMatch(of: /<script(?![^>]*\bsrc=)/) == nil, "\(label): inline script")
        #expect(!html.contains("<style") && !html.contains(" style="), "\(label): inline style")
        #expect(html.firstMatch(of: /\son[a-z]+=/) == nil, "\(label): event handler attribute")
    }

    // MARK: the way in

    @Test func theSignInPageIsPublicWithTheSecurityHeadersAndNoInlineCode() throws {
        let r = try h.call("GET", "/_wharf/", token: "")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "text/html; charset=utf-8")
        Self.checkSecurityHeaders(r, "sign-in page")
        Self.checkNoInlineCode(r.text, "sign-in page")
        #expect(r.text.contains(#"<form method="post" action="/_wharf/session">"#))
        for asset in ["dashboard.js", "dashboard.css"] {
            let a = try h.call("GET", "/_wharf/ui/assets/\(asset)", token: "")
            #expect(a.status == 200)
            #expect(a.header("Content-Type")?.hasPrefix(asset.hasSuffix(".js") ? "text/javascript" : "text/css") == true)
            Self.checkSecurityHeaders(a, asset)
        }
        // Only the two files: no path reaches the file system (an encoded slash is refused outright).
        #expect(try h.call("GET", "/_wharf/ui/assets/..%2F..%2Fadmin-token", token: "").status == 400)
        #expect(try h.call("GET", "/_wharf/ui/assets/../../admin-token", token: "").status != 200)
        #expect(try h.call("GET", "/_wharf/ui/assets/other.js", token: "").status == 404)
    }

    @Test func signingInSetsAnHttpOnlyStrictCookieWithAFreshIdEvenWhenOneWasPlanted() throws {
        let planted = String(repeating: "ab", count: 32)
        let r = try post("/_wharf/session", body: "token=\(h.token)", headers: ["Cookie": "wharf_session=\(planted)"])
        #expect(r.status == 303)
        Self.checkSecurityHeaders(r, "sign-in answer")
        let cookie = try #require(r.header("Set-Cookie"))
        #expect(cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict") && cookie.contains("; Path=/_wharf/"))
        #expect(!cookie.contains("Secure"), "plain HTTP listener: no Secure attribute")
        let id = String(cookie.split(separator: ";")[0].dropFirst("wharf_session=".count))
        #expect(id.count == 64 && id != planted)
        // The planted id signs nobody in.
        let withPlanted = try h.call("GET", "/_wharf/ui/overview", token: "", headers: ["Cookie": "wharf_session=\(planted)"])
        #expect(withPlanted.status == 303)
        // Two sign-ins: two different sessions.
        #expect(try signIn(h.token).cookie != signIn(h.token).cookie)
        // Signed in, the sign-in page sends the browser on.
        let home = try h.call("GET", "/_wharf/", token: "", headers: ["Cookie": "wharf_session=\(id)"])
        #expect(home.status == 303 && home.header("Location") == "/_wharf/ui/overview")
    }

    @Test func everyPageRendersForASessionWithItsCSRFTokenAndNoInlineCode() throws {
        let b = try signIn(h.token)
        for page in ["overview", "builds", "slots", "apps", "alerts"] {
            let r = try h.call("GET", "/_wharf/ui/\(page)", token: "", headers: ["Cookie": b.header])
            #expect(r.status == 200, "\(page)")
            Self.checkSecurityHeaders(r, page)
            Self.checkNoInlineCode(r.text, page)
            #expect(r.text.contains(#"data-page="\#(page)""#) && r.text.contains(b.csrf))
        }
        #expect(try h.call("GET", "/_wharf/ui/nosuchpage", token: "", headers: ["Cookie": b.header]).status == 404)
    }

    @Test func aWrongMissingOrOversizedTokenIsRefusedWithoutACookie() throws {
        for body in [
            "token=wrong", "token=", "", "nothing=here", "token=\(h.token)x", "token=\(String(h.token.dropLast()))",
            "token=%ZZ", "a=1&" + String(repeating: "b=2&", count: 40),
        ] {
            let r = try post("/_wharf/session", body: body)
            #expect(r.status == 401 || r.status == 400, "\(body)")
            #expect(r.header("Set-Cookie") == nil)
        }
        let huge = try post("/_wharf/session", body: "token=" + String(repeating: "a", count: 10_000))
        #expect(huge.status == 400 && huge.header("Set-Cookie") == nil)
        // A bearer token is not a sign-in.
        let bearer = try h.call("POST", "/_wharf/session", body: "", headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(bearer.status == 401 && bearer.header("Set-Cookie") == nil)
    }

    @Test func aCrossSiteSignInIsRefused() throws {
        for headers in [
            ["Origin": "http://evil.example"], ["Sec-Fetch-Site": "cross-site"], ["Origin": "null"],
            ["Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"],
            ["Origin": "http://localhost:1"], ["Sec-Fetch-Site": "same-site"],
        ] {
            let r = try post("/_wharf/session", body: "token=\(h.token)", headers: headers)
            #expect(r.status == 403, "\(headers)")
            #expect(r.header("Set-Cookie") == nil)
        }
        // The browser's own same-origin form post.
        _ = try signIn(h.token, headers: ["Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"])
    }

    // MARK: pages and data without a valid session

    @Test func withoutAValidSessionPagesRedirectToSignInAndTheAPIAnswers401() throws {
        let cookies = [
            "", "wharf_session=", "wharf_session=\(AdminToken.generate())", "wharf_session=\(String(repeating: "z", count: 64))",
            "wharf_session=\(String(repeating: "a", count: 5000))", "other=1; wharf_session", "wharf_session=../../etc",
        ]
        for cookie in cookies {
            let headers = cookie.isEmpty ? [:] : ["Cookie": cookie]
            for page in ["overview", "apps", "nosuchpage"] {
                let r = try h.call("GET", "/_wharf/ui/\(page)", token: "", headers: headers)
                #expect(r.status == 303 && r.header("Location") == "/_wharf/", "\(page) with \(cookie.prefix(40))")
            }
            for (method, path) in [("GET", "/_wharf/api/status"), ("GET", "/_wharf/api/dashboard/history"), ("POST", "/_wharf/api/apps/demo/purge")] {
                let r = try h.call(method, path, token: "", headers: headers)
                #expect(r.status == 401, "\(method) \(path) with \(cookie.prefix(40))")
            }
        }
    }

    // MARK: mutations through a session

    @Test func aSessionMutationNeedsTheCSRFTokenAndTheSameOrigin() throws {
        let older = try h.publishVersion("csrf-old", html: "<!doctype html><p>csrf older</p>")
        let newer = try h.publishVersion("csrf-new", html: "<!doctype html><p>csrf newer</p>")
        try h.edge.server.catalog.refresh()
        let b = try signIn(h.token)
        let body = #"{"to":"\#(older)"}"#
        let refused: [[String: String]] = [
            ["Cookie": b.header],
            ["Cookie": b.header, "X-Wharf-CSRF": String(b.csrf.reversed())],
            ["Cookie": b.header, "X-Wharf-CSRF": ""],
            ["Cookie": b.header, "X-Wharf-CSRF": b.csrf, "Origin": "http://evil.example"],
            ["Cookie": b.header, "X-Wharf-CSRF": b.csrf, "Sec-Fetch-Site": "cross-site"],
            ["Cookie": b.header, "X-Wharf-CSRF": b.csrf, "Sec-Fetch-Site": "same-site"],
            // Another session's token.
            ["Cookie": b.header, "X-Wharf-CSRF": try signIn(h.token).csrf],
        ]
        for headers in refused {
            let r = try h.call("POST", "/_wharf/api/apps/demo/rollback", body: body, token: "", headers: headers)
            #expect(r.status == 403, "\(headers.keys.sorted())")
            #expect(try h.store.currentDeploymentID(app: "demo") == newer)
        }
        let ok = try h.call(
            "POST", "/_wharf/api/apps/demo/rollback", body: body, token: "",
            headers: ["Cookie": b.header, "X-Wharf-CSRF": b.csrf, "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"])
        #expect(ok.status == 200, "\(ok.text)")
        #expect(try h.store.currentDeploymentID(app: "demo") == older)
        let edge = try TestClient(port: h.edge.port)
        #expect(try edge.get("/index.html", headers: ["Accept-Encoding": "identity"]).text == "<!doctype html><p>csrf older</p>")
    }

    @Test func aReadOnlySessionSeesTheDataButCannotChangeAnything() throws {
        let b = try signIn(Self.readToken)
        let page = try h.call("GET", "/_wharf/ui/apps", token: "", headers: ["Cookie": b.header])
        #expect(page.text.contains(#"data-role="read""#))
        for path in ["/_wharf/api/status", "/_wharf/api/apps", "/_wharf/api/dashboard/history", "/_wharf/api/dashboard/apps"] {
            #expect(try h.call("GET", path, token: "", headers: ["Cookie": b.header]).status == 200, "\(path)")
        }
        #expect(try h.call("GET", "/_wharf/api/registry", token: "", headers: ["Cookie": b.header]).status == 403)
        let current = try h.store.currentDeploymentID(app: "demo")
        let entries = h.cache.statistics().entries
        for (path, body) in [
            ("/_wharf/api/apps/demo/rollback", "{}"), ("/_wharf/api/apps/demo/purge", ""),
            ("/_wharf/api/warm", #"{"app":"demo","paths":["/index.html"]}"#),
        ] {
            let r = try h.call("POST", path, body: body, token: "", headers: ["Cookie": b.header, "X-Wharf-CSRF": b.csrf])
            #expect(r.status == 403, "\(path)")
        }
        #expect(try h.store.currentDeploymentID(app: "demo") == current)
        #expect(h.cache.statistics().entries == entries)
        // The read token is not a bearer token for the API.
        #expect(try h.call("GET", "/_wharf/api/status", token: Self.readToken).status == 401)
    }

    @Test func signingOutNeedsTheCSRFTokenAndEndsTheSession() throws {
        let b = try signIn(h.token)
        let forged = try post("/_wharf/session/end", body: "csrf=\(String(repeating: "0", count: 64))", headers: ["Cookie": b.header])
        #expect(forged.status == 403)
        #expect(try h.call("GET", "/_wharf/api/status", token: "", headers: ["Cookie": b.header]).status == 200)
        let crossSite = try post("/_wharf/session/end", body: "csrf=\(b.csrf)", headers: ["Cookie": b.header, "Origin": "http://evil.example"])
        #expect(crossSite.status == 403)
        let out = try post("/_wharf/session/end", body: "csrf=\(b.csrf)", headers: ["Cookie": b.header])
        #expect(out.status == 303 && out.header("Location") == "/_wharf/")
        #expect(out.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try h.call("GET", "/_wharf/api/status", token: "", headers: ["Cookie": b.header]).status == 401)
        #expect(try h.call("GET", "/_wharf/ui/overview", token: "", headers: ["Cookie": b.header]).status == 303)
    }

    @Test func theHistoryEndpointHasALivePointAfterTraffic() throws {
        let edge = try TestClient(port: h.edge.port)
        for _ in 0..<20 { _ = try edge.get("/index.html", headers: ["Accept-Encoding": "identity"]) }
        _ = try edge.get("/no-such-file")
        // The first sample is the baseline taken at start; the live point needs a second to pass.
        Thread.sleep(forTimeInterval: 1.1)
        let r = try h.call("GET", "/_wharf/api/dashboard/history")
        let json = try AdminHarness.json(r)
        #expect(json["intervalSeconds"] as? Double == 10 && json["capacity"] as? Int == 360)
        let points = try #require(json["points"] as? [[String: Any]])
        let last = try #require(points.last)
        #expect((last["requestsPerSecond"] as? Double ?? 0) > 0)
        #expect((last["p50Ms"] as? Double ?? 0) > 0)
    }

    @Test func apiHandlersSeeNeitherTheCookieNorTheToken() throws {
        let seen = Mutex<[String]>([])
        try? h.admin.routes.register("GET", "/_wharf/api/test/headers") { request in
            seen.withLock { $0 = request.headers.map { $0.name.lowercased() } }
            return AdminJSON.response(["ok": true])
        }
        let b = try signIn(h.token)
        #expect(try h.call("GET", "/_wharf/api/test/headers", token: "", headers: ["Cookie": b.header, "X-Other": "1"]).status == 200)
        #expect(seen.withLock { $0.contains("x-other") && !$0.contains("cookie") && !$0.contains("authorization") })
        #expect(try h.call("GET", "/_wharf/api/test/headers", headers: ["Cookie": b.header]).status == 200)
        #expect(seen.withLock { !$0.contains("cookie") && !$0.contains("authorization") })
    }

    @Test func theAdminListenersRateLimitAppliesToSignIn() throws {
        let a = try AdminHarness { config in
            config.clientLimits.adminRate = 0.1
            config.clientLimits.adminBurst = 3
        }
        defer { a.stop() }
        let statuses = try (0..<5).map { i in
            try a.call(
                "POST", "/_wharf/session", body: "token=guess\(i)", token: "",
                headers: ["Content-Type": "application/x-www-form-urlencoded"]
            ).status
        }
        #expect(statuses == [401, 401, 401, 429, 429])
        let right = try a.call(
            "POST", "/_wharf/session", body: "token=\(a.token)", token: "",
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(right.status == 429 && right.header("Set-Cookie") == nil)
    }

    // MARK: brute force (a server of its own: the failure count is per server)

    @Test func guessingTokensGets401ThenEveryAttempt429ForAMinute() throws {
        let own = try AdminHarness()
        defer { own.stop() }
        let limit = own.admin.dashboard.sessions.limits.maxFailuresPerMinute
        for i in 0..<limit {
            let r = try own.call(
                "POST", "/_wharf/session", body: "token=guess\(i)", token: "",
                headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(r.status == 401)
        }
        // Now even the right token waits: the guesser cannot tell a hit from the lockout.
        let r = try own.call(
            "POST", "/_wharf/session", body: "token=\(own.token)", token: "",
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(r.status == 429 && r.header("Retry-After") == "60" && r.header("Set-Cookie") == nil)
        #expect(own.admin.dashboard.sessions.count == 0)
        // The bearer API is not locked out.
        #expect(try own.call("GET", "/_wharf/api/status").status == 200)
    }
}

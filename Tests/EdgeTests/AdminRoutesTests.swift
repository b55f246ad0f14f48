import Testing

@testable import Edge

/// The route table alone: patterns, specificity, method handling.
@Suite struct AdminRoutesTests {
    func table() throws -> AdminRoutes {
        let routes = AdminRoutes()
        let ok: AdminHandler = { _ in AdminResponse(status: 200, body: []) }
        try routes.register("GET", "/_wharf/api/jobs/*", ok)
        try routes.register("GET", "/_wharf/api/jobs/{id}", ok)
        try routes.register("POST", "/_wharf/api/jobs/{id}/cancel", ok)
        try routes.register("get", "/_wharf/api/jobs/stats", ok)
        return routes
    }

    func pattern(_ lookup: AdminRoutes.Lookup) -> String? {
        if case .found(let m) = lookup { return m.route.pattern }
        return nil
    }

    @Test func theMostSpecificPatternWins() throws {
        let routes = try table()
        #expect(pattern(routes.lookup(method: "GET", path: "/_wharf/api/jobs/stats")) == "/_wharf/api/jobs/stats")
        #expect(pattern(routes.lookup(method: "GET", path: "/_wharf/api/jobs/12")) == "/_wharf/api/jobs/{id}")
        #expect(pattern(routes.lookup(method: "GET", path: "/_wharf/api/jobs/12/log")) == "/_wharf/api/jobs/*")
        #expect(pattern(routes.lookup(method: "GET", path: "/_wharf/api/jobs")) == "/_wharf/api/jobs/*")
        #expect(pattern(routes.lookup(method: "HEAD", path: "/_wharf/api/jobs/12")) == "/_wharf/api/jobs/{id}")
    }

    @Test func parametersAndTheRemainderAreCaptured() throws {
        let routes = try table()
        guard case .found(let cancel) = routes.lookup(method: "POST", path: "/_wharf/api/jobs/abc/cancel") else {
            Issue.record("no match")
            return
        }
        #expect(cancel.parameters == ["id": "abc"])
        guard case .found(let rest) = routes.lookup(method: "GET", path: "/_wharf/api/jobs/a/b/c") else {
            Issue.record("no match")
            return
        }
        #expect(rest.remainder == "a/b/c")
    }

    @Test func aKnownPathWithAnotherMethodListsTheAllowedOnes() throws {
        let routes = try table()
        guard case .wrongMethod(let allowed) = routes.lookup(method: "DELETE", path: "/_wharf/api/jobs/abc/cancel") else {
            Issue.record("expected 405")
            return
        }
        // The GET wildcard also matches this path.
        #expect(allowed == ["GET", "HEAD", "POST"])
        guard case .notFound = routes.lookup(method: "GET", path: "/_wharf/api/jobsx") else {
            Issue.record("a prefix must end at a segment boundary")
            return
        }
        #expect({ if case .notFound = routes.lookup(method: "GET", path: "/other") { true } else { false } }())
    }

    @Test func badPatternsAreRefused() throws {
        let routes = AdminRoutes()
        let ok: AdminHandler = { _ in AdminResponse(status: 200, body: []) }
        for bad in ["/_wharf/api//x", "/_wharf/api/{a}/{a}", "/_wharf/api/x*", "/_wharf/api/{}", "/_wharf/api/*/y"] {
            #expect(throws: AdminRoutes.RegistrationError.invalidPattern(bad)) { try routes.register("GET", bad, ok) }
        }
        #expect(throws: AdminRoutes.RegistrationError.self) { try routes.register("G T", "/_wharf/api/x", ok) }
        #expect(throws: AdminRoutes.RegistrationError.outsideAPI("/api/x")) { try routes.register("GET", "/api/x", ok) }
        try routes.register("GET", "/_wharf/api/x", ok)
        #expect(routes.registered == ["GET /_wharf/api/x"])
        #expect(routes.unregister("GET", "/_wharf/api/x"))
        #expect(routes.registered.isEmpty)
    }
}

import ArtifactStore
import Foundation
import Testing

@testable import Edge

/// `GET /_wharf/api/dashboard/apps/{app}` on a real admin server beside a real edge: popularity
/// and hot paths from real traffic flushed into the store's popularity table, the cache's warm
/// state following requests, a warm and a purge; hostile app names and limits, who may read it,
/// and that none of it changes the store or the cache.
@Suite(.serialized) struct DashboardAppDetailTests {
    /// A harness whose dashboard reads the popularity table the test flushes into.
    static func harness() throws -> (AdminHarness, PopularityFlush) {
        let h = try AdminHarness()
        let popularity = try Popularity(store: h.store, halfLifeHours: 24)
        h.admin.dashboard.usePopularity(popularity)
        let stats = h.edge.server.accessStats
        return (h, PopularityFlush(popularity: popularity) { stats.drainCounts() })
    }

    /// Flushes until `paths` distinct paths were recorded (the loops hand counts over each second; bounded).
    static func flush(_ flush: PopularityFlush, paths: Int) async throws {
        var recorded = 0
        for _ in 0..<50 where recorded < paths {
            recorded += try flush.runOnce(now: Date()).recorded
            if recorded < paths { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recorded >= paths)
    }

    static func detail(_ h: AdminHarness, _ query: String = "") throws -> [String: Any] {
        let r = try h.call("GET", "/_wharf/api/dashboard/apps/demo" + query)
        #expect(r.status == 200, "\(r.text)")
        return try AdminHarness.json(r)
    }

    @Test func popularityHotPathsAndWarmStateFollowRealTraffic() async throws {
        let (h, flush) = try Self.harness()
        defer { h.stop() }
        // Before any request: known popularity table, nothing recorded, nothing cached.
        var json = try Self.detail(h)
        #expect(json["app"] as? String == "demo" && json["popularityKnown"] as? Bool == true)
        #expect(json["popularity"] == nil || json["popularity"] is NSNull)
        #expect((json["hotPaths"] as? [Any])?.isEmpty == true)
        var cache = try #require(json["cache"] as? [String: Any])
        #expect(cache["files"] as? Int == h.edge.files.count && cache["filesCached"] as? Int == 0)
        #expect(cache["deployment"] as? String == (try h.store.currentDeploymentID(app: "demo")))

        let edge = try TestClient(port: h.edge.port)
        for _ in 0..<6 { #expect(try edge.get("/assets/app.1a2b3c4d.js", headers: ["Accept-Encoding": "identity"]).status == 200) }
        for _ in 0..<3 { #expect(try edge.get("/robots.txt").status == 200) }
        #expect(try edge.get("/no-such-file.txt").status == 404)
        try await Self.flush(flush, paths: 2)

        json = try Self.detail(h, "?paths=1")
        let popularity = try #require(json["popularity"] as? [String: Any])
        #expect(popularity["requests"] as? Int == 9, "\(popularity)")
        // Decayed over the seconds since the flush with a 24 h half-life: just under 9.
        let score = try #require(popularity["score"] as? Double)
        #expect(score > 8.99 && score <= 9, "\(score)")
        #expect(popularity["halfLifeHours"] as? Double == 24)
        let lastSeen = try #require(popularity["lastSeen"] as? Double)
        #expect(abs(lastSeen - Date().timeIntervalSince1970) < 60)
        let hot = try #require(json["hotPaths"] as? [[String: Any]])
        #expect(hot.map { $0["path"] as? String } == ["/assets/app.1a2b3c4d.js"], "?paths=1 lists one")
        #expect(hot.first?["requests"] as? Int == 6 && hot.first?["cached"] as? Bool == true)
        cache = try #require(json["cache"] as? [String: Any])
        #expect(cache["filesCached"] as? Int == 2, "\(cache)")
        #expect(cache["representationsCached"] as? Int == 2 && (cache["bytesCached"] as? Int ?? 0) > 0)

        // A purge empties the warm state; the hot paths stay, now not cached.
        #expect(try h.call("POST", "/_wharf/api/apps/demo/purge").status == 200)
        json = try Self.detail(h)
        #expect((json["cache"] as? [String: Any])?["filesCached"] as? Int == 0)
        let after = try #require(json["hotPaths"] as? [[String: Any]])
        #expect(after.map { $0["path"] as? String } == ["/assets/app.1a2b3c4d.js", "/robots.txt"])
        #expect(after.allSatisfy { $0["cached"] as? Bool == false })
        // A warm of every encoding of two files: the cache holds exactly what it loaded.
        let warmed = try h.call("POST", "/_wharf/api/warm", body: #"{"app":"demo","paths":["/index.html","/robots.txt"]}"#)
        #expect(warmed.status == 200, "\(warmed.text)")
        let loaded = try #require(try AdminHarness.json(warmed)["loaded"] as? Int)
        cache = try #require(try Self.detail(h)["cache"] as? [String: Any])
        #expect(cache["filesCached"] as? Int == 2 && cache["representationsCached"] as? Int == loaded, "\(cache)")
        #expect((cache["representations"] as? Int ?? 0) > (cache["files"] as? Int ?? 0), "variants count as representations")
    }

    @Test func aPreloadOfTheWarmBatchIsShownAsTheAppsLastWarm() async throws {
        let (h, _) = try Self.harness()
        defer { h.stop() }
        var json = try Self.detail(h)
        #expect(json["lastWarm"] == nil || json["lastWarm"] is NSNull)
        // What the warm batch's preloader in `wharf serve` does (WharfCLITests/WarmWiringTests checks
        // that it notes each preload): warm through the edge's CacheWarmer, note it in the log.
        let before = Date().timeIntervalSince1970
        let report = try CacheWarmer(edge: h.edge.server).warm(app: "demo", paths: ["/", "/assets/app.1a2b3c4d.js"], codings: nil)
        let loaded = report.items.filter { $0.outcome == "loaded" }
        let bytes = loaded.reduce(0) { $0 + ($1.sendfile ? 0 : $1.bytes) }
        h.admin.dashboard.warmLog.record(
            app: "demo",
            .init(
                at: Date().timeIntervalSince1970, deployment: report.deployment,
                paths: 2, loaded: loaded.count, skipped: 0, bytes: bytes))
        json = try Self.detail(h)
        let warm = try #require(json["lastWarm"] as? [String: Any])
        #expect(warm["deployment"] as? String == (try h.store.currentDeploymentID(app: "demo")))
        #expect(warm["paths"] as? Int == 2 && warm["loaded"] as? Int == loaded.count && warm["skipped"] as? Int == 0)
        #expect(loaded.count >= 4, "index.html and the JS in each encoding")
        #expect(warm["bytes"] as? Int == bytes && (warm["at"] as? Double ?? 0) >= before)
        let cache = try #require(json["cache"] as? [String: Any])
        #expect(cache["filesCached"] as? Int == 2 && cache["representationsCached"] as? Int == loaded.count, "\(cache)")
        #expect(h.admin.dashboard.warmLog.count == 1)
    }

    @Test func theWarmLogKeepsTheLatestPerAppAndAtMostItsCapacity() {
        let log = DashboardWarmLog()
        for i in 0..<(DashboardWarmLog.capacity + 5) {
            log.record(app: "app-\(i)", .init(at: Double(i), deployment: "d", paths: 1, loaded: 1, skipped: 0, bytes: 1))
        }
        #expect(log.count == DashboardWarmLog.capacity)
        #expect(log.last(app: "app-0") == nil && log.last(app: "app-4") == nil && log.last(app: "app-5") != nil)
        log.record(app: "app-5", .init(at: 9999, deployment: "e", paths: 2, loaded: 3, skipped: 0, bytes: 4))
        #expect(log.last(app: "app-5")?.deployment == "e" && log.count == DashboardWarmLog.capacity)
    }

    @Test func withoutAPopularityTableTheAnswerSaysSo() throws {
        let h = try AdminHarness()
        defer { h.stop() }
        let json = try Self.detail(h)
        #expect(json["popularityKnown"] as? Bool == false && (json["hotPaths"] as? [Any])?.isEmpty == true)
        #expect(json["cache"] is [String: Any])
    }

    @Test func hostileNamesAndLimitsAreRefusedAndChangeNothing() async throws {
        let (h, flush) = try Self.harness()
        defer { h.stop() }
        let edge = try TestClient(port: h.edge.port)
        #expect(try edge.get("/robots.txt").status == 200)
        try await Self.flush(flush, paths: 1)
        let popularity = try #require(h.admin.dashboard.popularity)
        let before = try popularity.hotPaths(app: "demo", limit: 100, now: Date()).map(\.requests)
        let cacheBefore = h.cache.statistics()

        let badNames = [
            "%2e%2e", "%2E%2E%2F%2E%2E", "..%2f..%2fetc", "DEMO", "demo%00", "-demo", "demo-", "de%20mo", "d'emo", "demo;",
            String(repeating: "a", count: 64), String(repeating: "a", count: 4000), "%E2%80%AE", "%ff",
        ]
        for name in badNames {
            let r = try h.call("GET", "/_wharf/api/dashboard/apps/\(name)")
            #expect(r.status == 400, "\(name.prefix(40)): \(r.status) \(r.text.prefix(100))")
        }
        // Dot segments are resolved by the listener before routing: `..` never reaches the route
        // (it names the parent path, which has no route), `x/../demo` is `demo`.
        let parent = try h.call("GET", "/_wharf/api/dashboard/apps/..")
        #expect(parent.status == 404 && parent.text.contains("no admin route"), "\(parent.text)")
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/../../../etc/passwd").status == 404)
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/x/../demo").status == 200)
        // Another segment is another path: no route.
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/demo/extra").status == 404)
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/no-such-app").status == 404)
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/" + String(repeating: "a", count: 63)).status == 404)
        for query in ["0", "51", "-1", "abc", "1e3", "99999999999999999999", "", "5%00"] {
            let r = try h.call("GET", "/_wharf/api/dashboard/apps/demo?paths=\(query)")
            #expect(r.status == 400, "paths=\(query): \(r.status)")
        }
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/demo?paths=50").status == 200)
        // Only GET (and HEAD): a mutation of it does not exist.
        #expect(try h.call("POST", "/_wharf/api/dashboard/apps/demo", body: "{}").status == 405)
        #expect(try h.call("DELETE", "/_wharf/api/dashboard/apps/demo").status == 405)
        // Without a credential: 401, and the wrong token too.
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/demo", token: "").status == 401)
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/demo", token: AdminToken.generate()).status == 401)

        #expect(try popularity.hotPaths(app: "demo", limit: 100, now: Date()).map(\.requests) == before)
        let cacheAfter = h.cache.statistics()
        #expect(
            cacheAfter.entries == cacheBefore.entries && cacheAfter.hits == cacheBefore.hits && cacheAfter.misses == cacheBefore.misses,
            "reading the warm state counts no lookup and loads nothing")
    }

    @Test func aReadOnlySessionReadsItAndCannotPostToIt() throws {
        let (h, _) = try Self.harness()
        defer { h.stop() }
        let readToken = AdminToken.generate()
        h.admin.dashboard.useReadToken(AdminToken(readToken))
        let signIn = try h.call(
            "POST", "/_wharf/session", body: "token=\(readToken)", token: "",
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(signIn.status == 303)
        let cookie = try #require(signIn.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let page = try h.call("GET", "/_wharf/ui/apps", token: "", headers: ["Cookie": cookie])
        let csrf = try #require(page.text.firstMatch(of: /name="wharf-csrf" content="([0-9a-f]{64})"/)).1
        let read = try h.call("GET", "/_wharf/api/dashboard/apps/demo", token: "", headers: ["Cookie": cookie])
        #expect(read.status == 200)
        #expect(try AdminHarness.json(read)["cache"] is [String: Any])
        // Hostile names answer the same to a session as to the token.
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/%2e%2e", token: "", headers: ["Cookie": cookie]).status == 400)
        #expect(try h.call("GET", "/_wharf/api/dashboard/apps/nope", token: "", headers: ["Cookie": cookie]).status == 404)
        let current = try h.store.currentDeploymentID(app: "demo")
        for (path, body) in [
            ("/_wharf/api/dashboard/apps/demo", "{}"), ("/_wharf/api/apps/demo/purge", ""),
            ("/_wharf/api/warm", #"{"app":"demo","paths":["/"]}"#),
        ] {
            let r = try h.call("POST", path, body: body, token: "", headers: ["Cookie": cookie, "X-Wharf-CSRF": String(csrf)])
            #expect(r.status == 403, "\(path): \(r.status)")
        }
        #expect(try h.store.currentDeploymentID(app: "demo") == current)
        #expect(h.cache.statistics().entries == 0)
    }
}

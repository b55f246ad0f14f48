import ArtifactStore
import Compression
import Foundation
import HTTPCore
import Synchronization
import Testing

@testable import Edge

/// The admin API on a real listener next to a real edge, over real sockets.
@Suite(.serialized) struct AdminServerTests {
    static let shared: AdminHarness = try! AdminHarness()
    var h: AdminHarness { AdminServerTests.shared }

    static let jsPath = "/assets/app.1a2b3c4d.js"
    static let cssPath = "/assets/style.5e6f7a8b.css"

    // MARK: authentication

    @Test func theHealthCheckNeedsNoToken() throws {
        let r = try h.call("GET", "/_wharf/health", token: "")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.text == #"{"status":"ok"}"#)
        let head = try h.call("HEAD", "/_wharf/health", token: "")
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(head.header("Content-Length") == "15")
    }

    @Test func everyOtherRouteAnswers401WithABearerChallengeWithoutAValidToken() throws {
        let routes: [(String, String, String?)] = [
            ("GET", "/_wharf/api/status", nil), ("GET", "/_wharf/metrics", nil), ("GET", "/_wharf/api/apps", nil),
            ("POST", "/_wharf/api/apps/demo/rollback", "{}"), ("POST", "/_wharf/api/apps/demo/purge", nil),
            ("POST", "/_wharf/api/warm", #"{"app":"demo","paths":["/index.html"]}"#),
            ("GET", "/_wharf/api/no-such-route", nil), ("POST", "/_wharf/health", nil),
        ]
        let wrongSameLength = String(h.token.reversed())
        for (method, path, body) in routes {
            let none = try h.call(method, path, body: body, token: "")
            #expect(none.status == 401, "\(method) \(path)")
            #expect(none.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try AdminHarness.json(none)["error"] is String)
            for wrong in [wrongSameLength, String(h.token.dropLast()), h.token + "0", "x"] {
                let r = try h.call(method, path, body: body, token: wrong)
                #expect(r.status == 401, "\(method) \(path) with a wrong token")
                #expect(r.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
            }
            // Another scheme carrying the right secret is not a bearer token.
            let basic = try TestClient(port: h.port).request(
                method, path, body: body.map { Array($0.utf8) },
                headers: ["Authorization": "Basic \(h.token)"])
            #expect(basic.status == 401)
        }
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let lower = try TestClient(port: h.port).request("GET", "/_wharf/api/apps", headers: ["Authorization": "bearer \(h.token)"])
        #expect(lower.status == 200)
    }

    @Test func unauthorizedMutationsChangeNothing() throws {
        let v2 = try h.publishVersion("v2-unauth", html: "<!doctype html><p>unauthorized test</p>")
        try h.edge.server.catalog.refresh()
        let before = try TestClient(port: h.edge.port).get("/index.html", headers: ["Accept-Encoding": "identity"])
        // Warm something so a purge would have something to drop.
        let warmed = try h.call("POST", "/_wharf/api/warm", body: #"{"app":"demo","paths":["\#(Self.cssPath)"],"encodings":["identity"]}"#)
        #expect(warmed.status == 200)
        let entries = h.cache.statistics().entries
        for token in ["", "not-the-token"] {
            #expect(try h.call("POST", "/_wharf/api/apps/demo/rollback", body: "{}", token: token).status == 401)
            #expect(try h.call("POST", "/_wharf/api/apps/demo/purge", token: token).status == 401)
            #expect(
                try h.call("POST", "/_wharf/api/warm", body: #"{"app":"demo","paths":["\#(Self.jsPath)"],"encodings":["identity"]}"#, token: token)
                    .status == 401)
        }
        #expect(try h.store.currentDeploymentID(app: "demo") == v2)
        let after = try TestClient(port: h.edge.port).get("/index.html", headers: ["Accept-Encoding": "identity"])
        #expect(after.body == before.body)
        #expect(h.cache.statistics().entries == entries)
        let js = try #require(h.edge.server.catalog.snapshot.apps["demo"]?.files[Self.jsPath]?.representation(.identity))
        #expect(!h.cache.contains(js.cacheKey))
    }

    // MARK: rollback

    @Test func aRollbackThroughTheAPIChangesWhatTheEdgeServesAtOnce() throws {
        let older = try h.publishVersion("v-old", html: "<!doctype html><p>older</p>")
        let newer = try h.publishVersion("v-new", html: "<!doctype html><p>newer</p>")
        try h.edge.server.catalog.refresh()
        let edge = try TestClient(port: h.edge.port)
        #expect(try edge.get("/index.html", headers: ["Accept-Encoding": "identity"]).text == "<!doctype html><p>newer</p>")

        let r = try h.call("POST", "/_wharf/api/apps/demo/rollback")
        #expect(r.status == 200)
        let json = try AdminHarness.json(r)
        #expect(json["deployment"] as? String == older)
        #expect(json["previous"] as? String == newer)
        #expect(try h.store.currentDeploymentID(app: "demo") == older)
        // Visible on the very next request, without waiting for the alias poll.
        #expect(try edge.get("/index.html", headers: ["Accept-Encoding": "identity"]).text == "<!doctype html><p>older</p>")

        let back = try h.call("POST", "/_wharf/api/apps/demo/rollback", body: #"{"to":"\#(newer)"}"#)
        #expect(back.status == 200)
        #expect(try AdminHarness.json(back)["deployment"] as? String == newer)
        #expect(try edge.get("/index.html", headers: ["Accept-Encoding": "identity"]).text == "<!doctype html><p>newer</p>")
    }

    @Test func aRollbackToAnUnknownDeploymentOrAppIs404AndChangesNothing() throws {
        let current = try h.store.currentDeploymentID(app: "demo")
        let unknownID = try h.call("POST", "/_wharf/api/apps/demo/rollback", body: #"{"to":"no-such-deployment"}"#)
        #expect(unknownID.status == 404)
        #expect(try AdminHarness.json(unknownID)["error"] is String)
        #expect(try h.call("POST", "/_wharf/api/apps/nosuchapp/rollback").status == 404)
        #expect(try h.call("POST", "/_wharf/api/apps/Not_A_Slug/rollback").status == 400)
        #expect(try h.store.currentDeploymentID(app: "demo") == current)
    }

    // MARK: bad input

    @Test func malformedOrMisshapenJSONGets400WithAJSONErrorBody() throws {
        let nested = String(repeating: "[", count: 100_000)
        let bodies: [(String, [UInt8])] = [
            ("/_wharf/api/warm", Array(#"{"app":"#.utf8)),
            ("/_wharf/api/warm", Array("not json".utf8)),
            ("/_wharf/api/warm", Array("[1,2]".utf8)),
            ("/_wharf/api/warm", Array("\"a string\"".utf8)),
            ("/_wharf/api/warm", Array(#"{"app":5,"paths":[]}"#.utf8)),
            ("/_wharf/api/warm", Array(#"{"app":"demo","paths":"/index.html"}"#.utf8)),
            ("/_wharf/api/warm", Array(#"{"app":"demo","paths":[1]}"#.utf8)),
            ("/_wharf/api/warm", Array(#"{"app":"demo","path":["/index.html"]}"#.utf8)),
            ("/_wharf/api/warm", Array(#"{"app":"demo","paths":["/index.html"],"encodings":["deflate"]}"#.utf8)),
            ("/_wharf/api/warm", Array(#"{"app":"demo","paths":["index.html"]}"#.utf8)),
            ("/_wharf/api/warm", []),
            ("/_wharf/api/warm", Array(nested.utf8)),
            ("/_wharf/api/warm", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]),  // {"<invalid UTF-8>":1}
            ("/_wharf/api/apps/demo/rollback", Array(#"{"to":5}"#.utf8)),
            ("/_wharf/api/apps/demo/rollback", Array(#"{"to":""}"#.utf8)),
            ("/_wharf/api/apps/demo/rollback", Array(#"{"from":"x"}"#.utf8)),
            ("/_wharf/api/apps/demo/purge", Array(#"{"all":true}"#.utf8)),
        ]
        let current = try h.store.currentDeploymentID(app: "demo")
        for (path, body) in bodies {
            let r = try TestClient(port: h.port).request("POST", path, body: body, token: h.token)
            #expect(r.status == 400, "\(path) \(String(decoding: body.prefix(60), as: UTF8.self))")
            #expect(r.header("Content-Type") == "application/json")
            let message = try AdminHarness.json(r)["error"] as? String
            #expect(message?.isEmpty == false)
        }
        #expect(try h.store.currentDeploymentID(app: "demo") == current)
    }

    @Test func anOversizedBodyGets413AndTheConnectionCloses() throws {
        let c = try TestClient(port: h.port)
        try c.send("POST /_wharf/api/warm HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(h.token)\r\nContent-Length: \(2 << 20)\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 413)
        #expect(try AdminHarness.json(r)["error"] is String)
        #expect(try c.isClosedByServer())

        // Chunked: the sum of chunk sizes counts.
        let chunked = try TestClient(port: h.port)
        try chunked.send("POST /_wharf/api/warm HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(h.token)\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = [UInt8](repeating: 0x20, count: 600_000)
        try chunked.send(Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Array("\r\n".utf8))
        try? chunked.send(Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Array("\r\n0\r\n\r\n".utf8))
        #expect(try chunked.readResponse().status == 413)
    }

    @Test func aChunkedJSONBodyIsReassembled() throws {
        let json = #"{"app":"demo","paths":["\#(Self.cssPath)"],"encodings":["identity"]}"#
        let bytes = Array(json.utf8)
        let c = try TestClient(port: h.port)
        var request = "POST /_wharf/api/warm HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(h.token)\r\nTransfer-Encoding: chunked\r\n\r\n"
        for part in stride(from: 0, to: bytes.count, by: 7) {
            let piece = bytes[part..<min(part + 7, bytes.count)]
            request += String(piece.count, radix: 16) + "\r\n" + String(decoding: piece, as: UTF8.self) + "\r\n"
        }
        request += "0\r\n\r\n"
        try c.send(request)
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(try AdminHarness.json(r)["app"] as? String == "demo")
    }

    @Test func anUnknownRouteIs404AndAWrongMethodIs405WithAllow() throws {
        let missing = try h.call("GET", "/_wharf/api/no-such-route")
        #expect(missing.status == 404)
        #expect(try AdminHarness.json(missing)["error"] is String)
        #expect(try h.call("GET", "/elsewhere").status == 404)
        let wrong = try h.call("GET", "/_wharf/api/apps/demo/rollback")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "POST")
        let health = try h.call("DELETE", "/_wharf/health")
        #expect(health.status == 405)
        #expect(health.header("Allow") == "GET, HEAD")
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
        let c = try TestClient(port: h.port)
        let auth = "Authorization: Bearer \(h.token)\r\n"
        try c.send(
            "GET /_wharf/health HTTP/1.1\r\nHost: x\r\n\r\nGET /_wharf/api/apps HTTP/1.1\r\nHost: x\r\n\(auth)\r\nGET /_wharf/api/nope HTTP/1.1\r\nHost: x\r\n\(auth)\r\nGET /_wharf/health HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        let statuses = try (0..<4).map { _ in try c.readResponse().status }
        #expect(statuses == [200, 200, 404, 200])
        // Still open for more.
        #expect(try c.request("GET", "/_wharf/health").status == 200)
    }

    // MARK: apps, status

    @Test func appsListsTheCurrentDeploymentOfEachApp() throws {
        let r = try h.call("GET", "/_wharf/api/apps")
        #expect(r.status == 200)
        let apps = try #require(try AdminHarness.json(r)["apps"] as? [[String: Any]])
        #expect(apps.count == 1)
        let demo = try #require(apps.first)
        #expect(demo["app"] as? String == "demo")
        #expect(demo["deployment"] as? String == (try h.store.currentDeploymentID(app: "demo")))
        #expect(demo["files"] as? Int == h.edge.files.count)
        #expect(demo["version"] is String)
    }

    @Test func statusReportsTheEdgeFigures() throws {
        let edge = try TestClient(port: h.edge.port)
        let before = try AdminHarness.json(try h.call("GET", "/_wharf/api/status"))
        for _ in 0..<3 { #expect(try edge.get("/robots.txt").status == 200) }
        #expect(try edge.get("/missing.txt").status == 404)
        var r = try h.call("GET", "/_wharf/api/status")
        _ = try AdminHarness.eventually {
            r = try h.call("GET", "/_wharf/api/status")
            let requests = (try AdminHarness.json(r)["edge"] as? [String: Any])?["requests"] as? [String: Any]
            return ((requests?["byClass"] as? [String: Int])?["4xx"] ?? 0) > 0
        }
        #expect(r.status == 200)
        let json = try AdminHarness.json(r)
        #expect(json["status"] as? String == "ok")
        let s = try #require(json["edge"] as? [String: Any])
        let s0 = try #require(before["edge"] as? [String: Any])
        #expect(s["workers"] as? Int == 2)
        let conns = try #require(s["connections"] as? [String: Any])
        #expect((conns["open"] as? Int ?? 0) >= 1)  // `edge` is still open
        let req = try #require(s["requests"] as? [String: Any])
        let req0 = try #require(s0["requests"] as? [String: Any])
        let ok = (req["byStatus"] as? [String: Int])?["200"] ?? 0
        let ok0 = (req0["byStatus"] as? [String: Int])?["200"] ?? 0
        #expect(ok - ok0 == 3)
        #expect(((req["byClass"] as? [String: Int])?["4xx"] ?? 0) - ((req0["byClass"] as? [String: Int])?["4xx"] ?? 0) == 1)
        #expect((s["bytesSent"] as? Int ?? 0) > (s0["bytesSent"] as? Int ?? 0))
        let cache = try #require(s["cache"] as? [String: Int])
        #expect(cache["budget"] == h.cache.budget)
        #expect(Set(cache.keys) == ["entries", "bytes", "budget", "hits", "misses", "evictions", "loads"])
        let apps = try #require(s["apps"] as? [[String: String]])
        let current = try #require(try h.store.currentDeploymentID(app: "demo"))
        #expect(apps == [["app": "demo", "deployment": current]])
        #expect((json["uptimeSeconds"] as? Double ?? -1) >= 0)
    }

    // MARK: warm and purge

    @Test func warmingMakesTheNextRequestAHitWithNoLoad() throws {
        #expect(try h.call("POST", "/_wharf/api/apps/demo/purge").status == 200)
        let deployment = try #require(h.edge.server.catalog.snapshot.apps["demo"])
        let js = try #require(deployment.files[Self.jsPath])
        let css = try #require(deployment.files[Self.cssPath])
        // br variants exist once the store compresses at publish; the expectations follow the manifest.
        let asked = [js.representation(.br), js.representation(.identity), css.representation(.br), css.representation(.identity)]
        let present = asked.compactMap { $0 }
        let expectedBytes = present.reduce(0) { $0 + Int($1.size) }

        let r = try h.call(
            "POST", "/_wharf/api/warm",
            body: #"{"app":"demo","paths":["\#(Self.jsPath)","\#(Self.cssPath)","/nope.js"],"encodings":["br","identity"]}"#)
        #expect(r.status == 200)
        let report = try AdminHarness.json(r)
        #expect(report["loaded"] as? Int == present.count)
        #expect(report["skipped"] as? Int == 2 + (asked.count - present.count))
        #expect(report["bytes"] as? Int == expectedBytes)
        #expect(report["deployment"] as? String == deployment.id)
        let items = try #require(report["items"] as? [[String: Any]])
        #expect(items.filter { $0["outcome"] as? String == "not_found" }.count == 2)
        #expect(items.filter { $0["outcome"] as? String == "no_variant" }.count == asked.count - present.count)
        let served = try #require(js.representation(.br) ?? js.representation(.identity))
        #expect(h.cache.contains(served.cacheKey))

        let before = h.cache.statistics()
        let got = try TestClient(port: h.edge.port).get(Self.jsPath, headers: ["Accept-Encoding": served.coding.token])
        #expect(got.status == 200)
        #expect(try Decoding.decode(got.body, coding: got.header("Content-Encoding") ?? "identity") == h.edge.files[Self.jsPath])
        let after = h.cache.statistics()
        #expect(after.hits == before.hits + 1)
        #expect(after.loads == before.loads)
        #expect(after.misses == before.misses)

        // Warming again loads nothing new.
        let again = try AdminHarness.json(
            try h.call(
                "POST", "/_wharf/api/warm",
                body: #"{"app":"demo","paths":["\#(Self.jsPath)"],"encodings":["identity"]}"#))
        #expect(again["loaded"] as? Int == 0)
        #expect((again["items"] as? [[String: Any]])?.first?["outcome"] as? String == "cached")
        // An app that is not served is 404.
        #expect(try h.call("POST", "/_wharf/api/warm", body: #"{"app":"ghost","paths":["/"]}"#).status == 404)
    }

    @Test func purgingDropsEveryCachedEntryOfTheApp() throws {
        let warm = try h.call("POST", "/_wharf/api/warm", body: #"{"app":"demo","paths":["\#(Self.jsPath)","\#(Self.cssPath)","/robots.txt"]}"#)
        #expect(warm.status == 200)
        let before = h.cache.statistics()
        #expect(before.entries >= 3)
        let r = try h.call("POST", "/_wharf/api/apps/demo/purge")
        #expect(r.status == 200)
        let json = try AdminHarness.json(r)
        let dropped = try #require(json["dropped"] as? Int)
        #expect(dropped == before.entries)  // only the demo app is cached here
        #expect(h.cache.statistics().entries == 0)
        #expect(h.cache.statistics().bytesHeld == 0)
        #expect((json["deployments"] as? [String])?.contains(try #require(try h.store.currentDeploymentID(app: "demo"))) == true)

        // The next request for a purged representation is a miss that loads again.
        let s0 = h.cache.statistics()
        #expect(try TestClient(port: h.edge.port).get(Self.cssPath, headers: ["Accept-Encoding": "identity"]).status == 200)
        let s1 = h.cache.statistics()
        // (The edge counts a cold request's miss twice today: `get`, then `getOrJoinLoad`.)
        #expect(s1.misses > s0.misses)
        #expect(s1.loads == s0.loads + 1)
        #expect(try h.call("POST", "/_wharf/api/apps/ghost/purge").status == 404)
    }

    // MARK: route registry

    @Test func registeredRoutesGetTheRequestAndTheirAnswerIsSent() throws {
        try h.admin.routes.register("GET", "/_wharf/api/jobs/*") { request in
            AdminJSON.response([
                "method": request.method, "path": request.path, "remainder": request.remainder,
                "state": request.queryItems["state"] ?? "", "probe": request.header("x-probe") ?? "",
                "auth": request.header("authorization") ?? "",
            ])
        }
        try h.admin.routes.register("POST", "/_wharf/api/jobs/{id}/cancel") { request in
            guard request.parameters["id"] != "locked" else { throw AdminError(409, "job is locked") }
            return AdminJSON.response(["cancelled": request.parameters["id"] ?? "", "body": String(decoding: request.body, as: UTF8.self)])
        }
        try h.admin.routes.register("GET", "/_wharf/api/broken") { _ in throw CocoaError(.fileNoSuchFile) }
        defer {
            h.admin.routes.unregister("GET", "/_wharf/api/jobs/*")
            h.admin.routes.unregister("POST", "/_wharf/api/jobs/{id}/cancel")
            h.admin.routes.unregister("GET", "/_wharf/api/broken")
        }
        let list = try AdminHarness.json(try h.call("GET", "/_wharf/api/jobs/42/log?state=running%20now", headers: ["X-Probe": "yes"]))
        #expect(list["method"] as? String == "GET")
        #expect(list["path"] as? String == "/_wharf/api/jobs/42/log")
        #expect(list["remainder"] as? String == "42/log")
        #expect(list["state"] as? String == "running now")
        #expect(list["probe"] as? String == "yes")
        #expect(list["auth"] as? String == "")  // the token is not handed to handlers
        #expect(try AdminHarness.json(try h.call("GET", "/_wharf/api/jobs"))["remainder"] as? String == "")

        let cancel = try h.call("POST", "/_wharf/api/jobs/7/cancel", body: "{}")
        #expect(try AdminHarness.json(cancel)["cancelled"] as? String == "7")
        #expect(try AdminHarness.json(cancel)["body"] as? String == "{}")
        let locked = try h.call("POST", "/_wharf/api/jobs/locked/cancel")
        #expect(locked.status == 409)
        #expect(try AdminHarness.json(locked)["error"] as? String == "job is locked")
        #expect(try h.call("GET", "/_wharf/api/broken").status == 500)
        #expect(try h.call("GET", "/_wharf/api/jobs/7/cancel").status == 200)  // the GET wildcard covers it
        #expect(try h.call("GET", "/_wharf/api/jobs/7/cancel", token: "").status == 401)
    }

    @Test func aSlowHandlerDoesNotBlockTheAdminLoop() throws {
        let release = Flag()
        try h.admin.routes.register("GET", "/_wharf/api/slow") { _ in
            let deadline = Date().addingTimeInterval(5)
            while !release.value.load(ordering: .acquiring) && Date() < deadline { usleep(5_000) }
            return AdminJSON.response(["done": true])
        }
        defer { h.admin.routes.unregister("GET", "/_wharf/api/slow") }
        let slow = try TestClient(port: h.port)
        try slow.send("GET /_wharf/api/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(h.token)\r\n\r\n")
        usleep(50_000)
        // While that handler blocks a pool thread, the loop still answers others.
        let started = Date()
        #expect(try h.call("GET", "/_wharf/health", token: "").status == 200)
        #expect(try h.call("GET", "/_wharf/api/apps").status == 200)
        #expect(Date().timeIntervalSince(started) < 2)
        release.value.store(true, ordering: .releasing)
        #expect(try slow.readResponse().status == 200)
    }

    @Test func registrationsOutsideTheAPIOrTwiceAreRefused() throws {
        #expect(throws: AdminRoutes.RegistrationError.outsideAPI("/_wharf/health2")) {
            try h.admin.routes.register("GET", "/_wharf/health2") { _ in .error(500, "") }
        }
        #expect(throws: AdminRoutes.RegistrationError.duplicate(method: "GET", pattern: "/_wharf/api/apps")) {
            try h.admin.routes.register("GET", "/_wharf/api/apps") { _ in .error(500, "") }
        }
        #expect(throws: AdminRoutes.RegistrationError.invalidPattern("/_wharf/api/*/x")) {
            try h.admin.routes.register("GET", "/_wharf/api/*/x") { _ in .error(500, "") }
        }
    }
}

/// A flag shared with a handler running on another thread.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

import Foundation
import Glibc
import Testing
import WharfTestSupport

/// The job routes of the admin API, through a real `wharf serve` (edge + scheduler) and curl: submit,
/// list, get, explain, cancel, slots, the token guard, bad bodies; and the built app served by the edge.
@Suite struct SchedulerAPITests {
    @Test func wharfServeBuildsWhatTheAPISubmitsAndServesIt() throws {
        let scratch = ScratchDirectory("wharf-sched-api")
        let store = scratch.path + "/store"
        try scratch.write("src/build.sh", BuildFixture.script(sleep: "0.1"))
        chmod(scratch.path + "/src/build.sh", 0o755)
        try scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n  lease_s: 5\n")
        let token = "test-token-\(UInt32.random(in: 0...UInt32.max))"
        let daemon = try WharfDaemon(
            [
                "serve", "--store", store, "--config", scratch.path + "/wharf.yaml", "--listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0", "--workers", "1",
            ],
            stderrPath: scratch.path + "/serve.log", environment: ["WHARF_ADMIN_TOKEN": token])
        #expect(eventually(20) { daemon.stderr.contains("admin API on") }, "\(daemon.stderr)")
        let admin = try #require(Self.port(after: "admin API on http://127.0.0.1:", in: daemon.stderr), "\(daemon.stderr)")
        let edge = try #require(Self.port(after: "edge listening on http://127.0.0.1:", in: daemon.stderr))
        let api = "http://127.0.0.1:\(admin)/_wharf/api"

        // The token guards every job route.
        #expect(try CurlResponse.send("GET", api + "/jobs", token: nil).status == 401)
        #expect(try CurlResponse.send("POST", api + "/jobs", token: "wrong", body: "{}").status == 401)

        // Bad bodies: 400 naming the problem, nothing queued.
        let source = scratch.path + "/src"
        let bad: [(String, String)] = [
            ("{not json", "malformed JSON"),
            ("[1,2]", "must be a JSON object"),
            (#"{"app":"shop","type":"javascript_web","source":"\#(source)","colour":"red"}"#, "unknown key \\\"colour\\\""),
            (#"{"app":"shop","type":"javascript_web"}"#, "are required"),
            (#"{"app":"shop","type":"javascript_web","source":"\#(source)","priority":true}"#, "wrong shape"),
            (#"{"app":"shop","type":"javascript_web","source":"\#(source)","priority":9}"#, "invalid priority '9'"),
            (#"{"app":"shop","type":"go_web","source":"\#(source)"}"#, "unknown build type"),
            (#"{"app":"shop","type":"javascript_web","source":"src"}"#, "absolute path"),
            (#"{"app":"shop","type":"javascript_web","source":"\#(source)","cmd":"./nope.sh"}"#, "not found"),
        ]
        for (body, message) in bad {
            let response = try CurlResponse.send("POST", api + "/jobs", token: token, body: body)
            #expect(response.status == 400, "\(body) → \(response.status) \(response.body)")
            #expect(response.body.contains(message), "\(body) → \(response.body)")
        }
        #expect(try CurlResponse.send("GET", api + "/jobs", token: token).body == "[]")

        // Submit; the scheduler in the same process builds and publishes; the edge serves it.
        let submitted = try CurlResponse.send(
            "POST", api + "/jobs", token: token,
            body: #"{"app":"shop","type":"javascript_web","source":"\#(source)","cmd":"./build.sh","priority":"release","kind":"user_push"}"#)
        #expect(submitted.status == 201, "\(submitted.body)")
        let job = try #require(try submitted.json() as? [String: Any])
        let id = try #require(job["id"] as? Int)
        #expect(job["state"] as? String == "queued" && job["priority"] as? Int == 3)

        let done = try eventually(60, every: 0.25) {
            let current = try CurlResponse.send("GET", api + "/jobs/\(id)", token: token)
            return (try current.json() as? [String: Any])?["state"] as? String == "succeeded"
        }
        let final = try #require(try CurlResponse.send("GET", api + "/jobs/\(id)", token: token).json() as? [String: Any])
        #expect(done, "\(final)\n\(daemon.stderr)")
        #expect((final["attempts"] as? [[String: Any]])?.count == 1)
        #expect(final["deploymentId"] is String)
        let page = try eventually(10, every: 0.25) {
            try CurlResponse.send("GET", "http://127.0.0.1:\(edge)/", token: nil).body.contains("built by wharf")
        }
        #expect(page, "the edge serves the new deployment")

        // List with a filter, explain, slots.
        let succeeded = try #require(try CurlResponse.send("GET", api + "/jobs?status=succeeded", token: token).json() as? [[String: Any]])
        #expect(succeeded.compactMap { $0["id"] as? Int } == [id])
        #expect(try CurlResponse.send("GET", api + "/jobs?status=queued", token: token).body == "[]")
        #expect(try CurlResponse.send("GET", api + "/jobs?status=bogus", token: token).status == 400)
        let explained = try #require(try CurlResponse.send("GET", api + "/jobs/\(id)/explain", token: token).json() as? [String: Any])
        #expect(
            (explained["factors"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                == ["age", "kind", "hint", "popularity", "cost", "fair share", "attempts"])
        let slots = try #require(try CurlResponse.send("GET", api + "/slots", token: token).json() as? [String: Any])
        #expect((slots["slots"] as? [Any])?.isEmpty == false)
        #expect(slots["maxSlots"] as? Int == 10)

        // Cancel: a queued job at once; a finished one is a conflict; unknown and malformed ids.
        let queued = try CurlResponse.send(
            "POST", api + "/jobs", token: token,
            body: #"{"app":"later","type":"flutter_ios","source":"\#(source)","cmd":"sleep 20","priority":1}"#)
        let laterID = try #require((try queued.json() as? [String: Any])?["id"] as? Int)
        let cancelled = try CurlResponse.send("POST", api + "/jobs/\(laterID)/cancel", token: token)
        #expect(cancelled.status == 200)
        #expect(["cancelled", "running"].contains((try cancelled.json() as? [String: Any])?["state"] as? String))
        #expect(try CurlResponse.send("POST", api + "/jobs/\(id)/cancel", token: token).status == 409)
        #expect(try CurlResponse.send("POST", api + "/jobs/99999/cancel", token: token).status == 404)
        #expect(try CurlResponse.send("GET", api + "/jobs/99999", token: token).status == 404)
        #expect(try CurlResponse.send("GET", api + "/jobs/abc", token: token).status == 400)
        #expect(try CurlResponse.send("DELETE", api + "/jobs/\(id)", token: token).status == 405)
        #expect(
            eventually(20, every: 0.25) {
                (try? CurlResponse.send("GET", api + "/jobs/\(laterID)", token: token).json() as? [String: Any])??["state"] as? String
                    == "cancelled"
            })

        #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)")
    }

    static func port(after prefix: String, in text: String) -> Int? {
        guard let range = text.range(of: prefix) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}

import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Guards the APIs' one JSON key convention (camelCase, README "Admin API"): a real `wharf serve`
/// with an uploaded deployment, a finished build, a slow-build alert and both webhooks is asked every
/// JSON route the admin listener serves, and the CLI prints its JSON; any key outside the convention
/// anywhere in any answer fails the test with its path, so a new route or field cannot drift.
@Suite struct JSONKeyConventionTests {
    @Test func theCheckerFindsWhatItMustFind() {
        #expect(JSONKeyConvention.violations(in: ["deploymentId": 1, "firstSeen": "x"]).isEmpty)
        #expect(JSONKeyConvention.violations(in: ["deployment_id": 1]) == ["$.deployment_id"])
        #expect(JSONKeyConvention.violations(in: ["jobs": [["ok": 1], ["Bad": 2]]]) == ["$.jobs[1].Bad"])
        #expect(JSONKeyConvention.violations(in: ["a": ["b": ["max-slots": 1]]]) == ["$.a.b.max-slots"])
        #expect(
            JSONKeyConvention.violations(in: ["queuedByKind": ["user_push": 1], "x": ["queued_by_kind": [:]]])
                == ["$.x.queued_by_kind"], "data maps' keys are data; a snake_case data map name is not")
        #expect(!JSONKeyConvention.isCamelCase("") && !JSONKeyConvention.isCamelCase("9lives") && !JSONKeyConvention.isCamelCase("é"))
        #expect(JSONKeyConvention.violations(inJSON: "{nope", source: "s").count == 1)
    }

    @Test func everyJSONAnswerOfARealServerIsCamelCase() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let h = DeployHarness("wharf-json-keys")
        let token = try h.register("shop", ["--notify", "http://127.0.0.1:\(receiver.port)/deploys"])
        try h.scratch.write("src/build.sh", BuildFixture.script(sleep: "0.1"))
        chmod(h.scratch.path + "/src/build.sh", 0o755)
        let config = try h.scratch.write(
            "wharf.yaml",
            """
            scheduler:
              tick_ms: 100
              min_slots: 1
              max_slots: 1
            monitor:
              thresholds:
                javascript_web: 0.05
              evaluate_interval_ms: 0
              webhook:
                url: http://127.0.0.1:\(receiver.port)/alerts

            """)
        try h.start(command: "serve", extra: ["--config", config])
        defer { h.stop() }
        var problems: [String] = []
        var checked = 0
        func check(_ text: String, _ source: String) {
            checked += 1
            problems += JSONKeyConvention.violations(inJSON: text, source: source)
        }
        func answer(_ method: String, _ path: String, body: String? = nil, expect status: Int = 200) throws -> DeployHarness.Reply {
            let reply = try h.request(method, path, token: h.adminToken, body: body.map { Array($0.utf8) })
            #expect(reply.status == status, "\(method) \(path) → \(reply.status) \(reply.body)")
            check(reply.body, "\(method) \(path)")
            return reply
        }

        // The upload API: open a deployment, send its one blob, finalize with promote.
        let page = Array("<!doctype html><title>shop</title><p>uploaded</p>".utf8)
        let sha = try DeployHarness.sha256(page)
        let opened = try h.post(
            "/_wharf/api/apps/shop/deploys", token: token,
            json: #"{"files":[{"path":"index.html","sha256":"\#(sha)","size":\#(page.count)}],"version":"v1"}"#)
        #expect(opened.status == 201, "\(opened.body)")
        check(opened.body, "POST deploys")
        let deploy = try #require(opened.json["id"] as? String, "\(opened.body)")
        let put = try h.request(
            "PUT", "/_wharf/api/apps/shop/deploys/\(deploy)/blobs/\(sha)", token: token, body: page,
            headers: ["Content-Type: application/octet-stream", DeployHarness.contentDigest(sha)])
        #expect(put.status == 201, "\(put.body)")
        check(put.body, "PUT blob")
        let finalized = try h.post("/_wharf/api/apps/shop/deploys/\(deploy)/finalize", token: token, json: #"{"promote":true}"#)
        #expect(finalized.status == 200 || finalized.status == 201, "\(finalized.body)")
        check(finalized.body, "POST finalize")
        check(try h.request("GET", "/_wharf/api/apps/shop/deploys/\(deploy)", token: token).body, "GET deploy")

        // A build through the job API that is slow for its 0.05 s threshold: a job with attempts,
        // stages, a deployment and a firing slow_build alert.
        let submitted = try answer(
            "POST", "/_wharf/api/jobs", body: #"{"app":"shop","type":"javascript_web","source":"\#(h.scratch.path)/src","cmd":"./build.sh"}"#,
            expect: 201)
        let job = try #require(submitted.json["id"] as? Int, "\(submitted.body)")
        let built = try eventually(60, every: 0.2) {
            try h.request("GET", "/_wharf/api/jobs/\(job)", token: h.adminToken).json["state"] as? String == "succeeded"
        }
        #expect(built, "\(h.daemon?.stderr ?? "")")
        let alerted = try eventually(20, every: 0.2) {
            (try h.request("GET", "/_wharf/api/alerts", token: h.adminToken).json["firing"] as? Int ?? 0) >= 1
        }
        #expect(alerted, "\(h.daemon?.stderr ?? "")")
        #expect(
            eventually(20, every: 0.1) { receiver.deliveries.count >= 2 }, "an alert and a deploy notification: \(receiver.deliveries.map(\.body))")
        _ = try ServeDemoTests.curl(["-s", "http://127.0.0.1:\(h.edgePort)/apps/shop/"])

        // The old snake_case spellings are unknown keys in request bodies (strict bodies: 400 naming the key).
        let refused = try h.post(
            "/_wharf/api/jobs", token: h.adminToken,
            json: #"{"app":"shop","type":"javascript_web","source":"\#(h.scratch.path)/src","max_attempts":2}"#)
        #expect(refused.status == 400 && refused.body.contains(#"unknown key \"max_attempts\""#), "\(refused.body)")
        let registryRefused = try h.post("/_wharf/api/registry", token: h.adminToken, json: #"{"name":"other","output_dir":"dist"}"#)
        #expect(registryRefused.status == 400 && registryRefused.body.contains(#"unknown key \"output_dir\""#), "\(registryRefused.body)")

        // Every JSON route of the admin listener, with data in it.
        for path in [
            "/_wharf/health", "/_wharf/api/status", "/_wharf/api/alerts?all=1", "/_wharf/api/jobs", "/_wharf/api/jobs/\(job)",
            "/_wharf/api/jobs/\(job)/explain", "/_wharf/api/slots", "/_wharf/api/apps", "/_wharf/api/dashboard/history",
            "/_wharf/api/dashboard/apps", "/_wharf/api/dashboard/apps/shop", "/_wharf/api/builds/\(job)/stages",
            "/_wharf/api/apps/shop/builds", "/_wharf/api/apps/shop/builds/\(job)", "/_wharf/api/registry",
            "/_wharf/api/registry/shop", "/_wharf/api/registry/shop/tokens", "/_wharf/api/replica/state",
        ] {
            _ = try answer("GET", path)
        }
        _ = try answer("POST", "/_wharf/api/registry", body: #"{"name":"other","outputDir":"dist","keepDays":3}"#, expect: 201)
        _ = try answer("POST", "/_wharf/api/warm", body: #"{"app":"shop","paths":["/"]}"#)
        _ = try answer("POST", "/_wharf/api/apps/shop/purge")
        _ = try answer("GET", "/_wharf/api/jobs/99999", expect: 404)

        // What the webhooks were sent.
        for delivery in receiver.deliveries { check(delivery.body, "webhook \(delivery.headers["x-wharf-event"] ?? "?")") }

        // The CLI's JSON, and the slot report file `wharf slots` reads.
        for arguments in [["jobs", "--json", "--attempts"], ["alerts", "--json", "--all"], ["slots", "--json"], ["popular", "--json"]] {
            let result = try WharfProcess.run(arguments + ["--store", h.store])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            check(result.stdout, "wharf \(arguments.joined(separator: " "))")
        }
        check(try String(contentsOfFile: h.store + "/scheduler-state.json", encoding: .utf8), "scheduler-state.json")

        #expect(checked >= 30, "\(checked) answers checked")
        #expect(problems.isEmpty, "keys outside the camelCase convention:\n\(problems.joined(separator: "\n"))")
    }
}

import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Deploy notifications end to end with a real `wharf serve` and a receiver that fails the first
/// attempts: a push build that succeeds, one that fails, and an upload deploy each reach the
/// receiver exactly once (counting the 2xx-answered deliveries by their delivery id), including a
/// notification still undelivered when `wharf serve` is stopped and started again.
@Suite(.serialized) struct DeployNotificationTests {
    @Test func everyDeployIsNotifiedOnceThroughFailuresAndARestart() throws {
        let receiver = try WebhookReceiver(failFirst: 3)
        defer { receiver.stop() }
        let hook = "http://127.0.0.1:\(receiver.port)/deploys"
        let h = DeployHarness("notify")
        let origin = h.scratch.path + "/origin.git"
        let work = h.scratch.path + "/work"
        try PushHookTests.git(["init", "-q", "--bare", "-b", "main", origin])
        try PushHookTests.git(["init", "-q", "-b", "main", work])
        try PushHookTests.git(["-C", work, "config", "user.email", "ci@example.test"])
        try PushHookTests.git(["-C", work, "config", "user.name", "CI"])
        _ = try h.scratch.write(
            "work/build.sh",
            """
            if [ -f fail ]; then echo "::stage compile"; echo "compiler says no"; exit 3; fi
            mkdir -p site && cat version.txt > site/index.html

            """)
        let first = try PushHookTests.commit(work, version: "v1", origin: origin)
        let token = try h.register(
            "shop",
            [
                "--git", origin, "--branch", "main", "--build-cmd", "sh build.sh", "--output-dir", "site",
                "--notify", hook,
            ])
        let filesToken = try h.register("files", ["--notify", hook])
        let config = try h.scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n")
        try h.start(command: "serve", extra: ["--config", config])

        func delivered() -> [String: [String: Any]] {
            var out: [String: [String: Any]] = [:]
            for d in receiver.deliveries where d.answered == 200 {
                out[d.headers["x-wharf-delivery"] ?? "?"] = (try? JSONSerialization.jsonObject(with: Data(d.body.utf8))) as? [String: Any] ?? [:]
            }
            return out
        }
        func acceptedCount() -> Int { receiver.deliveries.filter { $0.answered == 200 }.count }

        // A successful push build: the first attempts fail (503); stop wharf while it backs off.
        let queued = try h.request("POST", "/_wharf/hooks/generic/shop", token: token, body: Array(#"{"ref":"main","commit":"\#(first)"}"#.utf8))
        #expect(queued.status == 202, "\(queued.body) \(h.daemon?.stderr ?? "")")
        let tried = eventually(60, every: 0.1) { receiver.deliveries.count >= 2 }
        #expect(tried, "no delivery attempts: \(h.daemon?.stderr ?? "")")
        h.stop()
        #expect(acceptedCount() == 0)
        try h.start(command: "serve", extra: ["--config", config])
        #expect(eventually(60, every: 0.2) { acceptedCount() >= 1 }, "\(receiver.deliveries.map(\.answered))\n\(h.daemon?.stderr ?? "")")

        // A failing push build and an upload deploy.
        _ = try h.scratch.write("work/fail", "x")
        let second = try PushHookTests.commit(work, version: "v2", origin: origin)
        #expect(
            try h.request("POST", "/_wharf/hooks/generic/shop", token: token, body: Array(#"{"ref":"main","commit":"\#(second)"}"#.utf8)).status
                == 202)
        _ = try h.scratch.write("site/index.html", "<h1>files</h1>")
        let deploy = try h.deploy(h.scratch.path + "/site", app: "files", token: filesToken, ["--promote"])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        #expect(eventually(60, every: 0.2) { acceptedCount() >= 3 }, "\(receiver.deliveries.map(\.answered))\n\(h.daemon?.stderr ?? "")")
        Thread.sleep(forTimeInterval: 3)  // anything repeated would arrive by now

        let byID = delivered()
        #expect(
            acceptedCount() == 3 && byID.count == 3,
            "each notification exactly once: \(receiver.deliveries.map { ($0.headers["x-wharf-delivery"] ?? "?", $0.answered) })")
        let bodies = Array(byID.values)
        let success = bodies.first { $0["event"] as? String == "deploy.succeeded" && $0["source"] as? String == "push" }
        #expect(success?["app"] as? String == "shop" && success?["commit"] as? String == first && success?["state"] as? String == "live", "\(bodies)")
        #expect((success?["text"] as? String)?.contains("shop") == true && (success?["urls"] as? [String])?.isEmpty == false, "\(bodies)")
        let failure = bodies.first { $0["event"] as? String == "deploy.failed" }
        #expect(
            failure?["stage"] as? String == "compile" && failure?["commit"] as? String == second && failure?["state"] as? String == "failed",
            "\(bodies)")
        let upload = bodies.first { $0["source"] as? String == "upload" }
        #expect(upload?["app"] as? String == "files" && upload?["state"] as? String == "live" && upload?["deployment"] as? String != nil, "\(bodies)")
        for (id, body) in byID { #expect("\(body["deliveryId"] ?? "")" == id) }
        h.stop()
    }
}

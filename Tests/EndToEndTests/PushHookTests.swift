import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Push webhooks end to end: a real `wharf edge` (admin listener with the hooks) and a real
/// `wharf scheduler` on one store, an app whose source is a local bare git repository. A signed
/// GitHub push builds that commit and the edge serves the result; the generic hook with a deploy
/// token builds the next commit; every refusal (bad or missing signature, unknown app, an app
/// without git, malformed JSON, another branch, a deletion, a replay, an oversized body, a missing
/// or foreign token) queues nothing.
@Suite(.serialized) struct PushHookTests {
    @Test func aSignedPushBuildsFromTheBareRepositoryAndTheEdgeServesIt() throws {
        let h = DeployHarness("push-hook")
        let origin = h.scratch.path + "/origin.git"
        let work = h.scratch.path + "/work"
        try Self.git(["init", "-q", "--bare", "-b", "main", origin])
        try Self.git(["init", "-q", "-b", "main", work])
        try Self.git(["-C", work, "config", "user.email", "ci@example.test"])
        try Self.git(["-C", work, "config", "user.name", "CI"])
        _ = try h.scratch.write("work/build.sh", "mkdir -p site && printf '<h1>built %s</h1>' \"$(cat version.txt)\" > site/index.html\n")
        let first = try Self.commit(work, version: "v1", origin: origin)

        let shopSecretFile = h.scratch.path + "/shop.secret"
        let filesSecretFile = h.scratch.path + "/files.secret"
        let shopToken = try h.register(
            "shop",
            [
                "--git", origin, "--branch", "main", "--build-cmd", "sh build.sh", "--output-dir", "site",
                "--type", "javascript_web", "--webhook-secret-file", shopSecretFile,
            ])
        let filesToken = try h.register("files", ["--webhook-secret-file", filesSecretFile])
        let secret = try String(contentsOfFile: shopSecretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let filesSecret = try String(contentsOfFile: filesSecretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try h.start()
        defer { h.stop() }
        let config = try h.scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n")
        let scheduler = try WharfDaemon(["scheduler", "--store", h.store, "--config", config], stderrPath: h.scratch.path + "/scheduler.log")
        defer { _ = scheduler.stop() }

        func push(
            _ app: String, ref: String = "refs/heads/main", after: String, delivery: String, secret: String,
            event: String = "push", extra: String = ""
        ) throws -> DeployHarness.Reply {
            let body =
                Array(#"{"ref":"\#(ref)","before":"\#(String(repeating: "0", count: 40))","after":"\#(after)","#.utf8)
                + Array(#""repository":{"clone_url":"https://attacker.example/evil.git"}\#(extra)}"#.utf8)
            return try h.request(
                "POST", "/_wharf/hooks/github/\(app)", token: nil, body: body,
                headers: [
                    "X-GitHub-Event: \(event)", "X-GitHub-Delivery: \(delivery)",
                    "X-Hub-Signature-256: sha256=\(try Self.hmac(body, key: secret))",
                ])
        }
        func jobs() throws -> [[String: Any]] {
            let out = try WharfProcess.run(["jobs", "--store", h.store, "--json"]).stdout
            return (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]] ?? []
        }

        // Refusals and ignored pushes: each answered, nothing queued.
        let ping = try h.request(
            "POST", "/_wharf/hooks/github/shop", token: nil, body: Array(#"{"zen":"hi"}"#.utf8),
            headers: [
                "X-GitHub-Event: ping", "X-GitHub-Delivery: p1",
                "X-Hub-Signature-256: sha256=\(try Self.hmac(Array(#"{"zen":"hi"}"#.utf8), key: secret))",
            ])
        #expect(ping.status == 200, "\(ping.body)")
        #expect(try push("shop", ref: "refs/heads/feature", after: first, delivery: "d-other", secret: secret).json["status"] as? String == "ignored")
        #expect(
            try push("shop", after: String(repeating: "0", count: 40), delivery: "d-del", secret: secret, extra: #","deleted":true"#).status == 200)
        #expect(try push("shop", after: first, delivery: "d-bad", secret: String(repeating: "a", count: 64)).status == 401)
        let unsigned = try h.request(
            "POST", "/_wharf/hooks/github/shop", token: nil, body: Array("{}".utf8),
            headers: ["X-GitHub-Event: push", "X-GitHub-Delivery: d-none"])
        #expect(unsigned.status == 401)
        #expect(try push("nosuchapp", after: first, delivery: "d-404", secret: secret).status == 404)
        #expect(try push("files", after: first, delivery: "d-409", secret: filesSecret).status == 409, "uploads-only app")
        let garbage = Array("{not json".utf8)
        let malformed = try h.request(
            "POST", "/_wharf/hooks/github/shop", token: nil, body: garbage,
            headers: [
                "X-GitHub-Event: push", "X-GitHub-Delivery: d-400",
                "X-Hub-Signature-256: sha256=\(try Self.hmac(garbage, key: secret))",
            ])
        #expect(malformed.status == 400, "\(malformed.body)")
        let huge = [UInt8](repeating: 0x20, count: (1 << 20) + 10)
        let oversized = try h.request(
            "POST", "/_wharf/hooks/github/shop", token: nil, body: huge,
            headers: ["X-GitHub-Event: push", "X-Hub-Signature-256: sha256=\(try Self.hmac(huge, key: secret))"])
        #expect(oversized.status == 413)
        let genericBody = #"{"ref":"main","commit":"\#(first)"}"#
        #expect(try h.request("POST", "/_wharf/hooks/generic/shop", token: nil, body: Array(genericBody.utf8)).status == 401)
        #expect(try h.request("POST", "/_wharf/hooks/generic/shop", token: filesToken, body: Array(genericBody.utf8)).status == 403)
        #expect(
            try h.request("POST", "/_wharf/hooks/generic/shop", token: shopToken, body: Array(#"{"ref":"main","commit":"zz"}"#.utf8)).status == 400)
        #expect(try jobs().isEmpty, "nothing may be queued by a refused or ignored hook")

        // The signed push to main: queued once, a replay of the same delivery queues nothing.
        let queued = try push("shop", after: first, delivery: "delivery-1", secret: secret)
        #expect(queued.status == 202, "\(queued.body)")
        let jobID = queued.json["job"] as? Int ?? -1
        let replay = try push("shop", after: first, delivery: "delivery-1", secret: secret)
        #expect(replay.status == 200 && replay.json["status"] as? String == "ignored" && replay.json["job"] as? Int == jobID, "\(replay.body)")
        #expect(try jobs().count == 1)

        func served() throws -> String {
            try ServeDemoTests.curl(["http://127.0.0.1:\(h.edgePort)/apps/shop/"]).out
        }
        let built = try eventually(90, every: 0.25) { try served().contains("built v1") }
        let servedNow = try served()
        let jobsNow = try jobs()
        #expect(built, "served: \(servedNow)\njobs: \(jobsNow)\n\(scheduler.stderr)")
        let job = try jobs().first
        #expect(job?["kind"] as? String == "user_push" && job?["state"] as? String == "succeeded", "\(String(describing: job))")
        let log = try WharfProcess.run(["logs", "\(jobID)", "--store", h.store]).stdout
        #expect(log.contains("checked out \(first)") && !log.contains("attacker.example"), "\(log)")

        // The generic hook with the app's deploy token builds the next commit.
        let second = try Self.commit(work, version: "v2", origin: origin)
        let generic = try h.request(
            "POST", "/_wharf/hooks/generic/shop", token: shopToken,
            body: Array(#"{"ref":"main","commit":"\#(second)","delivery":"ci-42"}"#.utf8))
        #expect(generic.status == 202, "\(generic.body)")
        #expect(
            try h.request(
                "POST", "/_wharf/hooks/generic/shop", token: shopToken,
                body: Array(#"{"ref":"main","commit":"\#(second)","delivery":"ci-42"}"#.utf8)
            ).json["status"] as? String == "ignored")
        #expect(try eventually(90, every: 0.25) { try served().contains("built v2") }, "\(scheduler.stderr)")
        #expect(try jobs().count == 2)
    }

    /// A push of a commit the repository does not have fails the build at the fetch, with the reason.
    @Test func aCommitMissingFromTheRepositoryFailsAtTheFetch() throws {
        let h = DeployHarness("push-hook-missing")
        let origin = h.scratch.path + "/origin.git"
        let work = h.scratch.path + "/work"
        try Self.git(["init", "-q", "--bare", "-b", "main", origin])
        try Self.git(["init", "-q", "-b", "main", work])
        try Self.git(["-C", work, "config", "user.email", "ci@example.test"])
        try Self.git(["-C", work, "config", "user.name", "CI"])
        _ = try h.scratch.write("work/build.sh", "mkdir -p site && echo x > site/index.html\n")
        _ = try Self.commit(work, version: "v1", origin: origin)
        let token = try h.register("shop", ["--git", origin, "--branch", "main", "--build-cmd", "sh build.sh", "--output-dir", "site"])
        try h.start()
        defer { h.stop() }
        let config = try h.scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n")
        let scheduler = try WharfDaemon(["scheduler", "--store", h.store, "--config", config], stderrPath: h.scratch.path + "/scheduler.log")
        defer { _ = scheduler.stop() }
        let missing = String(repeating: "ab", count: 20)
        let reply = try h.request("POST", "/_wharf/hooks/generic/shop", token: token, body: Array(#"{"ref":"main","commit":"\#(missing)"}"#.utf8))
        #expect(reply.status == 202, "\(reply.body)")
        var job: [String: Any] = [:]
        let ended = try eventually(60, every: 0.25) {
            let out = try WharfProcess.run(["jobs", "--store", h.store, "--json"]).stdout
            job = ((try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]])?.first ?? [:]
            return job["state"] as? String == "failed"
        }
        #expect(ended, "\(job)\n\(scheduler.stderr)")
        #expect("\(job)".contains("is not on refs/heads/main"), "\(job)")
    }

    static func git(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = arguments
        p.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "GIT_CONFIG_NOSYSTEM": "1"]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "git \(arguments) failed"]) }
    }

    /// Writes `version` to version.txt, commits, pushes to `origin`'s main; returns the commit id.
    static func commit(_ work: String, version: String, origin: String) throws -> String {
        try Data(version.utf8).write(to: URL(fileURLWithPath: work + "/version.txt"))
        try git(["-C", work, "add", "-A"])
        try git(["-C", work, "commit", "-q", "-m", version])
        try git(["-C", work, "push", "-q", origin, "main"])
        return try String(contentsOfFile: origin + "/refs/heads/main", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// HMAC-SHA256 of `body` keyed with `key`, hex (as GitHub signs), computed by openssl.
    static func hmac(_ body: [UInt8], key: String) throws -> String {
        let file = NSTemporaryDirectory() + "/wharf-hmac-\(UUID().uuidString)"
        try Data(body).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["dgst", "-sha256", "-hmac", key, "-r", file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }
}

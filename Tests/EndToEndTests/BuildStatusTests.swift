import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Deployment status and build logs over the admin API, end to end: a push build's state moves
/// queued/building → live, a failing one reports `failed` with its stage and log tail, and
/// `wharf logs ID --follow --to URL --token T` (another process, a read-scope token) prints the log
/// while it grows and ends with the build. A build secret stays `***` in every answer.
@Suite(.serialized) struct BuildStatusTests {
    @Test func statusAndStreamedLogsOfPushBuilds() throws {
        let h = DeployHarness("build-status")
        let origin = h.scratch.path + "/origin.git"
        let work = h.scratch.path + "/work"
        try PushHookTests.git(["init", "-q", "--bare", "-b", "main", origin])
        try PushHookTests.git(["init", "-q", "-b", "main", work])
        try PushHookTests.git(["-C", work, "config", "user.email", "ci@example.test"])
        try PushHookTests.git(["-C", work, "config", "user.name", "CI"])
        let secret = "hunter2-build-secret-value"
        _ = try h.scratch.write(
            "work/build.sh",
            """
            echo "::stage install"
            echo "line one"
            echo "the secret is $DEPLOY_KEY"
            if [ -f fail ]; then echo "::stage compile"; echo "compiler says no"; exit 3; fi
            sleep 3
            echo "line two"
            mkdir -p site && cat version.txt > site/index.html

            """)
        let first = try PushHookTests.commit(work, version: "v1", origin: origin)
        let token = try h.register("shop", ["--git", origin, "--branch", "main", "--build-cmd", "sh build.sh", "--output-dir", "site"])
        let otherToken = try h.register("other")
        let readFile = h.scratch.path + "/read.token"
        #expect(
            try WharfProcess.run(["apps", "token", "create", "shop", "--scope", "read", "--store", h.store, "--token-file", readFile]).status == 0)
        let readToken = try String(contentsOfFile: readFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try h.start()
        defer { h.stop() }
        let config = try h.scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n  build:\n    secrets: [\"DEPLOY_KEY=\(secret)\"]\n")
        let scheduler = try WharfDaemon(["scheduler", "--store", h.store, "--config", config], stderrPath: h.scratch.path + "/scheduler.log")
        defer { _ = scheduler.stop() }

        let queued = try h.request("POST", "/_wharf/hooks/generic/shop", token: token, body: Array(#"{"ref":"main","commit":"\#(first)"}"#.utf8))
        #expect(queued.status == 202, "\(queued.body)")
        let id = queued.json["job"] as? Int ?? -1

        // Another process follows the log over the API with the read token while the build runs.
        let output = h.scratch.path + "/follow.out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: WharfProcess.binary)
        follower.arguments = ["logs", "\(id)", "--follow", "--to", h.adminURL, "--token", readToken, "--timeout", "120"]
        follower.standardOutput = FileHandle(forWritingAtPath: output)
        follower.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try follower.run()
        var sawEarly = false
        var stateWhileStreaming = ""
        _ = eventually(60, every: 0.1) {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            guard text.contains("line one") else { return false }
            sawEarly = !text.contains("line two")
            stateWhileStreaming = (try? h.request("GET", "/_wharf/api/apps/shop/builds/\(id)", token: readToken).json["state"] as? String) ?? ""
            return true
        }
        #expect(sawEarly, "the log arrived only after the build had finished")
        #expect(stateWhileStreaming == "building", "\(stateWhileStreaming)")
        #expect(WharfProcess.waitForExit(follower, seconds: 60))
        #expect(follower.terminationStatus == 0)
        let followed = try String(contentsOfFile: output, encoding: .utf8)
        #expect(followed.contains("line one") && followed.contains("line two") && followed.contains("the secret is ***"), "\(followed)")
        #expect(!followed.contains(secret))

        let status = try h.request("GET", "/_wharf/api/apps/shop/builds/\(id)", token: readToken)
        #expect(status.status == 200 && status.json["state"] as? String == "live" && status.json["commit"] as? String == first, "\(status.body)")
        let list = try h.request("GET", "/_wharf/api/apps/shop/builds", token: token)
        #expect((list.json["builds"] as? [[String: Any]])?.count == 1, "\(list.body)")

        // A failing build: failed, with its stage and the log's tail.
        _ = try h.scratch.write("work/fail", "x")
        let second = try PushHookTests.commit(work, version: "v2", origin: origin)
        let failing = try h.request("POST", "/_wharf/hooks/generic/shop", token: token, body: Array(#"{"ref":"main","commit":"\#(second)"}"#.utf8))
        let failedID = failing.json["job"] as? Int ?? -1
        var failed: [String: Any] = [:]
        let ended = try eventually(60, every: 0.25) {
            failed = try h.request("GET", "/_wharf/api/apps/shop/builds/\(failedID)", token: readToken).json
            return failed["state"] as? String == "failed" && failed["jobState"] as? String == "failed"
        }
        #expect(ended, "\(failed)\n\(scheduler.stderr)")
        #expect(failed["stage"] as? String == "compile", "\(failed)")
        let tail = (failed["logTail"] as? [String] ?? []).joined(separator: "\n")
        #expect(tail.contains("compiler says no") && tail.contains("***") && !tail.contains(secret), "\(tail)")
        // The first build is still live; a finished log streams to its end at once.
        #expect(try h.request("GET", "/_wharf/api/apps/shop/builds/\(id)", token: readToken).json["state"] as? String == "live")
        let stream = try h.request("GET", "/_wharf/api/builds/\(failedID)/log", token: readToken)
        #expect(
            stream.status == 200 && stream.body.contains("data: ") && stream.body.contains("event: end\ndata: {\"state\":\"failed\"}"),
            "\(stream.body)")
        #expect(!stream.body.contains(secret))
        let remote = try WharfProcess.run(["logs", "\(failedID)", "--to", h.adminURL, "--token", readToken])
        #expect(remote.status == 1 && remote.stdout.contains("compiler says no"), "\(remote.stdout)\(remote.stderr)")

        // Who may read: an app token of another app sees 404, no token 401, unknown ids 404.
        #expect(try h.request("GET", "/_wharf/api/apps/shop/builds/\(id)", token: nil).status == 401)
        #expect(try h.request("GET", "/_wharf/api/apps/shop/builds/\(id)", token: otherToken).status == 403)
        #expect(try h.request("GET", "/_wharf/api/apps/other/builds/\(id)", token: otherToken).status == 404)
        #expect(try h.request("GET", "/_wharf/api/builds/\(id)/log", token: otherToken).status == 404)
        #expect(try h.request("GET", "/_wharf/api/builds/999999/log", token: readToken).status == 404)
        #expect(
            try h.request("GET", "/_wharf/api/builds/999999/log", token: "wharf_0123456789abcdef_" + String(repeating: "0", count: 64)).status == 401)
        #expect(try h.request("GET", "/_wharf/api/apps/shop/builds/abc", token: readToken).status == 404)
        #expect(try h.request("GET", "/_wharf/api/apps/shop/builds?limit=0", token: readToken).status == 400)
        let bad = try WharfProcess.run(["logs", "\(id)", "--to", h.adminURL, "--token", otherToken])
        #expect(bad.status == 1 && bad.stderr.contains("404"), "\(bad.stderr)")
        // Nothing the API answered holds the secret.
        #expect(!list.body.contains(secret) && !status.body.contains(secret))
    }
}

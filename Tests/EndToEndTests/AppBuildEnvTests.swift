import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Per-app build environment and secrets with the real binary and a real `wharf serve`: a build of
/// the app sees its variables and secrets, its log shows the variable and `***` for each secret,
/// and no answer (`wharf apps show`, the registry API, the job API, `wharf jobs --json`) nor the
/// store database holds a secret's value; another app's build gets none of them; bad names and
/// shapes are refused (CLI exit 1, API 400) with the registry unchanged.
@Suite struct AppBuildEnvTests {
    static let secret = "s3cr3t-value-7f2c91"
    static let fileSecret = "signing-key-from-a-file-0b3d"

    @Test func aBuildGetsItsAppsVariablesAndSecretsWhichNoAnswerEverShows() throws {
        let h = DeployHarness("app-build-env")
        let secretFile = try h.scratch.write("signing.txt", Self.fileSecret + "\n")
        try h.register(
            "shop",
            [
                "--env", "API_URL=https://api.shop.test/v1?a=b", "--secret", "API_KEY=\(Self.secret)",
                "--secret-file", "SIGNING=\(secretFile)",
            ])
        try h.register("other")

        // Bad names and values: a clear error, nothing stored.
        let before = try WharfProcess.run(["apps", "show", "shop", "--store", h.store])
        #expect(before.status == 0, "\(before.stderr)")
        for (flags, message) in [
            (["--env", "WHARF_JOB_ID=1"], "reserved"), (["--secret", "LD_PRELOAD=/x.so"], "reserved"),
            (["--env", "1ST=x"], "not a variable name"), (["--secret", "A-B=x"], "not a variable name"),
            (["--unset-env", "bad name"], "not a variable name"), (["--env", "NOEQUALS"], "NAME=VALUE"),
            (["--secret-file", "K=/nonexistent/file"], "cannot read"),
        ] {
            let refused = try WharfProcess.run(["apps", "set", "shop", "--store", h.store] + flags)
            #expect(refused.status != 0, "\(flags) was accepted")
            #expect(refused.stderr.contains(message), "\(flags): \(refused.stderr)")
        }
        let shown = try WharfProcess.run(["apps", "show", "shop", "--store", h.store])
        #expect(shown.stdout == before.stdout, "a refused change left the entry as it was")
        #expect(shown.stdout.contains("env: API_URL=https://api.shop.test/v1?a=b"), "\(shown.stdout)")
        #expect(shown.stdout.contains("secrets: API_KEY SIGNING (values not shown)"), "\(shown.stdout)")
        #expect(!shown.stdout.contains(Self.secret) && !shown.stdout.contains(Self.fileSecret))
        let listed = try WharfProcess.run(["apps", "list", "--store", h.store])
        #expect(!listed.stdout.contains(Self.secret))
        // The database alone does not reveal a secret (sealed with a key kept beside it, 0600).
        for name in try FileManager.default.contentsOfDirectory(atPath: h.store) where name.hasPrefix("store.sqlite") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: h.store + "/" + name))
            #expect(bytes.range(of: Data(Self.secret.utf8)) == nil, "\(name) holds the secret in clear")
            #expect(bytes.range(of: Data(Self.fileSecret.utf8)) == nil, "\(name) holds the file secret in clear")
        }
        var info = stat()
        #expect(stat(h.store + "/build-secret-key", &info) == 0 && info.st_mode & 0o777 == 0o600)

        let config = try h.scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n")
        try h.start(command: "serve", extra: ["--config", config])
        defer { h.stop() }

        // The registry API: env readable, secrets by name only; bad shapes 400, nothing changed.
        let entry = try h.request("GET", "/_wharf/api/registry/shop", token: h.adminToken)
        #expect(entry.status == 200)
        #expect((entry.json["env"] as? [String: String]) == ["API_URL": "https://api.shop.test/v1?a=b"], "\(entry.body)")
        #expect((entry.json["secrets"] as? [String]) == ["API_KEY", "SIGNING"], "\(entry.body)")
        #expect(!entry.body.contains(Self.secret) && !entry.body.contains(Self.fileSecret))
        let huge = String(repeating: "x", count: 40_000)
        for body in [
            #"{"env":{"WHARF_APP":"x"}}"#, #"{"secrets":{"LD_LIBRARY_PATH":"x"}}"#, #"{"env":{"A B":"x"}}"#,
            #"{"secrets":["API_KEY"]}"#, #"{"env":{"A":1}}"#, #"{"env":"A=1"}"#, #"{"secrets":{"BIG":"\#(huge)"}}"#,
            #"{"env":{"NUL":"a\u0000b"}}"#, #"{"env":{"":"x"}}"#,
        ] {
            let reply = try h.request("PATCH", "/_wharf/api/registry/shop", token: h.adminToken, body: Array(body.utf8))
            #expect(reply.status == 400, "\(body.prefix(60)): \(reply.status) \(reply.body)")
        }
        #expect(try h.request("PATCH", "/_wharf/api/registry/shop", token: nil, body: Array(#"{"secrets":{"X":"y"}}"#.utf8)).status == 401)
        let unchanged = try h.request("GET", "/_wharf/api/registry/shop", token: h.adminToken)
        #expect(
            unchanged.json["secrets"] as? [String] == ["API_KEY", "SIGNING"]
                && unchanged.json["env"] as? [String: String] == ["API_URL": "https://api.shop.test/v1?a=b"])
        // A change through the API answers names only too.
        let patched = try h.request(
            "PATCH", "/_wharf/api/registry/shop", token: h.adminToken,
            body: Array(#"{"env":{"MODE":"production"},"secrets":{"EXTRA":"another-hidden-value"}}"#.utf8))
        #expect(patched.status == 200, "\(patched.body)")
        #expect(patched.json["secrets"] as? [String] == ["API_KEY", "EXTRA", "SIGNING"] && !patched.body.contains("another-hidden-value"))

        // Builds: the app's own get its variables and secrets (redacted in the log); another app's none.
        _ = try h.scratch.write(
            "src/build.sh",
            """
            echo "url=$API_URL mode=$MODE key=$API_KEY signing=$SIGNING extra=$EXTRA"
            mkdir -p dist && echo '<!doctype html><title>env</title>' > dist/index.html

            """)
        var ids: [String: Int64] = [:]
        for app in ["shop", "other"] {
            let reply = try h.post(
                "/_wharf/api/jobs", token: h.adminToken,
                json: #"{"app":"\#(app)","type":"javascript_web","source":"\#(h.scratch.path)/src","cmd":"sh build.sh"}"#)
            #expect(reply.status == 201 || reply.status == 202 || reply.status == 200, "\(reply.status) \(reply.body)")
            ids[app] = (reply.json["id"] as? NSNumber)?.int64Value
        }
        let shopID = try #require(ids["shop"])
        let otherID = try #require(ids["other"])
        let settled = eventually(60, every: 0.2) {
            [shopID, otherID].allSatisfy { id in
                let state = (try? h.request("GET", "/_wharf/api/jobs/\(id)", token: h.adminToken))?.json["state"] as? String
                return state == "succeeded" || state == "failed"
            }
        }
        #expect(settled, "\(h.daemon?.stderr ?? "")")
        let shopLog = try WharfProcess.run(["logs", "\(shopID)", "--store", h.store])
        #expect(shopLog.stdout.contains("url=https://api.shop.test/v1?a=b mode=production key=*** signing=*** extra=***"), "\(shopLog.stdout)")
        let otherLog = try WharfProcess.run(["logs", "\(otherID)", "--store", h.store])
        #expect(otherLog.stdout.contains("url= mode= key= signing= extra="), "\(otherLog.stdout)")
        for id in [shopID, otherID] {
            let job = try h.request("GET", "/_wharf/api/jobs/\(id)", token: h.adminToken)
            #expect(job.json["state"] as? String == "succeeded", "\(job.body)")
            #expect(!job.body.contains(Self.secret) && !job.body.contains(Self.fileSecret) && !job.body.contains("another-hidden-value"))
        }
        let jobs = try WharfProcess.run(["jobs", "--json", "--attempts", "--store", h.store])
        #expect(!jobs.stdout.contains(Self.secret) && !jobs.stdout.contains(Self.fileSecret))
        for log in [shopLog.stdout, otherLog.stdout] {
            #expect(!log.contains(Self.secret) && !log.contains(Self.fileSecret) && !log.contains("another-hidden-value"))
        }

        // A push build of a git app gets its own secret the same way.
        let origin = h.scratch.path + "/origin.git"
        let work = h.scratch.path + "/work"
        try PushHookTests.git(["init", "-q", "--bare", "-b", "main", origin])
        try PushHookTests.git(["init", "-q", "-b", "main", work])
        try PushHookTests.git(["-C", work, "config", "user.email", "ci@example.test"])
        try PushHookTests.git(["-C", work, "config", "user.name", "CI"])
        _ = try h.scratch.write("work/build.sh", "echo \"pushed key=$PUSH_KEY url=$API_URL\"\nmkdir -p dist && cat version.txt > dist/index.html\n")
        let commit = try PushHookTests.commit(work, version: "v1", origin: origin)
        let pushToken = try h.register(
            "pushed",
            [
                "--git", origin, "--build-cmd", "sh build.sh", "--output-dir", "dist",
                "--secret", "PUSH_KEY=push-secret-5e6f7a",
            ])
        // (JSONFields reads a JSON 1/0 as a boolean for every key, so only non-numbers are refused here.)
        for hostile in [#""yes""#, "[true]", "null1", #"{"a":1}"#] {
            let refused = try h.request(
                "POST", "/_wharf/hooks/generic/pushed", token: pushToken,
                body: Array(#"{"ref":"main","commit":"\#(commit)","force":\#(hostile)}"#.utf8))
            #expect(refused.status == 400, "force \(hostile): \(refused.status) \(refused.body)")
        }
        // The generic hook takes an optional "force" (push builds are never cache hits; the job records it).
        let push = try h.request(
            "POST", "/_wharf/hooks/generic/pushed", token: pushToken,
            body: Array(#"{"ref":"main","commit":"\#(commit)","force":true}"#.utf8))
        #expect(push.status == 202, "\(push.body)")
        let pushID = try #require((push.json["job"] as? NSNumber)?.int64Value, "\(push.body)")
        #expect(
            eventually(60, every: 0.2) {
                (try? h.request("GET", "/_wharf/api/jobs/\(pushID)", token: h.adminToken))?.json["state"] as? String == "succeeded"
            }, "\(h.daemon?.stderr ?? "")")
        let pushJob = try h.request("GET", "/_wharf/api/jobs/\(pushID)", token: h.adminToken)
        #expect(pushJob.json["force"] as? Bool == true && pushJob.json["cacheHit"] as? Bool == false, "\(pushJob.body)")
        let pushLog = try WharfProcess.run(["logs", "\(pushID)", "--store", h.store])
        #expect(pushLog.stdout.contains("pushed key=*** url="), "\(pushLog.stdout)")
        #expect(!pushLog.stdout.contains("push-secret-5e6f7a") && !pushLog.stdout.contains("api.shop.test"))

        // Unset: the next build no longer gets it.
        let unset = try WharfProcess.run(["apps", "set", "shop", "--unset-secret", "EXTRA", "--unset-env", "MODE", "--store", h.store])
        #expect(unset.status == 0 && unset.stdout.contains("secrets: API_KEY SIGNING (values not shown)"), "\(unset.stdout)\(unset.stderr)")
    }
}

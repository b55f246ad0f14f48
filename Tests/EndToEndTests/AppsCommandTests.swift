import Foundation
import Testing
import WharfTestSupport

/// `wharf apps …` on a store, the registry over the admin API, and the deploy.* keys in
/// check-config: every change checked, no stored secret ever printed or returned.
@Suite struct AppsCommandTests {
    @Test func appsCommandsManageTheRegistryAndTokensWithoutPrintingSecrets() throws {
        let scratch = ScratchDirectory("wharf-apps")
        let store = scratch.path + "/store"
        func wharf(_ args: [String]) throws -> WharfProcess.Result { try WharfProcess.run(args + ["--store", store]) }
        let add = try wharf([
            "apps", "add", "web", "--host", "web.test", "--git", "https://git.test/web.git", "--branch", "main",
            "--build-cmd", "npm run build", "--output-dir", "dist", "--type", "javascript_web",
            "--notify", "https://hooks.test/a", "--webhook-secret-file", scratch.path + "/hook",
        ])
        #expect(add.status == 0, "\(add.stderr)")
        let token = add.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("wharf_"))
        let hook = try String(contentsOfFile: scratch.path + "/hook", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hook.count == 64)
        #expect(try FileManager.default.attributesOfItem(atPath: scratch.path + "/hook")[.posixPermissions] as? Int == 0o600)

        let show = try wharf(["apps", "show", "web"])
        #expect(show.stdout.contains("source: git https://git.test/web.git branch main"))
        #expect(show.stdout.contains("webhook_secret: set (not shown)"))
        #expect(!show.stdout.contains(String(token.suffix(64))) && !show.stdout.contains(hook))
        #expect(try wharf(["apps", "list"]).stdout.contains("web\tjavascript_web\tgit https://git.test/web.git#main\tweb.test"))

        let set = try wharf(["apps", "set", "web", "--uploads-only", "--host", "www.web.test", "--max-files", "20"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("source: uploads only") && set.stdout.contains("hostnames: www.web.test"))
        #expect(set.stdout.contains("quota: 20 files"))
        #expect(try wharf(["apps", "set", "web", "--rotate-webhook-secret"]).status != 0)
        #expect(try wharf(["apps", "set", "web", "--host", "bad host"]).status == 1)
        #expect(try wharf(["apps", "add", "web"]).status == 1)
        #expect(try wharf(["apps", "add", "Bad_Name"]).status == 1)
        let downloads = try wharf(["apps", "set", "web", "--download", "*.bin", "--download", "/releases/**"])
        #expect(downloads.status == 0, "\(downloads.stderr)")
        #expect(downloads.stdout.contains("downloads: *.bin /releases/**"))
        let badGlob = try wharf(["apps", "set", "web", "--download", "/../x"])
        #expect(badGlob.status == 1 && badGlob.stderr.contains("download pattern"), "\(badGlob.stderr)")
        #expect(try wharf(["apps", "show", "web"]).stdout.contains("downloads: *.bin /releases/**"))
        #expect(try wharf(["apps", "set", "web", "--no-downloads"]).stdout.contains("downloads: -"))

        let read = try wharf(["apps", "token", "create", "web", "--scope", "read"])
        #expect(read.status == 0 && read.stdout.hasPrefix("wharf_"))
        let firstID = String(token.split(separator: "_")[1])
        let readID = String(read.stdout.split(separator: "_")[1])
        let listed = try wharf(["apps", "token", "list", "web"]).stdout
        #expect(listed.contains("\(firstID)\tdeploy\tlive") && listed.contains("\(readID)\tread\tlive"))
        #expect(!listed.contains(String(token.suffix(64))))
        let rotated = try wharf(["apps", "token", "rotate", "web", firstID])
        #expect(rotated.status == 0 && rotated.stdout.hasPrefix("wharf_\(firstID)_") && rotated.stdout != add.stdout)
        #expect(try wharf(["apps", "token", "revoke", "web", readID]).status == 0)
        #expect(try wharf(["apps", "token", "list", "web"]).stdout.contains("\(readID)\tread\trevoked"))
        #expect(try wharf(["apps", "token", "revoke", "web", "0000000000000000"]).status == 1)

        #expect(try wharf(["apps", "remove", "web"]).status == 0)
        #expect(try wharf(["apps", "list"]).stdout.isEmpty)
        #expect(try wharf(["apps", "remove", "web"]).status == 1)
    }

    @Test func theRegistryOverTheAdminAPI() throws {
        let h = DeployHarness("wharf-registry-api")
        try h.start()
        defer { h.stop() }
        let created = try h.post(
            "/_wharf/api/registry", token: h.adminToken,
            json: #"{"name":"api","hostnames":["api.test"],"git":"https://git.test/api.git","targetType":"flutter_web"}"#)
        #expect(created.status == 201, "\(created.body)")
        let token = (created.json["token"] as? [String: Any])?["token"] as? String ?? ""
        let secret = created.json["webhookSecret"] as? String ?? ""
        #expect(token.hasPrefix("wharf_") && secret.count == 64)
        #expect(try h.post("/_wharf/api/registry", token: h.adminToken, json: #"{"name":"api"}"#).status == 409)
        #expect(try h.post("/_wharf/api/registry", token: h.adminToken, json: #"{"name":"x","hostnames":["a:1"]}"#).status == 400)
        #expect(try h.post("/_wharf/api/registry", token: h.adminToken, json: #"{"name":"x","colour":"red"}"#).status == 400)
        #expect(try h.post("/_wharf/api/registry", token: token, json: #"{"name":"y"}"#).status == 401)

        let list = try h.request("GET", "/_wharf/api/registry", token: h.adminToken)
        #expect(list.status == 200 && list.body.contains("\"api.test\"") && list.body.contains("\"webhookSecretSet\":true"))
        let shown = try h.request("GET", "/_wharf/api/registry/api", token: token)
        #expect(shown.status == 200 && shown.body.contains("\"branch\":\"main\""))
        for body in [list.body, shown.body] {
            #expect(!body.contains(secret) && !body.contains(String(token.suffix(64))))
        }
        let patched = try h.request(
            "PATCH", "/_wharf/api/registry/api", token: h.adminToken,
            body: Array(#"{"git":null,"rotateWebhookSecret":true}"#.utf8))
        #expect(patched.status == 200, "\(patched.body)")
        let newSecret = patched.json["webhookSecret"] as? String ?? ""
        #expect(newSecret.count == 64 && newSecret != secret)
        #expect((patched.json["app"] as? [String: Any])?["source"] as? String == "uploads")
        let globs = try h.request("PATCH", "/_wharf/api/registry/api", token: h.adminToken, body: Array(#"{"downloads":["*.bin"]}"#.utf8))
        #expect(globs.status == 200 && globs.json["downloads"] as? [String] == ["*.bin"], "\(globs.body)")
        for bad in [#"{"downloads":"*.bin"}"#, #"{"downloads":["a\u0000"]}"#, #"{"downloads":["/a/../b"]}"#, #"{"downloads":[1]}"#] {
            let refused = try h.request("PATCH", "/_wharf/api/registry/api", token: h.adminToken, body: Array(bad.utf8))
            #expect(refused.status == 400, "\(bad): \(refused.body)")
        }
        #expect(try h.request("PATCH", "/_wharf/api/registry/api", token: token, body: Array(#"{"downloads":[]}"#.utf8)).status == 401)
        #expect(try h.request("GET", "/_wharf/api/registry/api", token: token).json["downloads"] as? [String] == ["*.bin"])
        #expect(try h.request("PATCH", "/_wharf/api/registry/api", token: token, body: Array("{}".utf8)).status == 401)
        let tokens = try h.request("GET", "/_wharf/api/registry/api/tokens", token: h.adminToken)
        #expect(tokens.status == 200 && !tokens.body.contains(String(token.suffix(64))))
        #expect(try h.request("DELETE", "/_wharf/api/registry/api", token: h.adminToken).status == 200)
        #expect(try h.request("GET", "/_wharf/api/registry/api", token: h.adminToken).status == 404)
        #expect(try h.request("GET", "/_wharf/api/registry/api", token: token).status == 401)
    }

    @Test func checkConfigValidatesTheDeployKeys() throws {
        let scratch = ScratchDirectory("wharf-deploy-config")
        let good = try WharfProcess.run(["check-config", "--store", scratch.path + "/s"], environment: ["WHARF_DEPLOY_MAX_FILES": "500"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("deploy: max_files 500, max_bytes 1073741824, max_file_bytes 268435456"))
        let bad = try WharfProcess.run(
            ["check-config", "--store", scratch.path + "/s"],
            environment: ["WHARF_DEPLOY_MAX_FILES": "0", "WHARF_DEPLOY_MAX_FILE_BYTES": "lots"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("deploy.max_files") && bad.stderr.contains("deploy.max_file_bytes"), "\(bad.stderr)")
    }
}

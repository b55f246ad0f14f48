import Foundation
import Testing
import WharfTestSupport

/// Per-app publishing settings with the real binary: the MIME allow-list refuses a file outside it
/// with 415 at manifest time (`wharf deploy`, the API) and at archive time (tar and zip), the store
/// unchanged; per-app retention keeps the newest N and/or the young ones, always the live
/// deployment and the one before it, after each publish and in `wharf gc`, with `wharf verify`
/// clean and the live deployment still served.
@Suite struct PublishSettingsTests {
    @Test func filesOutsideTheAllowListAreRefusedWith415AndNothingChanges() throws {
        let h = DeployHarness("wharf-allowed-types")
        let token = try h.register(
            "shop",
            [
                "--host", "shop.types.test", "--allow-type", "text/html", "--allow-type", "text/*",
                "--allow-type", ".APK", "--allow-type", "image/png",
            ])
        try h.start()
        defer { h.stop() }
        try h.scratch.write("good/index.html", "<!doctype html><title>typed</title>\n")
        try h.scratch.write("good/app.apk", "apk")
        try h.scratch.write("good/notes.txt", "text/* allows text/plain")
        let first = try h.deploy(h.scratch.path + "/good", app: "shop", token: token, ["--promote"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try h.storeState(app: "shop")
        #expect(before.verified)

        // Manifest time: the deploy client's manifest, and a hand-written one.
        try h.scratch.write("bad/index.html", "<!doctype html>\n")
        try h.scratch.write("bad/assets/app.wasm", "\0asm")
        let refused = try h.deploy(h.scratch.path + "/bad", app: "shop", token: token, ["--promote"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("assets/app.wasm") && refused.stderr.contains("not an allowed type"), "\(refused.stderr)")
        let h64 = String(repeating: "a", count: 64)
        for path in ["tool.exe", "x.svg", "noextension"] {
            let reply = try h.post(
                "/_wharf/api/apps/shop/deploys", token: token,
                json: #"{"files":[{"path":"\#(path)","sha256":"\#(h64)","size":1}]}"#)
            #expect(reply.status == 415, "\(path): \(reply.status) \(reply.body)")
        }
        // Archive time: tar and zip, refused before the file's bytes are staged.
        try h.scratch.write("archive/index.html", "<!doctype html>\n")
        try h.scratch.write("archive/run.sh", "#!/bin/sh\n")
        #expect(try ArchiveUploadTests.tar(["-C", h.scratch.path + "/archive", "-czf", h.scratch.path + "/bad.tgz", "."]) == 0)
        #expect(try ZipArchiveUploadTests.zip(h.scratch.path + "/archive", [], output: h.scratch.path + "/bad.zip") == 0)
        for name in ["bad.tgz", "bad.zip"] {
            let reply = try h.request(
                "POST", "/_wharf/api/apps/shop/archives?promote=1", token: token,
                body: Array(try Data(contentsOf: URL(fileURLWithPath: h.scratch.path + "/" + name))))
            #expect(reply.status == 415, "\(name): \(reply.body)")
            #expect(reply.body.contains("run.sh"), "\(name): \(reply.body)")
        }
        // The registry refuses malformed entries; clearing the list allows everything again.
        for bad in ["*/*", "text", ".a/b", "text/html; charset=utf-8", ""] {
            let set = try WharfProcess.run(["apps", "set", "shop", "--allow-type", bad, "--store", h.store])
            #expect(set.status == 1, "\(bad)")
        }
        let api = try h.request("PATCH", "/_wharf/api/registry/shop", token: h.adminToken, body: Array(#"{"allowedTypes":["bad"]}"#.utf8))
        #expect(api.status == 400)

        let after = try h.storeState(app: "shop")
        #expect(after.verified)
        #expect(after.deployments == before.deployments)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/blobs").isEmpty)

        let cleared = try h.request("PATCH", "/_wharf/api/registry/shop", token: h.adminToken, body: Array(#"{"allowedTypes":null}"#.utf8))
        #expect(cleared.status == 200 && (cleared.json["allowedTypes"] as? [String]) == [], "\(cleared.body)")
        let now = try h.deploy(h.scratch.path + "/bad", app: "shop", token: token, ["--promote"])
        #expect(now.status == 0, "\(now.stderr)")
    }

    /// Publishes `count` versions of `app` with `wharf publish` (each one goes live).
    static func publish(_ scratch: ScratchDirectory, store: String, app: String, versions: Range<Int>) throws {
        for v in versions {
            try scratch.write("v\(v)/index.html", "<!doctype html><title>version \(v)</title>\n")
            let r = try WharfProcess.run(["publish", app, scratch.path + "/v\(v)", "--version", "v\(v)", "--store", store])
            #expect(r.status == 0, "\(r.stderr)")
        }
    }

    static func versions(_ store: String, _ app: String) throws -> [String] {
        let list = try WharfProcess.run(["deployments", app, "--store", store]).stdout
        return list.split(separator: "\n").compactMap { line in line.split(separator: " ").first { $0.hasPrefix("v") }.map(String.init) }
    }

    @Test func perAppRetentionKeepsTheNewestAndTheLiveAndPrevious() throws {
        let scratch = ScratchDirectory("wharf-retention")
        let store = scratch.path + "/store"
        #expect(try WharfProcess.run(["apps", "add", "kept", "--keep-deployments", "3", "--store", store]).status == 0)
        #expect(try WharfProcess.run(["apps", "add", "one", "--keep-deployments", "1", "--store", store]).status == 0)
        // After each publish: the newest 3.
        try Self.publish(scratch, store: store, app: "kept", versions: 1..<7)
        #expect(try Self.versions(store, "kept") == ["v6", "v5", "v4"])
        // keep 1 still keeps the one before the live one (the rollback target).
        try Self.publish(scratch, store: store, app: "one", versions: 1..<5)
        #expect(try Self.versions(store, "one") == ["v4", "v3"])
        // An unregistered app keeps the store default (10).
        try Self.publish(scratch, store: store, app: "plain", versions: 1..<13)
        #expect(try Self.versions(store, "plain").count == 10)

        // Roll "kept" back to v4, then allow only 1: gc keeps v4 (live) and v3 is gone already, so
        // the one before the live one is whatever precedes it: nothing; the newest (v6) stays too.
        #expect(try WharfProcess.run(["rollback", "kept", "--store", store]).status == 0)
        #expect(try WharfProcess.run(["rollback", "kept", "--store", store]).status == 0)
        #expect(try WharfProcess.run(["apps", "set", "kept", "--keep-deployments", "1", "--store", store]).status == 0)
        let gc = try WharfProcess.run(["gc", "--store", store])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(try Self.versions(store, "kept") == ["v6", "v4"], "the newest and the live one")

        // Age: keep deployments younger than 7 days; make v1–v8 of "aged" 30 days old in the
        // database (the store's own clock is not adjustable), then gc.
        #expect(try WharfProcess.run(["apps", "add", "aged", "--keep-days", "7", "--store", store]).status == 0)
        try Self.publish(scratch, store: store, app: "aged", versions: 1..<12)
        #expect(try Self.versions(store, "aged").count == 11, "all young: all kept, over the default of 10")
        let old = Int64(Date().timeIntervalSince1970 * 1000) - 30 * 86_400_000
        let sql = "UPDATE deployments SET created_at = \(old) WHERE app = 'aged' AND version IN ('v1','v2','v3','v4','v5','v6','v7','v8');"
        let update = try ArchiveUploadTests.run(["/usr/bin/env", "sqlite3", store + "/store.sqlite", sql])
        #expect(update == 0)
        // Point the alias at the old v5: live and previous (v4) stay though old.
        let list = try WharfProcess.run(["deployments", "aged", "--store", store]).stdout
        let v5 = try #require(
            list.split(separator: "\n").first { $0.contains(" v5 ") || $0.hasSuffix(" v5") }?
                .split(separator: " ").first { $0.count > 20 }.map(String.init), "\(list)")
        #expect(try WharfProcess.run(["rollback", "aged", v5, "--store", store]).status == 0)
        #expect(try WharfProcess.run(["gc", "--store", store]).status == 0)
        #expect(try Self.versions(store, "aged") == ["v11", "v10", "v9", "v5", "v4"])

        let verify = try WharfProcess.run(["verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        // The live deployment is still served.
        let edge = try WharfDaemon(
            ["edge", "--store", store, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "1"],
            stderrPath: scratch.path + "/edge.log")
        defer { _ = edge.stop() }
        #expect(eventually(60, { edge.stderr.contains("admin API on") }))
        let port = try #require(SchedulerAPITests.port(after: "edge listening on http://127.0.0.1:", in: edge.stderr))
        let page = try ServeDemoTests.curl(["http://127.0.0.1:\(port)/apps/aged/"])
        #expect(page.out.contains("version 5"), "\(page.out)")

        // Bad values are refused.
        #expect(try WharfProcess.run(["apps", "set", "aged", "--keep-days", "-1", "--store", store]).status != 0)
        #expect(try WharfProcess.run(["apps", "set", "aged", "--keep-deployments", "20000", "--store", store]).status == 1)
    }
}

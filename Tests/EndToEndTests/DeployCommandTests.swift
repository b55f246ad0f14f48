import Foundation
import Glibc
import Testing
import WharfTestSupport

/// `wharf apps` + the upload API + `wharf deploy` against a real `wharf edge`: only missing
/// blobs travel, registered host names route, every hostile upload gets its 4xx and leaves the
/// store as it was, tokens are scoped, rotated and revoked, and a deploy over HTTPS with the
/// development CA resumes an interrupted one.
@Suite(.serialized) struct DeployCommandTests {
    /// Distinct contents in the demo site.
    static func distinctBlobs(_ directory: String) throws -> Int {
        var hashes = Set<String>()
        let enumerator = FileManager.default.enumerator(atPath: directory)!
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory)
            if !isDirectory.boolValue {
                hashes.insert(try DeployHarness.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path)))))
            }
        }
        return hashes.count
    }

    @Test func aSecondDeployWithOneChangedFileUploadsOneBlobAndTheRegisteredHostServesIt() throws {
        let h = DeployHarness("wharf-deploy-e2e")
        let token = try h.register("demo", ["--host", "demo.deploy.test"])
        try h.start()
        defer { h.stop() }

        let first = try h.deploy(ServeDemoTests.demoSite, app: "demo", token: token, ["--promote", "--version", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n").map(String.init)
        let firstID = lines.first ?? ""
        #expect(firstID.count > 10)
        #expect(lines.contains("http://demo.deploy.test:\(h.edgePort)/"), "\(lines)")
        let blobs = try Self.distinctBlobs(ServeDemoTests.demoSite)
        #expect(try h.metric("wharf_deploy_blobs_uploaded_total") == blobs)

        // Routed by the registry's host name (the edge has no edge.hosts entry for it).
        let page = try ServeDemoTests.curl(["-H", "Host: demo.deploy.test", "http://127.0.0.1:\(h.edgePort)/"])
        #expect(page.out.contains("Harbor board"))

        // One file changed: one blob travels (the server's counter and its "missing" answer agree).
        let site = h.scratch.path + "/site2"
        try FileManager.default.copyItem(atPath: ServeDemoTests.demoSite, toPath: site)
        let index = site + "/index.html"
        try (try String(contentsOfFile: index, encoding: .utf8) + "<!-- second deploy -->\n").write(toFile: index, atomically: true, encoding: .utf8)
        let second = try h.deploy(site, app: "demo", token: token, ["--promote", "--version", "2"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("1 of \(blobs) blobs to upload"), "\(second.stderr)")
        #expect(try h.metric("wharf_deploy_blobs_uploaded_total") == blobs + 1)
        let secondID = second.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(secondID != firstID)
        #expect(
            eventually(10) {
                (try? ServeDemoTests.curl(["-H", "Host: demo.deploy.test", "http://127.0.0.1:\(h.edgePort)/"]).out.contains("second deploy")) == true
            })
        let state = try h.storeState(app: "demo")
        #expect(state.verified)
        #expect(state.deployments.contains("*  \(secondID)"), "\(state.deployments)")

        // Without --promote the deployment is stored but not served.
        try "third\n".write(toFile: site + "/extra.txt", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: site + "/empty.txt", contents: Data())
        let third = try h.deploy(site, app: "demo", token: token)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try h.storeState(app: "demo").deployments.contains("*  \(secondID)"))
        #expect(third.stderr.contains("2 of \(blobs + 2) blobs to upload"), "\(third.stderr)")
        let thirdID = third.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(try h.storeState(app: "demo").deployments.contains("\(thirdID)  "))
    }

    @Test func hostileUploadsGetTheir4xxAndLeaveTheStoreUnchanged() throws {
        let h = DeployHarness("wharf-deploy-hostile")
        let token = try h.register("shop", ["--max-files", "4", "--max-bytes", "100000"])
        let otherToken = try h.register("other")
        try h.start(environment: ["WHARF_DEPLOY_MAX_FILE_BYTES": "65536"])
        defer { h.stop() }
        let site = h.scratch.path + "/shop"
        try h.scratch.write("shop/index.html", "<!doctype html><title>shop</title>\n")
        try h.scratch.write("shop/app.js", "console.log('shop')\n")
        let baseline = try h.deploy(site, app: "shop", token: token, ["--promote"])
        #expect(baseline.status == 0, "\(baseline.stderr)")
        let before = try h.storeState(app: "shop")
        #expect(before.verified)

        let hash = try DeployHarness.sha256(Array("x".utf8))
        func manifest(_ files: [(String, String, Int)]) -> String {
            let entries = files.map { path, sha, size -> String in
                let quoted = String(decoding: try! JSONSerialization.data(withJSONObject: [path], options: [.fragmentsAllowed]), as: UTF8.self)
                return #"{"path":\#(quoted.dropFirst().dropLast()),"sha256":"\#(sha)","size":\#(size)}"#
            }
            return #"{"files":[\#(entries.joined(separator: ","))]}"#
        }
        let path = "/_wharf/api/apps/shop/deploys"
        let cases: [(String, String, Int)] = [
            ("parent segment", manifest([("../escape.txt", hash, 1)]), 400),
            ("nested parent", manifest([("a/../../b", hash, 1)]), 400),
            ("absolute", manifest([("/etc/passwd", hash, 1)]), 400),
            ("backslash", manifest([("a\\..\\b", hash, 1)]), 400),
            ("NUL", manifest([("a\u{0}b", hash, 1)]), 400),
            ("dot segment", manifest([("./a", hash, 1)]), 400),
            ("empty segment", manifest([("a//b", hash, 1)]), 400),
            ("duplicate", manifest([("a.txt", hash, 1), ("a.txt", hash, 1)]), 400),
            ("file and directory", manifest([("a", hash, 1), ("a/b", hash, 1)]), 400),
            ("bad hash", manifest([("a.txt", "XYZ", 1)]), 400),
            ("negative size", manifest([("a.txt", hash, -1)]), 400),
            ("too many files", manifest((0..<5).map { ("f\($0).txt", hash, 1) }), 413),
            ("too many bytes", manifest([("a.bin", hash, 60000), ("b.bin", hash, 60000)]), 413),
            ("file over the per-file limit", manifest([("a.bin", hash, 70000)]), 413),
            ("malformed JSON", #"{"files":[{"path":"a""#, 400),
            ("not an object", "[1,2]", 400),
            ("unknown key", #"{"files":[],"sneaky":1}"#, 400),
        ]
        for (name, body, status) in cases {
            let reply = try h.post(path, token: token, json: body)
            #expect(reply.status == status, "\(name): \(reply.status) \(reply.body)")
            #expect(reply.json["error"] is String, "\(name): \(reply.body)")
        }
        // Unknown app (admin token: the credential is fine, the app is not).
        #expect(try h.post("/_wharf/api/apps/nope/deploys", token: h.adminToken, json: manifest([("a.txt", hash, 1)])).status == 404)

        // Credentials: none, garbage, another app's token, a read-only token.
        let valid = manifest([("new.txt", hash, 1)])
        #expect(try h.post(path, token: nil, json: valid).status == 401)
        #expect(try h.post(path, token: "wharf_0000000000000000_" + String(repeating: "0", count: 64), json: valid).status == 401)
        #expect(try h.post(path, token: otherToken, json: valid).status == 403)
        let readOnly = try h.post("/_wharf/api/registry/shop/tokens", token: h.adminToken, json: #"{"scope":"read"}"#)
        #expect(readOnly.status == 201)
        let readToken = readOnly.json["token"] as? String ?? ""
        #expect(try h.post(path, token: readToken, json: valid).status == 403)
        #expect(try h.request("GET", "/_wharf/api/registry/shop", token: readToken).status == 200)
        #expect(try h.request("GET", "/_wharf/api/registry/shop", token: otherToken).status == 403)
        // Registry mutations are the admin's only.
        #expect(try h.request("DELETE", "/_wharf/api/registry/shop", token: token).status == 401)

        // A valid session, then bad blob bodies.
        let opened = try h.post(path, token: token, json: valid)
        #expect(opened.status == 201, "\(opened.body)")
        let id = opened.json["id"] as? String ?? ""
        #expect(opened.json["missing"] as? [String] == [hash])
        let blob = "\(path)/\(id)/blobs/\(hash)"
        let octets = "Content-Type: application/octet-stream"
        let wrongBytes = try h.request("PUT", blob, token: token, body: Array("y".utf8), headers: [octets, DeployHarness.contentDigest(hash)])
        #expect(wrongBytes.status == 422, "\(wrongBytes.body)")
        let longer = try h.request("PUT", blob, token: token, body: Array("xx".utf8), headers: [octets, DeployHarness.contentDigest(hash)])
        #expect(longer.status == 422, "\(longer.body)")
        let noDigest = try h.request("PUT", blob, token: token, body: Array("x".utf8), headers: [octets])
        #expect(noDigest.status == 400, "\(noDigest.body)")
        let otherDigest = try h.request(
            "PUT", blob, token: token, body: Array("x".utf8),
            headers: [octets, DeployHarness.contentDigest(try DeployHarness.sha256(Array("y".utf8)))])
        #expect(otherDigest.status == 400, "\(otherDigest.body)")
        let oversized = try h.request(
            "PUT", blob, token: token, body: [UInt8](repeating: 0x41, count: 70000),
            headers: [octets, DeployHarness.contentDigest(hash)])
        #expect(oversized.status == 413, "\(oversized.body)")
        let foreign = try h.request("PUT", blob, token: otherToken, body: Array("x".utf8), headers: [octets, DeployHarness.contentDigest(hash)])
        #expect(foreign.status == 403, "\(foreign.body)")
        let notListed = try DeployHarness.sha256(Array("z".utf8))
        #expect(
            try h.request(
                "PUT", "\(path)/\(id)/blobs/\(notListed)", token: token, body: Array("z".utf8),
                headers: [octets, DeployHarness.contentDigest(notListed)]
            ).status == 404)
        let early = try h.post("\(path)/\(id)/finalize", token: token, json: #"{"promote":true}"#)
        #expect(early.status == 409, "\(early.body)")
        #expect(early.json["missing"] as? [String] == [hash])

        // Nothing changed: same deployments, verify clean, no upload left anywhere.
        let after = try h.storeState(app: "shop")
        #expect(after.verified)
        #expect(after.deployments == before.deployments)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/incoming").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/blobs").isEmpty)
        #expect(try h.metric("wharf_deploy_refused_total") >= cases.count + 10)

        // Rotation and revocation: the old secret stops at once, the new one works; revoked is 401.
        let tokenID = String(token.split(separator: "_")[1])
        let rotated = try h.post("/_wharf/api/registry/shop/tokens/\(tokenID)/rotate", token: h.adminToken, json: "")
        #expect(rotated.status == 200, "\(rotated.body)")
        let newToken = rotated.json["token"] as? String ?? ""
        #expect(try h.post(path, token: token, json: valid).status == 401)
        #expect(try h.post(path, token: newToken, json: valid).status == 201)
        #expect(try h.request("DELETE", "/_wharf/api/registry/shop/tokens/\(tokenID)", token: h.adminToken).status == 200)
        #expect(try h.post(path, token: newToken, json: valid).status == 401)
        // No response ever carried a stored secret.
        let shown = try h.request("GET", "/_wharf/api/registry", token: h.adminToken)
        #expect(!shown.body.contains(String(newToken.suffix(64))) && !shown.body.contains("webhookSecret\""))
    }

    @Test func aKilledDeployResumesWhereItStopped() throws {
        let h = DeployHarness("wharf-deploy-kill")
        let token = try h.register("big")
        try h.start()
        defer { h.stop() }
        let count = 80
        for i in 0..<count { try h.scratch.write("big/part-\(i).bin", Bytes.random(1 << 20, seed: UInt64(i + 1))) }
        let log = h.scratch.path + "/deploy.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: WharfProcess.binary)
        client.arguments = ["deploy", h.scratch.path + "/big", "--app", "big", "--to", h.adminURL, "--token", token, "--parallel", "1"]
        client.standardOutput = FileHandle.nullDevice
        client.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try client.run()
        #expect(eventually(120) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("uploaded 3/") })
        kill(client.processIdentifier, SIGKILL)
        client.waitUntilExit()
        // A body in flight when the client died is either finished by the server or dropped whole.
        var before = -1
        #expect(
            eventually(30, every: 0.5) {
                let now = (try? h.metric("wharf_deploy_blobs_uploaded_total")) ?? -1
                defer { before = now }
                return now == before
            })
        #expect(before >= 3 && before < count, "\(before) of \(count) uploaded before the kill")
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/incoming").isEmpty)

        let resumed = try h.deploy(h.scratch.path + "/big", app: "big", token: token, ["--promote"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("\(count - before) of \(count) blobs to upload"), "\(resumed.stderr)")
        #expect(try h.metric("wharf_deploy_blobs_uploaded_total") == count)
        #expect(try h.storeState(app: "big").verified)
    }

    @Test func aDeployOverHTTPSWithTheDevelopmentCAResumesAnInterruptedOne() throws {
        // The client runs in a private mount namespace (below); without bubblewrap or user
        // namespaces there is no way to show URLSession the development CA without root changes.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap"),
            (try? ArchiveUploadTests.run(["/usr/bin/bwrap", "--dev-bind", "/", "/", "true"])) == 0
        else { return }
        let h = DeployHarness("wharf-deploy-https")
        h.tls = true
        let token = try h.register("demo")
        try h.start()
        defer { h.stop() }
        let files = try FileManager.default.subpathsOfDirectory(atPath: ServeDemoTests.demoSite).filter {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: ServeDemoTests.demoSite + "/" + $0, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }.sorted()
        // An "interrupted" deploy: the manifest and two blobs went up, then the client died.
        var entries: [String] = []
        var bodies: [(String, [UInt8])] = []
        for file in files {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: ServeDemoTests.demoSite + "/" + file)))
            let sha = try DeployHarness.sha256(bytes)
            entries.append(#"{"path":"\#(file)","sha256":"\#(sha)","size":\#(bytes.count)}"#)
            bodies.append((sha, bytes))
        }
        let opened = try h.post("/_wharf/api/apps/demo/deploys", token: token, json: #"{"files":[\#(entries.joined(separator: ","))]}"#)
        #expect(opened.status == 201, "\(opened.body)")
        let id = opened.json["id"] as? String ?? ""
        let missing = opened.json["missing"] as? [String] ?? []
        for (sha, bytes) in bodies.filter({ missing.prefix(2).contains($0.0) }) {
            let put = try h.request(
                "PUT", "/_wharf/api/apps/demo/deploys/\(id)/blobs/\(sha)", token: token, body: bytes,
                headers: ["Content-Type: application/octet-stream", DeployHarness.contentDigest(sha)])
            #expect(put.status == 201, "\(put.body)")
        }

        // URLSession on Linux trusts only the system store: give this process a store with the
        // development CA added, in a private mount namespace.
        let bundle = h.scratch.path + "/bundle.pem"
        let system = (try? Data(contentsOf: URL(fileURLWithPath: "/etc/ssl/certs/ca-certificates.crt"))) ?? Data()
        try (system + (try Data(contentsOf: URL(fileURLWithPath: h.caFile)))).write(to: URL(fileURLWithPath: bundle))
        let wrapper = ["/usr/bin/bwrap", "--dev-bind", "/", "/", "--ro-bind", bundle, "/etc/ssl/certs/ca-certificates.crt"]
        let resumed = try h.deploy(ServeDemoTests.demoSite, app: "demo", token: token, ["--promote"], wrapper: wrapper)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("\(missing.count - 2) of \(missing.count) blobs to upload"), "\(resumed.stderr)")
        #expect(try h.metric("wharf_deploy_blobs_uploaded_total") == missing.count)
        let served = try ServeDemoTests.curl(["--cacert", h.caFile, "https://localhost:\(h.tlsPort)/apps/demo/"])
        #expect(served.out.contains("Harbor board"))
        #expect(try h.storeState(app: "demo").verified)

        // Without the CA the client refuses the server (and does not retry a certificate error).
        let untrusted = try h.deploy(ServeDemoTests.demoSite, app: "demo", token: token)
        #expect(untrusted.status != 0)
        #expect(!untrusted.stderr.contains("retrying"), "\(untrusted.stderr)")
    }
}

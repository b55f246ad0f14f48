import Foundation
import Testing
import WharfTestSupport

/// Archive uploads (`/_wharf/api/apps/{app}/archives`) against a real `wharf edge`: tar, tar.gz
/// and tar.zst made by the system's tar publish; archives crafted with Python's tarfile holding
/// traversal, absolute paths, links, devices, FIFOs, duplicates, a compression bomb and garbage
/// are refused with their 4xx, nothing staged and the store unchanged.
@Suite struct ArchiveUploadTests {
    /// Runs python3 with `script` (argv[1] = the output file).
    static func python(_ script: String, _ output: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, output]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    static func tar(_ args: [String]) throws -> Int32 { try run(["/usr/bin/env", "tar"] + args) }

    /// Runs a command (output discarded); its exit status.
    static func run(_ command: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    func upload(_ h: DeployHarness, _ file: String, token: String, query: String = "?promote=1") throws -> DeployHarness.Reply {
        try h.request(
            "POST", "/_wharf/api/apps/shop/archives" + query, token: token,
            body: Array(try Data(contentsOf: URL(fileURLWithPath: file))), headers: ["Content-Type: application/gzip"])
    }

    @Test func tarArchivesPublishAndHostileOnesAreRefused() throws {
        let h = DeployHarness("wharf-archive")
        let token = try h.register("shop", ["--host", "shop.archive.test", "--max-files", "20", "--max-bytes", "200000"])
        try h.start()
        defer { h.stop() }
        let site = h.scratch.path + "/site"
        try h.scratch.write("site/index.html", "<!doctype html><title>archive shop</title>\n")
        try h.scratch.write("site/assets/app.js", "console.log('archive')\n")
        let archives = h.scratch.path
        #expect(try Self.tar(["-C", site, "-czf", archives + "/site.tgz", "."]) == 0)
        #expect(try Self.tar(["-C", site, "-cf", archives + "/site.tar", "index.html", "assets"]) == 0)
        #expect(try Self.tar(["--zstd", "-C", site, "-cf", archives + "/site.tar.zst", "."]) == 0)

        let first = try upload(h, archives + "/site.tgz", token: token, query: "?promote=1&version=7")
        #expect(first.status == 200, "\(first.body)")
        #expect(first.json["files"] as? Int == 2)
        let page = try ServeDemoTests.curl(["-H", "Host: shop.archive.test", "http://127.0.0.1:\(h.edgePort)/"])
        #expect(page.out.contains("archive shop"))
        for name in ["site.tar", "site.tar.zst"] {
            let again = try upload(h, archives + "/" + name, token: token)
            #expect(again.status == 200, "\(name): \(again.body)")
            #expect(again.json["newBlobs"] as? Int == 0, "\(name)")
        }
        #expect(try h.metric("wharf_deploy_blobs_uploaded_total") == 2)
        let before = try h.storeState(app: "shop")
        #expect(before.verified)

        let preamble = "import tarfile, io, sys, gzip\n"
        func member(_ name: String, _ type: String = "tarfile.REGTYPE", data: String = "b'x'", extra: String = "") -> String {
            "i = tarfile.TarInfo(\(name)); i.type = \(type); d = \(data); i.size = len(d) if i.type == tarfile.REGTYPE else 0\(extra)\nt.addfile(i, io.BytesIO(d) if i.type == tarfile.REGTYPE else None)\n"
        }
        func archive(_ body: String, format: String = "tarfile.PAX_FORMAT") -> String {
            preamble + "t = tarfile.open(sys.argv[1], 'w:gz', format=\(format))\n" + body + "t.close()\n"
        }
        let hostile: [(String, String, Int)] = [
            ("parent", archive(member("'../escape.txt'")), 400),
            ("nested parent", archive(member("'a/../../escape.txt'")), 400),
            ("absolute", archive(member("'/etc/cron.d/x'")), 400),
            ("backslash", archive(member("'a\\\\..\\\\b'")), 400),
            ("long pax name with parent", archive(member("'x/' * 60 + '../../../../' * 30 + 'y'")), 400),
            ("symlink", archive(member("'index.html'") + member("'link'", "tarfile.SYMTYPE", extra: "; i.linkname = '/etc/passwd'")), 400),
            ("hard link", archive(member("'link'", "tarfile.LNKTYPE", extra: "; i.linkname = '../../etc/passwd'")), 400),
            ("character device", archive(member("'dev'", "tarfile.CHRTYPE")), 400),
            ("FIFO", archive(member("'fifo'", "tarfile.FIFOTYPE")), 400),
            ("duplicate", archive(member("'a.txt'") + member("'a.txt'")), 400),
            ("file and directory", archive(member("'a'") + member("'a/b'")), 400),
            ("too many files", archive((0..<21).map { member("'f\($0).txt'") }.joined()), 413),
            ("file over the quota", archive(member("'big.bin'", data: "b'\\0' * 250000")), 413),
            (
                "bomb",
                preamble + "raw = io.BytesIO(); t = tarfile.open(fileobj=raw, mode='w')\n"
                    + (0..<4).map { member("'z\($0).bin'", data: "b'\\0' * 90000") }.joined()
                    + "t.close(); open(sys.argv[1], 'wb').write(gzip.compress(raw.getvalue() + b'\\0' * 50000000))\n", 413
            ),
            ("garbage", preamble + "open(sys.argv[1], 'wb').write(b'not a tar archive at all' * 100)\n", 400),
            ("corrupt gzip", preamble + "open(sys.argv[1], 'wb').write(b'\\x1f\\x8b\\x08\\x00' + b'\\xff' * 600)\n", 400),
            ("empty", preamble + "t = tarfile.open(sys.argv[1], 'w:gz'); t.close()\n", 400),
        ]
        for (index, (name, script, status)) in hostile.enumerated() {
            let file = archives + "/hostile-\(index).tgz"
            try Self.python(script, file)
            let reply = try upload(h, file, token: token)
            #expect(reply.status == status, "\(name): \(reply.status) \(reply.body)")
        }
        let otherToken = try h.register("other")
        #expect(try upload(h, archives + "/site.tgz", token: otherToken).status == 403)
        #expect(try upload(h, archives + "/site.tgz", token: "nonsense").status == 401)

        let after = try h.storeState(app: "shop")
        #expect(after.verified)
        #expect(after.deployments == before.deployments)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/blobs").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/incoming").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.store + "/uploads/trees").isEmpty)
    }
}

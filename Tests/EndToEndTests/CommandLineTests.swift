import ArtifactStore
import Foundation
import Glibc
import Testing

/// The `wharf` store commands, run as a user would run them.
@Suite struct CommandLineTests {
    static let demoSite = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("demo/site").path

    /// Everything observable about a store through its public API and its directory.
    static func snapshot(_ storePath: String, apps: [String]) throws -> [String] {
        let store = try Store.open(at: storePath)
        var lines = ["generation \(try store.aliasGeneration())", "stats \(try store.stats())"]
        for app in apps { lines += try store.deployments(app: app).map { "\($0)" } }
        for directory in ["blobs", "tmp"] {
            let enumerator = FileManager.default.enumerator(atPath: storePath + "/" + directory)
            while let next = enumerator?.nextObject() as? String { lines.append(directory + "/" + next) }
        }
        return lines.sorted()
    }

    @Test func publishPrintsTheDeploymentIdAndTheOtherCommandsAgree() throws {
        let scratch = ScratchDirectory("wharf-cli")
        let store = scratch.path + "/store"

        let published = try WharfProcess.run(["publish", "harbor", Self.demoSite, "--store", store, "--version", "1.0", "--message", "first"])
        #expect(published.status == 0, "\(published.stderr)")
        let id = published.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.range(of: #"^\d{8}T\d{6}Z-[0-9a-f]{6}$"#, options: .regularExpression) != nil)

        let listed = try WharfProcess.run(["deployments", "harbor", "--store", store])
        #expect(listed.status == 0)
        #expect(listed.stdout.hasPrefix("*  \(id)"))
        #expect(listed.stdout.contains("6 files") && listed.stdout.contains("1.0") && listed.stdout.contains("first"))

        let verified = try WharfProcess.run(["verify", "--store", store, "--deep"])
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(verified.stdout.contains(": ok"))

        let stats = try WharfProcess.run(["store", "stats", "--store", store])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("inline blobs:"))

        let noEarlier = try WharfProcess.run(["rollback", "harbor", "--store", store])
        #expect(noEarlier.status != 0)
        #expect(noEarlier.stderr.contains("no earlier deployment"))

        let manifest = try #require(try Store.open(at: store).currentDeployment(app: "harbor"))
        #expect(manifest.id == id)
        #expect(manifest.files["/index.html"]?.preloadHints.map(\.as) == ["style", "script", "fetch"])
    }

    @Test func theStoreComesFromTheFlagThenWHARF_STOREThenTheWorkingDirectory() throws {
        let scratch = ScratchDirectory("wharf-cli-env")
        let fromEnv = scratch.path + "/env-store"
        let fromFlag = scratch.path + "/flag-store"
        try scratch.write("site/index.html", "hello")

        #expect(try WharfProcess.run(["publish", "envapp", scratch.path + "/site"], environment: ["WHARF_STORE": fromEnv]).status == 0)
        #expect(
            try WharfProcess.run(
                ["publish", "flagapp", scratch.path + "/site", "--store", fromFlag],
                environment: ["WHARF_STORE": fromEnv]
            ).status == 0)

        #expect(try Store.open(at: fromEnv).apps() == ["envapp"])
        #expect(try Store.open(at: fromFlag).apps() == ["flagapp"])
    }

    @Test func rollbackAndGcThroughTheCommandLine() throws {
        let scratch = ScratchDirectory("wharf-cli-rollback")
        let store = scratch.path + "/store"
        try scratch.write("site/index.html", "one")
        let first = try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store]).stdout
        try scratch.write("site/index.html", "two")
        _ = try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store])

        let rolled = try WharfProcess.run(["rollback", "web", "--store", store])
        #expect(rolled.status == 0)
        #expect(rolled.stdout == first)
        let gc = try WharfProcess.run(["gc", "--store", store])
        #expect(gc.status == 0)
        #expect(gc.stdout.hasPrefix("removed 0 deployments"))
        #expect(try WharfProcess.run(["rollback", "web", "nope", "--store", store]).stderr.contains("no deployment 'nope'"))
    }

    @Test func verifyExitsNonZeroWhenABlobIsCorrupted() throws {
        let scratch = ScratchDirectory("wharf-cli-verify")
        let store = scratch.path + "/store"
        try scratch.write("site/big.bin", Bytes.random(80_000, seed: 1))
        #expect(try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store]).status == 0)
        let opened = try Store.open(at: store)
        let entry = try #require(try opened.currentDeployment(app: "web")?.files["/big.bin"])
        guard case .file(let path, _, _) = try opened.readBody(entry, coding: nil) else {
            Issue.record("80 KB must be stored as a file")
            return
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[40_000] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let verified = try WharfProcess.run(["verify", "--store", store])
        #expect(verified.status == 1)
        #expect(verified.stdout.contains("problem: blob \(entry.blobHash)"))
    }

    @Test func badInputExitsNonZeroWithAClearMessageAndLeavesTheStoreAlone() throws {
        let scratch = ScratchDirectory("wharf-cli-bad")
        let store = scratch.path + "/store"
        try scratch.write("site/index.html", "ok")
        #expect(try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store]).status == 0)
        let before = try Self.snapshot(store, apps: ["web"])
        try scratch.write("escape/index.html", "x")
        symlink("/etc/passwd", scratch.path + "/escape/passwd")

        let cases: [([String], String)] = [
            (["publish", "Web App", scratch.path + "/site"], "not a safe slug"),
            (["publish", "web", scratch.path + "/missing"], "does not exist"),
            (["publish", "web", scratch.path + "/escape"], "points outside the published directory"),
            (["publish", "web"], "Missing expected argument"),
        ]
        for (arguments, message) in cases {
            let result = try WharfProcess.run(arguments + ["--store", store])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(try Self.snapshot(store, apps: ["web"]) == before)
    }

    @Test func anUnreadableFileIsRefusedAndTheStoreIsUnchanged() throws {
        let scratch = ScratchDirectory("wharf-cli-unreadable")
        chmod(scratch.path, 0o777)
        let store = scratch.path + "/store"
        try scratch.write("site/index.html", "ok")
        // Root reads any file, so as root the publish runs as `nobody` (setpriv, util-linux).
        let wrapper = geteuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : []
        #expect(try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store], wrapper: wrapper).status == 0)
        // Observe the store through the CLI as the same user, so root never creates SQLite files there.
        func snapshot() throws -> [String] {
            let listing = FileManager.default.enumerator(atPath: store + "/blobs")?.allObjects as? [String] ?? []
            return [
                try WharfProcess.run(["deployments", "web", "--store", store], wrapper: wrapper).stdout,
                try WharfProcess.run(["store", "stats", "--store", store], wrapper: wrapper).stdout,
            ] + listing.sorted()
        }
        let before = try snapshot()
        let secret = try scratch.write("site/secret.js", "let x = 1")
        chmod(secret, 0o000)
        for directory in [scratch.path + "/site", store, store + "/blobs", store + "/tmp"] { chmod(directory, 0o777) }

        let result = try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store], wrapper: wrapper)

        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot read '\(scratch.path)/site/secret.js': Permission denied"), "\(result.stderr)")
        #expect(try snapshot() == before)
    }

    @Test func aFullDiskFailsThePublishAndTheStoreIsUnchanged() throws {
        let scratch = ScratchDirectory("wharf-cli-full")
        let store = scratch.path + "/store"
        try scratch.write("site/index.html", "ok")
        #expect(try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store]).status == 0)
        let before = try Self.snapshot(store, apps: ["web"])
        try scratch.write("site/video.bin", Bytes.random(1_500_000, seed: 7))

        // RLIMIT_FSIZE at 600 KiB: writing the 1.5 MB blob fails (EFBIG) the way a full disk does.
        let limited = ["/bin/bash", "-c", "trap '' XFSZ; ulimit -f 600; exec \"$0\" \"$@\""]
        let result = try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store], wrapper: limited)

        #expect(result.status != 0)
        #expect(result.stderr.contains("the store is full"), "\(result.stderr)")
        #expect(try Self.snapshot(store, apps: ["web"]) == before)
    }
}

extension CommandLineTests {
    @Test func severalProcessesPublishAndCollectGarbageInOneStoreAtOnce() throws {
        let scratch = ScratchDirectory("wharf-cli-concurrent")
        let store = scratch.path + "/store"
        let apps = ["alpha", "bravo", "charlie", "delta"]
        for (index, app) in apps.enumerated() {
            try scratch.write("\(app)/index.html", "<h1>\(app)</h1>")
            try scratch.write("\(app)/shared.bin", Bytes.random(70_000, seed: 1))  // the same blob in every app
            try scratch.write("\(app)/own.js", Bytes.text(8_000, seed: index))
        }
        #expect(try WharfProcess.run(["publish", "seed", scratch.path + "/alpha", "--store", store]).status == 0)

        let processes =
            try apps.map { try WharfProcess.start(["publish", $0, scratch.path + "/" + $0, "--store", store]) }
            + [try WharfProcess.start(["gc", "--store", store])]
        for process in processes { process.waitUntilExit() }

        #expect(processes.map(\.terminationStatus) == Array(repeating: 0, count: apps.count + 1))
        let opened = try Store.open(at: store)
        #expect(try opened.apps() == (apps + ["seed"]).sorted())
        #expect(try opened.verify(deep: true).isHealthy)
    }
}

/// A real ENOSPC: the store on a 2 MiB tmpfs. Needs the right to mount (root in a privileged
/// container); elsewhere the test is reported as skipped, and the RLIMIT_FSIZE test above
/// still covers the path.
@Suite struct FullDiskTests {
    static func mountTmpfs(at path: String, size: String) -> Bool {
        guard geteuid() == 0 else { return false }
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func unmount(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = [path]
        try? process.run()
        process.waitUntilExit()
    }

    static let canMount: Bool = {
        let probe = NSTemporaryDirectory() + "/wharf-mount-probe-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mountTmpfs(at: probe, size: "64k") else { return false }
        unmount(probe)
        return true
    }()

    @Test(.enabled(if: canMount, "needs permission to mount a tmpfs"))
    func aStoreOnAFullFileSystemRefusesThePublishAndStaysAsItWas() throws {
        let scratch = ScratchDirectory("wharf-enospc")
        let mountPoint = scratch.path + "/small-disk"
        try #require(Self.mountTmpfs(at: mountPoint, size: "2m"))
        defer { Self.unmount(mountPoint) }
        let store = mountPoint + "/store"
        try scratch.write("site/index.html", "ok")
        #expect(try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store]).status == 0)
        let before = try CommandLineTests.snapshot(store, apps: ["web"])
        try scratch.write("site/release.apk", Bytes.random(3_000_000, seed: 9))

        let result = try WharfProcess.run(["publish", "web", scratch.path + "/site", "--store", store])

        #expect(result.status != 0)
        #expect(result.stderr.contains("the store is full (No space left on device"), "\(result.stderr)")
        #expect(try CommandLineTests.snapshot(store, apps: ["web"]) == before)
    }
}

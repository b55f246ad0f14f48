import ArtifactStore
import Foundation
import Glibc
import Testing
import WharfTestSupport

/// The edge SIGKILLed at random moments while `wharf deploy` uploads to it (manifest, blob PUTs,
/// finalize): after each kill the store verifies clean and the app's alias names a complete
/// deployment; the restarted edge takes the next deploy, and one run to the end publishes.
/// `WHARF_CRASH_ROUNDS` sets the number of kills (default 8 here; `make crash` runs 100).
@Suite(.serialized) struct UploadCrashTests {
    static var kills: Int { min(100, Int(ProcessInfo.processInfo.environment["WHARF_CRASH_ROUNDS"] ?? "") ?? 8) }

    private func writeTree(_ scratch: ScratchDirectory, round: Int) throws -> String {
        let dir = "site-\(round)"
        try scratch.write("\(dir)/index.html", "<!doctype html><title>round \(round)</title><script src=\"app.js\"></script>")
        try scratch.write("\(dir)/app.js", Bytes.text(20_000, seed: round))
        for i in 0..<24 {
            try scratch.write("\(dir)/assets/blob-\(i).bin", Bytes.random(20_000 + i * 6_000, seed: UInt64(round * 100 + i)))
        }
        return scratch.path + "/" + dir
    }

    private func expectConsistent(_ store: String, context: String) throws {
        let verify = try WharfProcess.run(["verify", "--store", store])
        #expect(verify.status == 0, "\(context): \(verify.stdout)")
        let opened = try Store.open(at: store)
        guard let manifest = try opened.currentDeployment(app: "site") else { return }  // nothing published yet
        #expect(manifest.files["/index.html"] != nil, "\(context)")
        for entry in manifest.files.values {
            #expect(try opened.readBody(entry, coding: nil).length == Int(entry.size), "\(context): \(entry.path)")
        }
    }

    @Test func theEdgeKilledDuringUploadsLeavesAVerifiableStoreAndTheNextDeployPublishes() throws {
        let h = DeployHarness("wharf-upload-crash")
        let token = try h.register("site")
        try h.start()
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var random = SeededRandom(seed: seed)
        // A baseline deploy, timed, so kills land inside one.
        let first = try writeTree(h.scratch, round: 0)
        let started = Date()
        let baseline = try h.deploy(first, app: "site", token: token, ["--promote"])
        #expect(baseline.status == 0, "\(baseline.stderr)")
        var typical = max(0.1, Date().timeIntervalSince(started))

        var kills = 0
        var round = 1
        let deadline = Date().addingTimeInterval(Double(Self.kills) * 8 + 30)
        while kills < Self.kills && round <= Self.kills * 3 && Date() < deadline {
            let tree = try writeTree(h.scratch, round: round)
            let began = Date()
            let client = try WharfProcess.start([
                "deploy", tree, "--app", "site", "--to", h.adminURL, "--token", token,
                "--retries", "0", "--promote",
            ])
            usleep(UInt32(Double.random(in: 0...typical, using: &random) * 1_000_000))
            let server = try #require(h.daemon).process
            // A kill counts when it lands inside an upload; the edge is killed either way (a deploy
            // that finished first left it running, and waiting for it would wait forever).
            let finishedFirst = !client.isRunning
            if !finishedFirst { kills += 1 }
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            // The client sees its server die and must exit by itself (it once deadlocked here).
            #expect(
                WharfProcess.waitForExit(client, seconds: 60), "wharf deploy did not exit after its server was killed (seed \(seed) round \(round))")
            if finishedFirst {
                // A deploy that beat the kill bounds how long one takes: aim the next kills earlier.
                typical = 0.5 * typical + 0.5 * Date().timeIntervalSince(began)
            }
            try expectConsistent(h.store, context: "seed \(seed) round \(round)")
            try h.start()
            round += 1
        }
        #expect(kills >= Self.kills, "only \(kills) kills in \(round - 1) rounds (seed \(seed))")
        // The restarted edge takes a whole deploy; what the killed ones uploaded does no harm.
        let last = try writeTree(h.scratch, round: 10_000)
        let final = try h.deploy(last, app: "site", token: token, ["--promote"])
        #expect(final.status == 0, "\(final.stderr)")
        try expectConsistent(h.store, context: "after the final deploy (seed \(seed))")
        let served = try ServeDemoTests.curl(["-s", "http://127.0.0.1:\(h.edgePort)/apps/site/index.html"])
        #expect(served.out.contains("round 10000"), "\(served.out)")
        h.stop()
        print("upload crash test: \(kills) kills in \(round - 1) rounds, typical deploy \(typical) s, seed \(seed)")
    }
}

import ArtifactStore
import Foundation
import Glibc
import Testing
import WharfTestSupport

/// `wharf gc` killed with SIGKILL at random moments while it deletes expired deployments and
/// unreferenced blobs (inline and files): afterwards the store verifies clean, every alias points
/// at a complete deployment, and the next gc finishes the job. `WHARF_CRASH_ROUNDS` sets the
/// number of kills (default 20 here; `make crash` runs 100).
@Suite(.serialized) struct GCCrashTests {
    static var rounds: Int { Int(ProcessInfo.processInfo.environment["WHARF_CRASH_ROUNDS"] ?? "") ?? 20 }

    /// A version with blobs of its own (so each newer version leaves garbage behind once expired).
    private func writeVersion(_ scratch: ScratchDirectory, _ version: Int) throws {
        try scratch.write("site/index.html", "<!doctype html><title>v\(version)</title><script src=\"app.js\"></script>")
        try scratch.write("site/app.js", Bytes.text(8_000, seed: version))
        try scratch.write("site/big.bin", Bytes.random(300_000, seed: UInt64(version + 5_000)))
        for page in 0..<6 {
            try scratch.write("site/pages/p\(page).txt", Bytes.text(2_000 + page * 500, seed: version * 10 + page))
        }
    }

    private func expectConsistent(_ store: Store, context: String) throws {
        let report = try store.verify()
        #expect(report.isHealthy, "\(context): \(report.problems)")
        let manifest = try #require(try store.currentDeployment(app: "site"), "\(context): no alias")
        for entry in manifest.files.values {
            #expect(try store.readBody(entry, coding: nil).length == Int(entry.size), "\(context): \(entry.path)")
            for variant in entry.variants {
                #expect(try store.readBody(entry, coding: variant.coding).length == Int(variant.size), "\(context)")
            }
        }
    }

    @Test func gcKilledAtRandomMomentsLeavesAVerifiableStoreAndACompleteAlias() throws {
        let scratch = ScratchDirectory("wharf-gc-crash")
        let storePath = scratch.path + "/store"
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var random = SeededRandom(seed: seed)
        var version = 0
        /// Publishes `count` versions: with retention at 10 per app, older ones expire.
        func publish(_ count: Int) throws {
            for _ in 0..<count {
                version += 1
                try writeVersion(scratch, version)
                let r = try WharfProcess.run([
                    "publish", "site", scratch.path + "/site", "--store", storePath,
                    "--inline-threshold", "16384", "--dictionaries", "off",
                ])
                #expect(r.status == 0, "\(r.stderr)")
            }
        }
        try publish(14)
        let store = try Store.open(at: storePath)
        // A baseline gc, timed, so kills land inside one.
        try publish(4)
        let started = Date()
        #expect(try WharfProcess.run(["gc", "--store", storePath]).status == 0)
        var typical = max(0.05, Date().timeIntervalSince(started))

        var kills = 0
        var completed = 0
        var round = 0
        let deadline = Date().addingTimeInterval(300)
        while kills < Self.rounds && round < Self.rounds * 3 && Date() < deadline {
            try publish(2)  // two more expire: garbage for this gc
            let began = Date()
            let process = try WharfProcess.start(["gc", "--store", storePath])
            if round % 6 != 5 {
                usleep(UInt32(Double.random(in: 0...typical, using: &random) * 1_000_000))
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                kills += 1
            } else {
                #expect(process.terminationStatus == 0)
                completed += 1
                typical = 0.5 * typical + 0.5 * Date().timeIntervalSince(began)
            }
            try expectConsistent(store, context: "seed \(seed) round \(round)")
            round += 1
        }
        #expect(kills >= Self.rounds, "only \(kills) of \(round) gc runs were killed (seed \(seed))")
        // A gc to the end collects what the killed ones left, and the store stays whole.
        #expect(try WharfProcess.run(["gc", "--store", storePath]).status == 0)
        try expectConsistent(store, context: "after a complete gc (seed \(seed))")
        #expect(try store.verify().garbageFiles == 0)
        #expect(try WharfProcess.run(["verify", "--store", storePath]).status == 0)
        print("gc crash test: \(kills) kills, \(completed) completed in \(round) rounds, typical \(typical) s, seed \(seed)")
    }
}

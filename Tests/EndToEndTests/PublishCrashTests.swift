import ArtifactStore
import Foundation
import Glibc
import Testing
import WharfTestSupport

/// `wharf publish` killed with SIGKILL at random moments, on the inline (small blob) and the
/// file (large blob) paths: afterwards the store verifies clean and each alias points at a
/// complete deployment, old or new.
@Suite(.serialized) struct PublishCrashTests {
    /// Kills per run: `WHARF_CRASH_ROUNDS` (default 50; `make crash` runs 100).
    static var kills: Int { Int(ProcessInfo.processInfo.environment["WHARF_CRASH_ROUNDS"] ?? "") ?? 50 }

    private func writeSmall(_ scratch: ScratchDirectory, round: Int) throws {
        try scratch.write("small/index.html", "<!doctype html><title>small \(round)</title><script src=\"app.js\"></script>")
        try scratch.write("small/app.js", Bytes.text(6_000, seed: round))
        for page in 0..<10 {
            try scratch.write("small/pages/page-\(page).txt", Bytes.text(1_000 + page * 300, seed: round * 100 + page))
        }
    }

    private func writeLarge(_ scratch: ScratchDirectory, round: Int) throws {
        try scratch.write("large/index.html", "<!doctype html><title>large \(round)</title>")
        try scratch.write("large/big.bin", Bytes.random(400_000, seed: UInt64(round + 10)))
        try scratch.write("large/photo.png", Bytes.random(120_000, seed: UInt64(round + 1_000_000)))
        try scratch.write("large/bundle.js", Bytes.hex(60_000, seed: UInt64(round + 2_000_000)))
    }

    /// Every check a reader relies on: verify passes, and the alias names a deployment whose
    /// every file and variant is present with the size the manifest promises.
    private func expectConsistent(_ store: Store, apps: [String], context: String) throws {
        let report = try store.verify()
        #expect(report.isHealthy, "\(context): \(report.problems)")
        for app in apps {
            let manifest = try #require(try store.currentDeployment(app: app), "\(context): \(app) has no alias")
            #expect(manifest.files["/index.html"] != nil, "\(context)")
            for entry in manifest.files.values {
                #expect(try store.readBody(entry, coding: nil).length == Int(entry.size), "\(context): \(entry.path)")
                for variant in entry.variants {
                    #expect(try store.readBody(entry, coding: variant.coding).length == Int(variant.size), "\(context)")
                }
            }
        }
    }

    @Test func publishesKilledAtRandomMomentsLeaveAVerifiableStoreAndACompleteAlias() throws {
        let scratch = ScratchDirectory("wharf-crash")
        let storePath = scratch.path + "/store"
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var random = SeededRandom(seed: seed)

        // Baselines: one complete publish per path, timed, so kills land inside a publish.
        try writeSmall(scratch, round: -1)
        try writeLarge(scratch, round: -1)
        var baseline: [String: Double] = [:]
        for app in ["small", "large"] {
            for _ in 0..<2 {  // the second run is the steady state (the first creates the store)
                let started = Date()
                let process = try WharfProcess.start(["publish", app, scratch.path + "/" + app, "--store", storePath, "--inline-threshold", "16384"])
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                baseline[app] = Date().timeIntervalSince(started)
                if app == "small" { try writeSmall(scratch, round: -2) } else { try writeLarge(scratch, round: -2) }
            }
        }
        let store = try Store.open(at: storePath)
        try expectConsistent(store, apps: ["small", "large"], context: "baseline")

        // Kill moments are drawn from [0, typical duration]; the estimate follows the publishes
        // that finish (one round in eight is left to finish), so kills keep landing inside.
        var typical = baseline
        var kills = 0
        var completed = 0
        var round = 0
        let deadline = Date().addingTimeInterval(Double(Self.kills) * 5)  // a safety bound; about 40 s for 50 on an idle machine
        while kills < Self.kills && round < Self.kills * 12 / 5 && Date() < deadline {
            let app = round % 2 == 0 ? "small" : "large"
            if app == "small" { try writeSmall(scratch, round: round) } else { try writeLarge(scratch, round: round) }
            let letFinish = round % 8 == 7
            let started = Date()
            let process = try WharfProcess.start(["publish", app, scratch.path + "/" + app, "--store", storePath, "--inline-threshold", "16384"])
            if !letFinish {
                usleep(UInt32(Double.random(in: 0...(typical[app] ?? 0.2), using: &random) * 1_000_000))
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                kills += 1
            } else {
                completed += 1
                let took = Date().timeIntervalSince(started)
                typical[app] = 0.5 * (typical[app] ?? took) + 0.5 * took
            }
            try expectConsistent(store, apps: ["small", "large"], context: "seed \(seed) round \(round) (\(app))")
            if round % 16 == 15 { try store.collectGarbage() }
            round += 1
        }
        let rounds = round

        #expect(kills >= Self.kills, "only \(kills) of \(rounds) publishes were killed (seed \(seed))")
        let verified = try WharfProcess.run(["verify", "--store", storePath])
        #expect(verified.status == 0, "\(verified.stdout)")
        let gc = try WharfProcess.run(["gc", "--store", storePath])
        #expect(gc.status == 0)
        try expectConsistent(store, apps: ["small", "large"], context: "after gc (seed \(seed))")
        #expect(try store.verify().garbageFiles == 0)
        print("crash test: \(kills) kills, \(completed) completed publishes in \(rounds) rounds, typical \(typical), seed \(seed)")
    }
}

import Foundation
import Testing

/// `wharf simulate --config`: a replay runs with the policy and autoscaler knobs production would read
/// from wharf.yaml (`scheduler.policy`, `scheduler.autoscale.*`), and flags override them.
@Suite struct SimulateConfigTests {
    static let header =
        "req_id,arrival_s,app_id,build_type,kind,priority_hint,source_hash,deps_hash,service_warm_s,cold_extra_s,"
        + "fail_after_s,fail_attempts,popularity,actor,parent_req_id"

    /// A burst of six pushes at 01:00 that the one starting slot cannot serve, then a lone push at 03:00.
    static func writeTrace(in scratch: ScratchDirectory) throws -> String {
        var rows = [header]
        for i in 1...6 {
            rows.append("\(i),3600,app000\(i),javascript_web,user_push,,s\(i),d\(i % 2),120,40,,0,0.5,human,")
        }
        rows.append("7,10800,app0001,javascript_web,user_push,,s7,d1,60,40,,0,0.5,human,")
        let path = try scratch.write("t.csv", rows.joined(separator: "\n") + "\n")
        _ = try scratch.write("t.meta.json", #"{"horizon_s": 86400.0}"#)
        return path
    }

    static func metrics(_ arguments: [String]) throws -> [String: Any] {
        let r = try WharfProcess.run(["simulate"] + arguments + ["--json"])
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        return try #require(object as? [String: Any], "\(r.stdout)")
    }

    @Test func theReplayUsesTheConfiguredPolicyAndKnobsAndFlagsWin() throws {
        let scratch = ScratchDirectory("wharf-simulate-config")
        let trace = try Self.writeTrace(in: scratch)
        let seedConfig = try scratch.write("seed.yaml", "scheduler:\n  policy: seed\n")
        let knobs = try scratch.write(
            "knobs.yaml", "scheduler:\n  placement:\n    warm_window: 0\n  autoscale:\n    burst_idle_s: 1800\n    quiet_s: 1800\n")

        let adaptive = try Self.metrics([trace])
        #expect(adaptive["policy"] as? String == "adaptive")

        let fromFile = try Self.metrics([trace, "--config", seedConfig])
        let fromFlag = try Self.metrics([trace, "--policy", "seed"])
        #expect(fromFile["policy"] as? String == "seed")
        #expect(NSDictionary(dictionary: fromFile).isEqual(to: fromFlag), "the config's policy replays like the flag")
        let overridden = try Self.metrics([trace, "--config", seedConfig, "--policy", "adaptive"])
        #expect(NSDictionary(dictionary: overridden).isEqual(to: adaptive), "a flag beats the file")

        // Burst slots kept 30 min instead of 1 min: the same replay pays for more slot-seconds.
        let held = try Self.metrics([trace, "--config", knobs])
        let heldByFlags = try Self.metrics([trace, "--burst-idle", "1800", "--quiet", "1800", "--warm-window", "0"])
        #expect(NSDictionary(dictionary: held).isEqual(to: heldByFlags))
        let cost = { (m: [String: Any]) in (m["slot_seconds"] as? NSNumber)?.doubleValue ?? -1 }
        #expect(cost(held) > cost(adaptive), "held \(cost(held)) vs default \(cost(adaptive))")
    }

    @Test func wrongAutoscaleKeysAreRefusedWithTheKeyNamed() throws {
        let scratch = ScratchDirectory("wharf-simulate-config")
        let trace = try Self.writeTrace(in: scratch)
        let bad = try scratch.write(
            "bad.yaml",
            """
            scheduler:
              policy: fastest
              placement:
                warm_window: -5
              autoscale:
                warm_share: 0
                core_factor: -1
                soon_free_share: 2
                warm_deadline_h: 25
                core_time_constant_s: 0
                quiet_s: many
            """)
        for command in [["simulate", trace, "--config", bad], ["check-config", "--config", bad, "--store", scratch.path + "/s"]] {
            let r = try WharfProcess.run(command)
            #expect(r.status != 0, "\(command[0]) accepted a bad config")
            for key in [
                "scheduler.policy", "scheduler.placement.warm_window", "scheduler.autoscale.warm_share", "scheduler.autoscale.core_factor",
                "scheduler.autoscale.soon_free_share", "scheduler.autoscale.warm_deadline_h",
                "scheduler.autoscale.core_time_constant_s", "scheduler.autoscale.quiet_s",
            ] {
                #expect(r.stderr.contains(key), "\(command[0]) did not name \(key): \(r.stderr)")
            }
        }
        let missing = try WharfProcess.run(["simulate", trace, "--config", scratch.path + "/absent.yaml"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no such file"), "\(missing.stderr)")
    }

    @Test func checkConfigPrintsThePolicyAndItsKnobs() throws {
        let scratch = ScratchDirectory("wharf-simulate-config")
        let r = try WharfProcess.run(
            ["check-config", "--store", scratch.path + "/s"],
            environment: ["WHARF_SCHEDULER_AUTOSCALE_CORE_FACTOR": "0.75"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("scheduler.policy: adaptive"), "\(r.stdout)")
        #expect(r.stdout.contains("core_factor 0.75"), "\(r.stdout)")
        #expect(r.stdout.contains("warm_share 0.3, warm_deadline_h 7.0"), "\(r.stdout)")
        #expect(r.stdout.contains("scheduler.placement.warm_window: 200.0"), "\(r.stdout)")
    }
}

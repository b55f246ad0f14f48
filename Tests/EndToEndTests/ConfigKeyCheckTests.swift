import Foundation
import Testing

/// Values the key table refuses: out of range, of the wrong type, not one of the choices, too
/// large for their type, not finite. `check-config` names each key with the value and what is
/// allowed, all problems at once (unknown keys included), and `wharf edge` refuses to start on them.
@Suite struct ConfigKeyCheckTests {
    @Test func badValuesOfEveryTypeAreRefusedAtOnceWithTheirKeysValuesAndRanges() throws {
        let scratch = ScratchDirectory("wharf-key-check")
        let file = try scratch.write(
            "wharf.yaml",
            """
            edge:
              workers: 999
              cache_bytes: lots
              early_hints: maybe
              rate_limit:
                rate: .inf
                table_entries: 99999999999999999999999
              access_log:
                format: xml
              h2:
                max_concurrent_streams: 0
              tier:
                max_fetches: 257
            scheduler:
              policy: fastest
              autoscale:
                warm_share: 1.5
                warm_deadline_h: 24
              sandbox:
                mode: chroot
              limits:
                flutter_web:
                  cpus: 2000
            warm:
              top_n: 0
            deploy:
              max_file_bytes: 1073741824
            monitor:
              evaluate_interval_ms: -1
              error_spike:
                enabled: sometimes
            colour: blue
            """)
        let r = try WharfProcess.run(["check-config", "--config", file, "--store", scratch.path + "/store"])
        #expect(r.status != 0)
        let expected = [
            "edge.workers: got 999, allowed 0...256",
            "edge.cache_bytes: expected an integer",
            "edge.early_hints: expected true or false",
            "edge.rate_limit.rate: got inf, allowed > 0 and ≤ 1000000",
            "edge.rate_limit.table_entries: expected an integer",
            "edge.access_log.format: got xml, allowed combined | json",
            "edge.h2.max_concurrent_streams: got 0, allowed 1...10000",
            "edge.tier.max_fetches: got 257, allowed 1...256",
            "scheduler.policy: got fastest, allowed adaptive | seed",
            "scheduler.autoscale.warm_share: got 1.5, allowed > 0 and ≤ 1",
            "scheduler.autoscale.warm_deadline_h: got 24, allowed ≥ 0 and < 24",
            "scheduler.sandbox.mode: got chroot, allowed auto | bubblewrap | user | none",
            "scheduler.limits.flutter_web.cpus: got 2000, allowed 0...1024",
            "warm.top_n: got 0, allowed 1...1000",
            "deploy.max_file_bytes: got 1073741824, allowed 1...536870912",
            "monitor.evaluate_interval_ms: got -1, allowed 0...3600000",
            "monitor.error_spike.enabled: expected true or false",
            "colour: unknown key",
        ]
        for line in expected {
            #expect(r.stderr.contains("  " + line), "missing '\(line)' in:\n\(r.stderr)")
        }
        // Each refused key once: the table's check, not a second one downstream.
        for key in ["edge.workers", "scheduler.autoscale.warm_share", "edge.h2.max_concurrent_streams", "warm.top_n"] {
            #expect(r.stderr.components(separatedBy: "  " + key + ":").count == 2, "\(key) reported twice:\n\(r.stderr)")
        }
        let served = try WharfProcess.run([
            "edge", "--config", file, "--store", scratch.path + "/store",
            "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        ])
        #expect(served.status != 0)
        #expect(served.stderr.contains("edge.workers: got 999, allowed 0...256"), "\(served.stderr)")
    }

    @Test func environmentValuesAreCheckedByTheSameTable() throws {
        let scratch = ScratchDirectory("wharf-key-check-env")
        let r = try WharfProcess.run(
            ["check-config", "--store", scratch.path + "/store"],
            environment: [
                "WHARF_EDGE_TIMEOUTS_IDLE_MS": "0", "WHARF_SCHEDULER_RETRY_LIMIT": "100",
                "WHARF_EDGE_H2_ENABLED": "yes please",
            ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("edge.timeouts.idle_ms: got 0, allowed ≥ 1"), "\(r.stderr)")
        #expect(r.stderr.contains("scheduler.retry_limit: got 100, allowed 0...99"), "\(r.stderr)")
        #expect(r.stderr.contains("edge.h2.enabled: expected true or false"), "\(r.stderr)")
        // The same keys at valid values: accepted, and applied.
        let ok = try WharfProcess.run(
            ["check-config", "--store", scratch.path + "/store"],
            environment: ["WHARF_EDGE_WORKERS": "3", "WHARF_SCHEDULER_RETRY_LIMIT": "99"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("edge.workers: 3") && ok.stdout.contains("scheduler.retry: 99 retries"), "\(ok.stdout)")
    }

    @Test func aSecretEntryIsNeverEchoedInARefusal() throws {
        let scratch = ScratchDirectory("wharf-key-check-secret")
        let file = try scratch.write(
            "wharf.yaml",
            """
            scheduler:
              build:
                secrets: ["very-secret-value-without-equals"]
            """)
        let r = try WharfProcess.run(["check-config", "--config", file, "--store", scratch.path + "/store"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("scheduler.build.secrets:"), "\(r.stderr)")
        #expect(!r.stderr.contains("very-secret-value") && !r.stdout.contains("very-secret-value"))
    }

    @Test func listKeysPrintsTypeDefaultRangeAndDocAndMarkdownPrintsTheReadmeTable() throws {
        let listed = try WharfProcess.run(["check-config", "--list-keys"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let line = try #require(listed.stdout.split(separator: "\n").first { $0.hasPrefix("edge.workers ") })
        #expect(
            line.contains("integer") && line.contains("default 0") && line.contains("allowed 0...256") && line.contains("one per core"), "\(line)")
        let markdown = try WharfProcess.run(["check-config", "--list-keys", "--markdown"])
        #expect(markdown.status == 0)
        #expect(markdown.stdout.hasPrefix("| key | type | default | allowed | meaning |"))
        #expect(markdown.stdout.contains("| `edge.h2.max_concurrent_streams` | integer | `100` | 1...10000 |"), "\(markdown.stdout)")
    }
}

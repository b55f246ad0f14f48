import Foundation
import Testing

/// A key in wharf.yaml that Wharf does not read is refused by `check-config` and at start, with
/// the nearest known key as a hint, instead of being ignored in silence.
@Suite struct UnknownConfigKeyTests {
    @Test func misspelledAndUnknownKeysAreRefusedWithTheNearestKnownKey() throws {
        let scratch = ScratchDirectory("wharf-unknown-keys")
        let file = try scratch.write(
            "wharf.yaml",
            """
            edge:
              workers: 1
              cache_byte: 1000000
              h2:
                max_concurent_streams: 50
              timeouts:
                idle_ms: 5000
            scheduler:
              tick_ms: 100
            colour: blue
            """)
        let store = scratch.path + "/store"
        let checked = try WharfProcess.run(["check-config", "--config", file, "--store", store])
        #expect(checked.status != 0, "check-config accepted unknown keys: \(checked.stdout)")
        #expect(checked.stderr.contains("edge.cache_byte: unknown key (did you mean 'edge.cache_bytes'?)"), "\(checked.stderr)")
        #expect(
            checked.stderr.contains("edge.h2.max_concurent_streams: unknown key (did you mean 'edge.h2.max_concurrent_streams'?)"),
            "\(checked.stderr)")
        #expect(checked.stderr.contains("colour: unknown key"), "\(checked.stderr)")
        // Known keys are not named.
        for key in ["edge.workers", "edge.timeouts.idle_ms", "scheduler.tick_ms"] {
            #expect(!checked.stderr.contains(key + ":"), "\(key) was reported: \(checked.stderr)")
        }
        // The server refuses to start on the same file, and says why.
        let served = try WharfProcess.run(["edge", "--config", file, "--store", store, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        #expect(served.status != 0)
        #expect(served.stderr.contains("edge.cache_byte: unknown key"), "\(served.stderr)")
    }

    @Test func keysOfAFeatureThatIsOffAreStillKnown() throws {
        // TLS and the alert webhook are off here, yet their keys are Wharf's: they must not be
        // reported as unknown (the loader asks for every key before deciding a feature is off).
        let scratch = ScratchDirectory("wharf-unknown-keys-off")
        let file = try scratch.write(
            "wharf.yaml",
            """
            edge:
              tls:
                enabled: false
                ticket_key_rotation_s: 3600
                strict_sni: false
            monitor:
              webhook:
                timeout_seconds: 5
                max_backoff_seconds: 60
            """)
        let r = try WharfProcess.run(["check-config", "--config", file, "--store", scratch.path + "/store"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("unknown key"), "\(r.stderr)")
    }

    @Test func theExampleConfigurationHasNoUnknownKey() throws {
        // edge-config/wharf.yaml documents the keys: every one it names must be a key Wharf reads.
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        let example = directory.appendingPathComponent("edge-config/wharf.yaml").path
        let scratch = ScratchDirectory("wharf-unknown-keys-example")
        let r = try WharfProcess.run(["check-config", "--config", example, "--store", scratch.path + "/store"])
        #expect(!r.stderr.contains("unknown key"), "\(r.stderr)")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func everyKeyWharfReadsIsDocumentedInTheExampleConfiguration() throws {
        // `check-config --list-keys` prints the key table (name first on each line); each must appear in
        // edge-config/wharf.yaml (set or commented out). Per-build-type limit keys
        // (scheduler.limits.<type>.<field>) are documented once as a pattern there.
        let listed = try WharfProcess.run(["check-config", "--list-keys"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let known = listed.stdout.split(separator: "\n").map { String($0.prefix { $0 != " " }) }
        #expect(known.count > 100, "only \(known.count) keys listed")
        #expect(known.contains("edge.h2.max_concurrent_streams") && known.contains("scheduler.sandbox.mode"))
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        let text = try String(contentsOf: directory.appendingPathComponent("edge-config/wharf.yaml"), encoding: .utf8)
        // Each `key:` line (commented out or not) under its parents, by indentation.
        var documented: Set<String> = []
        var stack: [(indent: Int, key: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var rest = Substring(line)
            let indent = rest.prefix { $0 == " " }.count
            rest = rest.dropFirst(indent)
            if rest.hasPrefix("#") { rest = rest.dropFirst().drop { $0 == " " } }
            guard let colon = rest.firstIndex(of: ":") else { continue }
            let key = rest[..<colon]
            guard !key.isEmpty, key.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) else { continue }
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            stack.append((indent, String(key)))
            documented.insert(stack.map(\.key).joined(separator: "."))
        }
        let undocumented = known.filter { key in
            let parts = key.split(separator: ".")
            let perBuildType = parts.count == 4 && parts[0] == "scheduler" && parts[1] == "limits"
            return !perBuildType && !documented.contains(key)
        }
        #expect(undocumented.isEmpty, "keys Wharf reads that edge-config/wharf.yaml does not name: \(undocumented)")
    }
}

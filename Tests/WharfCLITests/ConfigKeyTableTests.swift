import Foundation
import Testing

@testable import WharfCLI

/// The configuration key table: each key declared once, with a doc, a default its own range
/// admits, a unique name and environment variable; the README's Configuration table and
/// edge-config/wharf.yaml made from it and agreeing with it; the loader's defaults the table's.
@Suite struct ConfigKeyTableTests {
    static var repository: URL {
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        return directory
    }

    @Test func everyKeyHasADocADefaultItAllowsAndAUniqueNameAndVariable() {
        let keys = ConfigKeyTable.all
        #expect(keys.count > 150, "only \(keys.count) keys")
        for key in keys {
            #expect(!key.doc.isEmpty, "\(key.name) has no doc")
            #expect(key.defaultIsAllowed, "\(key.name): default \(key.defaultText) is outside \(key.allowedText)")
            #expect(key.name.allSatisfy { $0.isLowercase || $0.isNumber || "_.<>".contains($0) }, "\(key.name) is not a key name")
            #expect(["integer", "number", "boolean", "string", "list"].contains(key.type), "\(key.name): type \(key.type)")
        }
        let names = keys.map(\.name)
        #expect(Set(names).count == names.count, "duplicate names: \(Dictionary(grouping: names) { $0 }.filter { $1.count > 1 }.keys.sorted())")
        let expanded = ConfigKeyTable.expanded()
        let variables = expanded.map(\.environmentName)
        #expect(Set(variables).count == variables.count, "two keys share an environment variable")
        #expect(EdgeKeys.cacheBytes.descriptor.environmentName == "WHARF_EDGE_CACHE_BYTES")
        // `<type>` is spelled out per build type, `<app>` left to the operator's apps.
        #expect(expanded.contains { $0.name == "scheduler.limits.flutter_web.memory_bytes" })
        #expect(expanded.contains { $0.name == "monitor.thresholds.javascript_web" })
        #expect(!expanded.contains { $0.name.contains("<") })
    }

    @Test func rangesRefuseWhatTheySayInOneFormat() {
        #expect(EdgeKeys.workers.refusal(257) == "got 257, allowed 0...256")
        #expect(EdgeKeys.workers.refusal(0) == nil && EdgeKeys.workers.refusal(256) == nil)
        #expect(SchedulerKeys.warmShare.refusal(0) == "got 0, allowed > 0 and ≤ 1")
        #expect(SchedulerKeys.warmShare.refusal(1) == nil)
        #expect(SchedulerKeys.leaseSeconds.refusal(.infinity) != nil && SchedulerKeys.leaseSeconds.refusal(.nan) != nil)
        #expect(SchedulerKeys.warmDeadlineHours.refusal(24) == "got 24, allowed ≥ 0 and < 24")
        #expect(EdgeKeys.accessLogFormat.refusal("xml") == "got xml, allowed combined | json")
        #expect(SandboxKeys.mode.refusal("bubblewrap") == nil)
    }

    /// Every key set to its table default through `WHARF_…` variables resolves to the same settings
    /// as no key at all: the table's defaults are the loader's.
    @Test func theTableDefaultsAreTheLoadersDefaults() async throws {
        var environment: [String: String] = [:]
        // Per-type and per-app keys override others (their presence is what they say): left out.
        for key in ConfigKeyTable.all where key.type != "list" && !key.name.contains("<") {
            // `monitor.timeout_warning`'s default is its absence (scheduler.warning_s).
            if key.name == MonitorKeys.timeoutWarning.name { continue }
            environment[key.environmentName] = key.defaultText == "\"\"" ? "" : key.defaultText
        }
        var implicit = try await ConfigurationLoader.load(configFile: nil, environment: [:])
        var explicit = try await ConfigurationLoader.load(configFile: nil, environment: environment)
        let a = implicit.settings()
        let b = explicit.settings()
        #expect(explicit.problems.isEmpty, "\(explicit.problems)")
        #expect(String(describing: a) == String(describing: b))
        #expect(a.edge == b.edge && a.warm == b.warm && a.tier == b.tier && a.monitor == b.monitor)
    }

    /// Every key's environment variable reaches that key: a value of the wrong type (or not one of
    /// its choices) set through it is refused under the key's name. Free-form strings and lists
    /// take anything, so they are left out.
    @Test func everyVariableNameReachesItsKey() async throws {
        let checked = ConfigKeyTable.expanded().filter { $0.type != "list" && ($0.type != "string" || $0.allowedText != "any") }
        #expect(checked.count > 140, "only \(checked.count) keys checked")
        var environment: [String: String] = [:]
        for key in checked { environment[key.environmentName] = "not-a-value" }
        var loader = try await ConfigurationLoader.load(configFile: nil, environment: environment)
        _ = loader.settings()
        let refused = Set(loader.problems.map(\.key))
        let missed = checked.map(\.name).filter { !refused.contains($0) }
        #expect(missed.isEmpty, "set through their variables but not refused: \(missed)")
    }

    @Test func theReadmeConfigurationTableIsTheTables() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = "<!-- configuration keys: begin (wharf check-config --list-keys --markdown) -->\n"
        let end = "\n<!-- configuration keys: end -->"
        let start = try #require(readme.range(of: begin), "README has no generated Configuration table")
        let stop = try #require(readme.range(of: end, range: start.upperBound..<readme.endIndex))
        let documented = String(readme[start.upperBound..<stop.lowerBound])
        let expected = ConfigKeyTable.markdown()
        let missing = Set(expected.split(separator: "\n")).subtracting(documented.split(separator: "\n"))
        let stale = Set(documented.split(separator: "\n")).subtracting(expected.split(separator: "\n"))
        #expect(
            missing.isEmpty && stale.isEmpty,
            "README's table differs from `wharf check-config --list-keys --markdown`; missing: \(missing.sorted()), stale: \(stale.sorted())")
    }

    @Test func theExampleConfigurationSetsEveryKeyItNamesToItsDefault() throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("edge-config/wharf.yaml"), encoding: .utf8)
        let values = try UnknownConfigKeys.leafValues(ofYAML: text)
        let table = Dictionary(uniqueKeysWithValues: ConfigKeyTable.all.map { ($0.name, $0) })
        #expect(values.count > 150, "only \(values.count) keys set")
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let key = table[name] else { continue }  // per-type thresholds: checked by the loader's own defaults
            if let a = Double(value), let b = Double(key.defaultText) {
                #expect(a == b, "\(name): wharf.yaml says \(value), the table \(key.defaultText)")
            } else {
                #expect(value == key.defaultText, "\(name): wharf.yaml says \(value), the table \(key.defaultText)")
            }
        }
        // And every key the table has (per-type and per-app keys aside) is set or named there.
        var unnamed: [String] = []
        for name in ConfigKeyTable.all.map(\.name) where !name.contains("<") && values[name] == nil {
            let leaf = name.split(separator: ".").last.map(String.init) ?? name
            if !text.contains("# " + leaf + ":") { unnamed.append(name) }
        }
        #expect(unnamed.isEmpty, "keys edge-config/wharf.yaml neither sets nor names: \(unnamed)")
    }
}

import Foundation
import Scheduler

/// Every configuration key Wharf has, by section, from the sections' declarations. What
/// `check-config --list-keys` prints, what the README's Configuration table is made from
/// (`--list-keys --markdown`), and what the unknown-key check knows.
enum ConfigKeyTable {
    static let sections: [(title: String, keys: [KeyDescriptor])] = [
        ("edge", EdgeKeys.keys), ("edge.tls", TLSKeys.keys), ("edge.h2", HTTP2Keys.keys), ("edge.tier", TierKeys.keys),
        ("scheduler", SchedulerKeys.keys), ("scheduler sandbox", SandboxKeys.keys), ("monitor", MonitorKeys.keys),
        ("popularity, cron, warm", WarmKeys.keys), ("deploy", DeployKeys.keys),
    ]

    /// Every declared key, placeholders (`<type>`, `<app>`) as written.
    static var all: [KeyDescriptor] { sections.flatMap(\.keys) }

    /// The keys with `<type>` spelled out for each build type Wharf knows; keys under `<app>`
    /// are left out (apps are the operator's: the loader learns them from `scheduler.limits.apps`).
    static func expanded(buildTypes: some Sequence<String> = defaultBuildTypes) -> [KeyDescriptor] {
        let types = Array(buildTypes)
        return all.flatMap { key -> [KeyDescriptor] in
            if key.name.contains("<app>") { return [] }
            guard key.name.contains("<type>") else { return [key] }
            return types.map { type in
                var copy = key
                copy.name = key.name.replacingOccurrences(of: "<type>", with: type)
                return copy
            }
        }
    }

    /// The build types of the catalog and of the monitor's seeded thresholds, sorted.
    static var defaultBuildTypes: [String] {
        Set(BuildTypeCatalog.default.types.keys).union(MonitorConfiguration.defaultThresholds.keys).sorted()
    }

    /// One line per key: name, type, default, allowed values, doc (`check-config --list-keys`).
    static func listing() -> String {
        let keys = expanded()
        let width = keys.map(\.name.count).max() ?? 0
        return keys.map { key in
            let name = key.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let type = key.type.padding(toLength: 7, withPad: " ", startingAt: 0)
            return "\(name)  \(type)  default \(key.defaultText)  allowed \(key.allowedText)  \(key.doc)"
        }.joined(separator: "\n")
    }

    /// The README's Configuration table (`check-config --list-keys --markdown`).
    static func markdown() -> String {
        var lines = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        for key in all {
            func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
            lines.append("| `\(key.name)` | \(key.type) | `\(cell(key.defaultText))` | \(cell(key.allowedText)) | \(cell(key.doc)) |")
        }
        return lines.joined(separator: "\n")
    }
}

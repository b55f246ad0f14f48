import ArgumentParser
import ArtifactStore
import Foundation

/// `--store PATH`, shared by every store command: flag, then `WHARF_STORE`, then `./.wharf`.
struct StoreLocation: ParsableArguments {
    @Option(name: .customLong("store"), help: "Store directory (default: $WHARF_STORE or ./.wharf).")
    var path: String?

    var resolvedPath: String {
        if let path { return path }
        if let env = ProcessInfo.processInfo.environment["WHARF_STORE"], !env.isEmpty { return env }
        return "./.wharf"
    }

    func open(options: StoreOptions = .init()) throws -> Store {
        try Store.open(at: resolvedPath, options: options)
    }
}

/// Human-readable byte counts for command output.
enum ByteCount {
    static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}

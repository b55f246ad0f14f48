import ArgumentParser
import ArtifactStore
import Foundation

/// `wharf popular [--top N]`: the most popular apps by decayed request count, each with its hottest paths.
struct PopularCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "popular", abstract: "List the most popular apps (decayed request counts) and their hottest paths.")

    @OptionGroup var store: StoreLocation
    @Option(help: "Configuration file (YAML) for popularity.half_life_h.") var config: String?
    @Option(help: "How many apps (default 10).") var top: Int = 10
    @Option(help: "How many paths per app (default 5).") var paths: Int = 5
    @Flag(help: "Print JSON instead of a table.") var json = false

    func validate() throws {
        guard (1...10_000).contains(top) else { throw ValidationError("--top must be 1 … 10000") }
        guard (0...10_000).contains(paths) else { throw ValidationError("--paths must be 0 … 10000") }
    }

    func run() async throws {
        let settings = try await WarmSettings.load(configFile: config)
        let popularity = try Popularity(store: try store.open(), halfLifeHours: settings.halfLifeHours)
        let now = Date()
        let apps = try popularity.topApps(limit: top, now: now)
        var hot: [String: [Popularity.Entry]] = [:]
        if paths > 0 {
            for app in apps { hot[app.app] = try popularity.hotPaths(app: app.app, limit: paths, now: now) }
        }
        if json {
            struct Row: Encodable {
                var app: Popularity.Entry
                var paths: [Popularity.Entry]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(apps.map { Row(app: $0, paths: hot[$0.app] ?? []) }), as: UTF8.self))
            return
        }
        if apps.isEmpty {
            print("no traffic recorded yet (half-life \(Self.number(settings.halfLifeHours)) h)")
            return
        }
        print("score (half-life \(Self.number(settings.halfLifeHours)) h)  requests  bytes  app / path")
        for app in apps {
            print([Self.number(app.score), "\(app.requests)", ByteCount.format(Int64(app.bytes)), app.app].joined(separator: "  "))
            for path in hot[app.app] ?? [] {
                print(
                    "  "
                        + [Self.number(path.score), "\(path.requests)", ByteCount.format(Int64(path.bytes)), path.path ?? ""].joined(separator: "  "))
            }
        }
    }

    static func number(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.2f", value) }
}

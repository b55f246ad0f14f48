import Configuration
import Foundation
import Scheduler

/// The popularity, cron and warm keys of wharf.yaml (`WHARF_…` variables override them):
/// `popularity.half_life_h` (24), `popularity.flush_interval_s` (5), `cron.zone` (UTC),
/// `cron.catch_up_window_s` (3600), `cron.warm_schedule` ("0 2 * * *"; "" turns the nightly batch
/// off), `warm.top_n` (10), `warm.paths_per_app` (20), `warm.max_evict_share` (0.25).
struct WarmSettings: Equatable {
    var halfLifeHours = 24.0
    var flushIntervalSeconds = 5
    var cronZone = "UTC"
    var catchUpWindowSeconds = 3600
    var warmSchedule = "0 2 * * *"
    var topN = 10
    var pathsPerApp = 20
    var maxEvictShare = 0.25

    /// The built-in schedule's name.
    static let nightlyName = "nightly-warm"

    /// Reads the keys from `loader`'s providers; every present-but-wrong value becomes a problem.
    static func read(_ loader: ConfigurationLoader) -> (WarmSettings, [ConfigurationLoader.Problem]) {
        var s = WarmSettings()
        var problems: [ConfigurationLoader.Problem] = []
        let reader = loader.reader
        func get<T>(_ key: String, _ what: String, _ body: () throws -> T) -> T? {
            do { return try body() } catch {
                let text = String(describing: error)
                if !text.hasPrefix("Missing required config value") {
                    problems.append(.init(key: key, reason: "expected \(what) (\(text))"))
                }
                return nil
            }
        }
        func double(_ key: String) -> Double? {
            if let i = get(key, "a number", { try reader.requiredInt(forKey: ConfigKey(key)) }) { return Double(i) }
            problems.removeAll { $0.key == key }
            return get(key, "a number", { try reader.requiredDouble(forKey: ConfigKey(key)) })
        }
        func int(_ key: String) -> Int? { get(key, "an integer") { try reader.requiredInt(forKey: ConfigKey(key)) } }
        func string(_ key: String) -> String? { get(key, "a string") { try reader.requiredString(forKey: ConfigKey(key)) } }

        s.halfLifeHours = double("popularity.half_life_h") ?? s.halfLifeHours
        s.flushIntervalSeconds = int("popularity.flush_interval_s") ?? s.flushIntervalSeconds
        s.cronZone = string("cron.zone") ?? s.cronZone
        s.catchUpWindowSeconds = int("cron.catch_up_window_s") ?? s.catchUpWindowSeconds
        s.warmSchedule = string("cron.warm_schedule") ?? s.warmSchedule
        s.topN = int("warm.top_n") ?? s.topN
        s.pathsPerApp = int("warm.paths_per_app") ?? s.pathsPerApp
        s.maxEvictShare = double("warm.max_evict_share") ?? s.maxEvictShare
        problems += s.problems()
        return (s, problems)
    }

    /// Range and syntax checks.
    func problems() -> [ConfigurationLoader.Problem] {
        var out: [ConfigurationLoader.Problem] = []
        if !(1.0 / 60...8760).contains(halfLifeHours) { out.append(.init(key: "popularity.half_life_h", reason: "must be 1/60 … 8760 hours")) }
        if !(1...3600).contains(flushIntervalSeconds) { out.append(.init(key: "popularity.flush_interval_s", reason: "must be 1 … 3600")) }
        do { _ = try CronTrigger.zone(named: cronZone) } catch { out.append(.init(key: "cron.zone", reason: "\(error)")) }
        if !(0...7 * 86400).contains(catchUpWindowSeconds) { out.append(.init(key: "cron.catch_up_window_s", reason: "must be 0 … 604800")) }
        if !warmSchedule.isEmpty {
            do { _ = try CronExpression(warmSchedule) } catch { out.append(.init(key: "cron.warm_schedule", reason: "\(error)")) }
        }
        do { try warmOptions.validate() } catch { out.append(.init(key: "warm", reason: "\(error)")) }
        return out
    }

    var warmOptions: WarmBatch.Options { .init(topApps: topN, pathsPerApp: pathsPerApp, maxEvictShare: maxEvictShare) }

    /// Loads the file named by `--config` (or none) and the environment.
    static func load(configFile: String?) async throws -> WarmSettings {
        let loader = try await ConfigurationLoader.load(configFile: configFile)
        let (settings, problems) = read(loader)
        if !problems.isEmpty { throw InvalidConfiguration(problems: problems) }
        return settings
    }
}

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

    /// Reads the `WarmKeys` into settings; every problem goes to `loader`.
    static func read(_ loader: inout ConfigurationLoader) -> WarmSettings {
        var s = WarmSettings()
        s.halfLifeHours = loader.present(WarmKeys.halfLifeHours) ?? s.halfLifeHours
        s.flushIntervalSeconds = loader.present(WarmKeys.flushIntervalSeconds) ?? s.flushIntervalSeconds
        s.cronZone = loader.present(WarmKeys.zone) ?? s.cronZone
        s.catchUpWindowSeconds = loader.present(WarmKeys.catchUpWindowSeconds) ?? s.catchUpWindowSeconds
        s.warmSchedule = loader.present(WarmKeys.warmSchedule) ?? s.warmSchedule
        s.topN = loader.present(WarmKeys.topN) ?? s.topN
        s.pathsPerApp = loader.present(WarmKeys.pathsPerApp) ?? s.pathsPerApp
        s.maxEvictShare = loader.present(WarmKeys.maxEvictShare) ?? s.maxEvictShare
        loader.problems += s.problems()
        return s
    }

    /// Range and syntax checks.
    func problems() -> [ConfigurationLoader.Problem] {
        var out: [ConfigurationLoader.Problem] = []
        func check<V>(_ key: SettingKey<V>, _ value: V) { if let r = key.refusal(value) { out.append(.init(key: key.name, reason: r)) } }
        check(WarmKeys.halfLifeHours, halfLifeHours)
        check(WarmKeys.flushIntervalSeconds, flushIntervalSeconds)
        do { _ = try CronTrigger.zone(named: cronZone) } catch { out.append(.init(key: WarmKeys.zone.name, reason: "\(error)")) }
        check(WarmKeys.catchUpWindowSeconds, catchUpWindowSeconds)
        if !warmSchedule.isEmpty {
            do { _ = try CronExpression(warmSchedule) } catch { out.append(.init(key: WarmKeys.warmSchedule.name, reason: "\(error)")) }
        }
        do { try warmOptions.validate() } catch { out.append(.init(key: "warm", reason: "\(error)")) }
        return out
    }

    var warmOptions: WarmBatch.Options { .init(topApps: topN, pathsPerApp: pathsPerApp, maxEvictShare: maxEvictShare) }

    /// Loads the file named by `--config` (or none) and the environment.
    static func load(configFile: String?) async throws -> WarmSettings {
        var loader = try await ConfigurationLoader.load(configFile: configFile)
        let settings = read(&loader)
        if !loader.problems.isEmpty { throw InvalidConfiguration(problems: loader.problems) }
        return settings
    }
}

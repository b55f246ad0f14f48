/// The `popularity.*`, `cron.*` and `warm.*` keys: traffic counting, schedules and the nightly
/// warm batch. Defaults are `WarmSettings`' (a test checks).
enum WarmKeys {
    static let halfLifeHours = SettingKey<Double>(
        "popularity.half_life_h", 24, .within(1.0 / 60, 8760),
        "a request counts 1 now, 1/2 after this many hours")
    static let flushIntervalSeconds = SettingKey<Int>(
        "popularity.flush_interval_s", 5, .within(1, 3600),
        "how often the counted batch is written (and cron ticks)")
    static let zone = SettingKey<String>("cron.zone", "UTC", .any, "IANA zone of `wharf cron add` and the nightly warm batch")
    static let warmSchedule = SettingKey<String>("cron.warm_schedule", "0 2 * * *", .any, "the nightly-warm cron expression; empty turns it off")
    static let catchUpWindowSeconds = SettingKey<Int>(
        "cron.catch_up_window_s", 3600, .within(0, 604_800),
        "a run missed while down runs once at start-up if at most this late")
    static let topN = SettingKey<Int>("warm.top_n", 10, .within(1, 1000), "most popular apps to warm")
    static let pathsPerApp = SettingKey<Int>("warm.paths_per_app", 20, .within(1, 1000), "each app's hottest paths preloaded into the response cache")
    static let maxEvictShare = SettingKey<Double>(
        "warm.max_evict_share", 0.25, .within(0, 1), "the batch never evicts more than this share of edge.cache_bytes")

    static let keys: [KeyDescriptor] = [
        halfLifeHours.descriptor, flushIntervalSeconds.descriptor, zone.descriptor, warmSchedule.descriptor,
        catchUpWindowSeconds.descriptor, topN.descriptor, pathsPerApp.descriptor, maxEvictShare.descriptor,
    ]
}

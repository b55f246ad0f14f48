/// The `scheduler.*` keys: queue, slots, retries, timeouts, priority weights, the adaptive policy
/// and retention. Defaults are `SchedulerConfiguration`'s (a test checks); the sandbox, build
/// environment and limit keys are `SandboxKeys`.
enum SchedulerKeys {
    static let database = SettingKey<String>(
        "scheduler.database", "", .any,
        "the build queue: empty = <store>/scheduler.sqlite; `postgres://user[:password]@host[:port]/db` = a shared queue")
    static let minSlots = SettingKey<Int>("scheduler.min_slots", 1, .within(0, 10_000), "build slots kept even when idle (at most max_slots)")
    static let maxSlots = SettingKey<Int>("scheduler.max_slots", 10, .within(1, 10_000), "most builds at once")
    static let tickMs = SettingKey<Int>("scheduler.tick_ms", 500, .within(10, 60_000), "control loop period: rescue leases, autoscale, dispatch")
    static let retryLimit = SettingKey<Int>("scheduler.retry_limit", 3, .within(0, 99), "retries after a failed or timed-out first attempt")
    static let retryBaseSeconds = SettingKey<Double>(
        "scheduler.retry_base_s", 10, .atLeast(0), "backoff before retry n: retry_base_s × 2^(n−1), at most 600 s")
    static let leaseSeconds = SettingKey<Double>("scheduler.lease_s", 60, .above(0), "a running job not heartbeated for this long is rescued")
    static let rescueIntervalSeconds = SettingKey<Double>(
        "scheduler.rescue_interval_s", 30, .above(0),
        "how often expired leases are looked for (default: min(30, lease_s / 2))")
    static let timeoutSeconds = SettingKey<Double>("scheduler.timeout_s", 1800, .above(0), "a build running longer is killed: timed_out")
    static let warningSeconds = SettingKey<Double>("scheduler.warning_s", 1200, .atLeast(0), "a warning is logged after this long; 0 = none")
    static let killGraceSeconds = SettingKey<Double>("scheduler.kill_grace_s", 10, .atLeast(0), "SIGTERM → SIGKILL grace when a build is stopped")
    static let shutdownGraceSeconds = SettingKey<Double>(
        "scheduler.shutdown_grace_s", 30, .atLeast(0),
        "SIGINT/SIGTERM: running builds get this long, then are left to their leases")
    static let logCapBytes = SettingKey<Int>(
        "scheduler.log_cap_bytes", 64 << 20, .atLeast(1024), "a build writing more log than this is stopped and fails")
    static let toolchain = SettingKey<String>("scheduler.toolchain", "", .any, "toolchain version string, part of the build cache key")
    static let defaultCommand = SettingKey<String>("scheduler.default_cmd", "./build.sh", .any, "build command for jobs submitted without --cmd")
    static let output = SettingKey<String>("scheduler.output", "dist", .any, "output directory (relative to the source) published on success")
    static let agePerHour = SettingKey<Double>(
        "scheduler.weights.age_per_hour", 600, .atLeast(0), "priority weight per hour waited (anti-starvation)")
    static let kind = SettingKey<Double>("scheduler.weights.kind", 1000, .atLeast(0), "priority weight of the job kind (user_push 1 … cache_warm 0)")
    static let hint = SettingKey<Double>("scheduler.weights.hint", 500, .atLeast(0), "priority weight of the hint (release 1, normal 0.5, low 0)")
    static let popularity = SettingKey<Double>("scheduler.weights.popularity", 200, .atLeast(0), "priority weight of the app's decayed edge traffic")
    static let cost = SettingKey<Double>("scheduler.weights.cost", 200, .atLeast(0), "priority weight of 1 − expected / longest expected duration")
    static let fairShare = SettingKey<Double>(
        "scheduler.weights.fair_share", 300, .atLeast(0), "priority weight of 1 / (1 + the owner's other active jobs)")
    static let attempts = SettingKey<Double>("scheduler.weights.attempts", 200, .atLeast(0), "priority weight of 1 / (1 + attempts so far)")
    static let policy = SettingKey<String>("scheduler.policy", "adaptive", .oneOf(["adaptive", "seed"]), "autoscaling and placement policy")
    static let burstIdleSeconds = SettingKey<Double>(
        "scheduler.autoscale.burst_idle_s", 60, .within(0, 86_400), "a slot above the core idle this long is released")
    static let coreIdleSeconds = SettingKey<Double>(
        "scheduler.autoscale.core_idle_s", 3600, .within(0, 86_400), "a core slot idle this long is released")
    static let quietSeconds = SettingKey<Double>(
        "scheduler.autoscale.quiet_s", 300, .within(0, 86_400), "no release within this long of the previous scale event")
    static let coreFactor = SettingKey<Double>(
        "scheduler.autoscale.core_factor", 1.5, .within(0, 10),
        "core slots = ceil(core_factor × moving average of slots busy with user builds)")
    static let coreTimeConstant = SettingKey<Double>(
        "scheduler.autoscale.core_time_constant_s", 3600, .within(1, 86_400), "time constant of that moving average")
    static let padFactor = SettingKey<Double>(
        "scheduler.autoscale.pad_factor", 0, .within(0, 10), "extra slots on a scale-up = pad_factor × √(busy average)")
    static let soonFreeShare = SettingKey<Double>(
        "scheduler.autoscale.soon_free_share", 0.5, .within(0, 1),
        "a build ending within this share of the provisioning delay counts as a free slot")
    static let warmShare = SettingKey<Double>(
        "scheduler.autoscale.warm_share", 0.3, .above(0, atMost: 1), "share of max_slots the nightly warm batch may hold")
    static let warmDeadlineHours = SettingKey<Double>(
        "scheduler.autoscale.warm_deadline_h", 7, .from(0, below: 24), "warm builds should be done by this hour, local time")
    static let warmMarginSeconds = SettingKey<Double>("scheduler.autoscale.warm_margin_s", 3600, .within(0, 86_400), "… this long before it")
    static let warmWindow = SettingKey<Double>(
        "scheduler.placement.warm_window", 200, .within(0, 10_000),
        "score points within which a job an idle slot has the dependencies of goes first")
    static let retentionDays = SettingKey<Double>(
        "scheduler.retention_days", 30, .above(0, atMost: 36_500),
        "finished jobs, logs and build-cache rows older than this are pruned (hourly)")

    static let keys: [KeyDescriptor] = [
        database.descriptor, minSlots.descriptor, maxSlots.descriptor, tickMs.descriptor, retryLimit.descriptor,
        retryBaseSeconds.descriptor, leaseSeconds.descriptor, rescueIntervalSeconds.descriptor, timeoutSeconds.descriptor,
        warningSeconds.descriptor, killGraceSeconds.descriptor, shutdownGraceSeconds.descriptor, logCapBytes.descriptor,
        toolchain.descriptor, defaultCommand.descriptor, output.descriptor,
        agePerHour.descriptor, kind.descriptor, hint.descriptor, popularity.descriptor, cost.descriptor, fairShare.descriptor,
        attempts.descriptor, policy.descriptor, warmWindow.descriptor,
        burstIdleSeconds.descriptor, coreIdleSeconds.descriptor, quietSeconds.descriptor, coreFactor.descriptor,
        coreTimeConstant.descriptor, padFactor.descriptor, soonFreeShare.descriptor, warmShare.descriptor,
        warmDeadlineHours.descriptor, warmMarginSeconds.descriptor, retentionDays.descriptor,
    ]
}

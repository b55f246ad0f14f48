import Testing

@testable import Scheduler

/// The scheduler's configuration checks itself, without the CLI.
@Suite struct SchedulerConfigurationTests {
    @Test func theDefaultsHaveNoProblemAndEachBadValueNamesItsKey() {
        #expect(SchedulerConfiguration().problems().isEmpty)
        var c = SchedulerConfiguration()
        c.minSlots = 5
        c.maxSlots = 2
        c.tickMs = 1
        c.output = "../escape"
        c.retentionDays = 0
        c.policy = "fastest"
        c.sandbox.mode = "docker"
        c.sandbox.environment.inherit = ["WHARF_ADMIN_TOKEN"]
        c.sandbox.limits.defaults.memoryBytes = 1
        let keys = Set(c.problems().map(\.key))
        #expect(
            keys == [
                "scheduler.min_slots", "scheduler.tick_ms", "scheduler.output", "scheduler.retention_days", "scheduler.policy",
                "scheduler.sandbox.mode", "scheduler.build.env", "scheduler.limits.memory_bytes",
            ], "\(keys)")
    }

    @Test func theBuildSettingsCarryTheSandboxAndLimits() {
        var c = SchedulerConfiguration()
        c.sandbox.limits.buildTypes["flutter_android"] = BuildLimitOverrides(memoryBytes: 8 << 30)
        let build = c.buildSettings(storePath: "/srv/wharf")
        #expect(build.workRoot == "/srv/wharf/sandbox/work" && build.logRoot == "/srv/wharf/logs")
        #expect(build.limitPolicy.limits(app: "a", buildType: "flutter_android").memoryBytes == 8 << 30)
        #expect(build.keepFailedWorkspaces == 3600 && build.isolation.mode == .none)
    }
}

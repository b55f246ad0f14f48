import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a scheduler stops: dispatching has ended; running builds get `grace` seconds (on the injected
/// clock) to finish; the rest are abandoned to their leases: `abandon` runs (the wiring closes the
/// build loop so nothing can publish any more) and then each running build's process group is
/// killed. A restart rescues those jobs when their leases expire.
public struct BuildShutdown: Sendable {
    let service: SchedulerService
    let grace: Double
    let clock: any SchedulerClock
    /// How often the builds are looked at while waiting.
    let poll: Duration

    public init(service: SchedulerService, grace: Double, clock: any SchedulerClock = SystemClock(), poll: Duration = .milliseconds(50)) {
        self.service = service
        self.grace = grace
        self.clock = clock
        self.poll = poll
    }

    public enum Outcome: Sendable, Equatable {
        /// Every build ended within the grace.
        case drained
        /// These jobs were still building when the grace ran out, and their processes were killed.
        case abandoned([Int64])
    }

    /// Waits for the running builds within the grace, else abandons them (see the type's comment).
    public func run(abandon: @Sendable () -> Void = {}) async -> Outcome {
        let deadline = clock.now().addingTimeInterval(grace)
        while !(await service.runningJobs()).isEmpty, clock.now() < deadline {
            try? await Task.sleep(for: poll)
        }
        let left = await service.runningJobs()
        if left.isEmpty { return .drained }
        let groups = service.executor.processes.all
        abandon()
        for group in groups where group > 1 {
            _ = kill(-group, SIGKILL)
            _ = kill(group, SIGKILL)
        }
        return .abandoned(left)
    }
}

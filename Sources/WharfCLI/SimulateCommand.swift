import ArgumentParser
import Foundation
import Scheduler

/// `wharf simulate TRACE`: replays a build-request trace through the real queue, scoring, placement and
/// autoscaler under a virtual clock, and prints the metrics of TRACE-FORMAT.md.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a build-request trace through the scheduler under a virtual clock and print its metrics.")

    @Argument(help: "Trace CSV (e.g. ../shared/traces/dev-seed3.csv); its .meta.json beside it gives the horizon.")
    var trace: String
    @Option(help: "Scheduling policy: adaptive or seed (default: the config's scheduler.policy, else adaptive).")
    var policy: String?
    @Option(
        help:
            "wharf.yaml (and WHARF_ variables) whose scheduler.policy, scheduler.autoscale.*, scheduler.weights.* and slot limits the replay uses; flags override them."
    )
    var config: String?
    @Flag(help: "Print the metrics as one JSON object.") var json = false
    @Option(help: "Fewest slots (default: the config's scheduler.min_slots, else 1).") var min: Int?
    @Option(help: "Most slots (default: the config's scheduler.max_slots, else 10).") var max: Int?
    @Option(name: .customLong("prov-delay"), help: "Seconds a new slot takes to become usable.") var provisioningDelay = 45.0
    @Option(name: .customLong("tick"), help: "Seconds between autoscaler decisions.") var tick = 10.0
    @Option(name: .customLong("history"), help: "Also print the last N scaling decisions with their reasons.")
    var history = 0
    @Option(name: .customLong("burst-idle"), help: "adaptive: seconds a slot above the core stays idle before it may be released.")
    var burstIdle: Double?
    @Option(name: .customLong("core-idle"), help: "adaptive: seconds a core slot stays idle before it may be released.")
    var coreIdle: Double?
    @Option(name: .customLong("core-tc"), help: "adaptive: time constant (s) of the busy-slot average that sizes the core.")
    var coreTimeConstant: Double?
    @Option(name: .customLong("quiet"), help: "adaptive: seconds after a scale event before a release.")
    var quiet: Double?
    @Option(name: .customLong("core-factor"), help: "adaptive: core slots = ceil(factor × busy average).")
    var coreFactor: Double?
    @Option(name: .customLong("pad"), help: "adaptive: extra slots on a scale-up = pad × √load.")
    var pad: Double?
    @Option(name: .customLong("cost-weight"), help: "adaptive: priority weight of cheap (short) builds (default 200).")
    var costWeight: Double?
    @Option(help: "Tie-break between equally suitable idle slots: poolOrder or affinity (the policy's own by default).")
    var placement: String?
    @Option(name: .customLong("soon-free"), help: "adaptive: a build ending within this share of the provisioning delay counts as a free slot.")
    var soonFree: Double?
    @Option(
        name: .customLong("warm-window"),
        help:
            "Score points a job that would start warm may jump ahead of a better one that would start cold (0 = strict order; adaptive default 200).")
    var warmWindow: Double?
    @Option(name: .customLong("warm-share"), help: "adaptive: share of --max the nightly warm batch may hold.")
    var warmShare: Double?

    func validate() throws {
        if let policy, SchedulingPolicy.named(policy) == nil {
            throw ValidationError("unknown policy '\(policy)' (known: \(SchedulingPolicy.names.joined(separator: ", ")))")
        }
        guard provisioningDelay.isFinite, provisioningDelay >= 0, provisioningDelay <= 86_400 else {
            throw ValidationError("--prov-delay must be 0...86400")
        }
        guard tick.isFinite, tick >= 1, tick <= 3600 else { throw ValidationError("--tick must be 1...3600") }
        if let placement, PlacementTieBreak(rawValue: placement) == nil {
            throw ValidationError("--placement must be one of \(PlacementTieBreak.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard FileManager.default.isReadableFile(atPath: trace) else { throw ValidationError("cannot read trace file '\(trace)'") }
        guard history >= 0 else { throw ValidationError("--history must be ≥ 0") }
        for (name, value) in [
            ("--burst-idle", burstIdle), ("--core-idle", coreIdle), ("--core-tc", coreTimeConstant), ("--quiet", quiet),
            ("--core-factor", coreFactor), ("--pad", pad), ("--cost-weight", costWeight),
            ("--warm-share", warmShare), ("--soon-free", soonFree), ("--warm-window", warmWindow),
        ] {
            if let value, !(value.isFinite && value >= 0 && value <= 86_400) { throw ValidationError("\(name) must be 0...86400") }
        }
    }

    func run() async throws {
        var base = SchedulerConfiguration()
        if let config {
            var loader = try await ConfigurationLoader.load(configFile: config)
            let settings = loader.settings()
            loader.validate(settings)
            if !loader.problems.isEmpty { throw InvalidConfiguration(problems: loader.problems) }
            base = settings.scheduler
        }
        let limits = try SlotLimits(min: min ?? base.minSlots, max: max ?? base.maxSlots)
        let loaded = try TraceReader.load(path: trace)
        var chosen = SchedulingPolicy.named(policy ?? base.policy)!
        if chosen.name == "adaptive" {
            // The simulator's clock is local time already: no UTC offset.
            var settings = base.autoscale
            settings.utcOffset = 0
            if let burstIdle { settings.burstIdleTimeout = burstIdle }
            if let coreIdle { settings.coreIdleTimeout = coreIdle }
            if let coreTimeConstant { settings.coreTimeConstant = coreTimeConstant }
            if let quiet { settings.quietPeriod = quiet }
            if let coreFactor { settings.coreFactor = coreFactor }
            if let pad { settings.padFactor = pad }
            if let warmShare { settings.warmCap = WarmShareCap(share: warmShare) }
            if let soonFree { settings.soonFreeShare = soonFree }
            var weights = base.weights
            if let costWeight { weights.cost = costWeight }
            chosen = .adaptive(settings: settings, weights: weights, warmWindow: base.warmWindow)
        }
        if let placement { chosen.placement = PlacementTieBreak(rawValue: placement)! }
        if let warmWindow { chosen.warmWindow = warmWindow }
        let simulator = TraceSimulator(
            trace: loaded, policy: chosen,
            options: .init(limits: limits, provisioningDelay: provisioningDelay, tick: tick))
        let result = try simulator.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result.metrics), as: UTF8.self))
        } else {
            print(result.metrics.text)
        }
        if history > 0 {
            for event in result.history.suffix(history) {
                let t = event.time.timeIntervalSince1970
                let stamp = String(format: "d%d %02d:%02d:%02d", Int(t) / 86_400, (Int(t) % 86_400) / 3600, (Int(t) % 3600) / 60, Int(t) % 60)
                print(
                    "\(stamp) → \(event.decision.desiredSlots) slots (+\(event.requested.count) −\(event.released.count)): \(event.decision.reason)")
            }
        }
    }
}

import ArgumentParser
import Foundation
import Synchronization
import UVLoop

#if canImport(Glibc)
    import Glibc
#endif

/// `wharf-load`: the open-/closed-loop HTTP/1.1 load generator of loadtests/.
@main
struct WharfLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wharf-load",
        abstract: "Open-loop (latency at a fixed rate) and closed-loop (saturation) HTTP/1.1 load generator.",
        subcommands: [RunCommand.self, TrivialServerCommand.self, CheckScenarioCommand.self],
        defaultSubcommand: RunCommand.self)
}

/// Parses `HOST:PORT` (numeric IPv4 host or localhost).
func parseHostPort(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
        throw ValidationError("expected HOST:PORT, got '\(text)'")
    }
    return (String(text[..<colon]), port)
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run one phase of a scenario against one server.")

    @Option(help: "Scenario file (JSON, see loadtests/scenarios).") var scenario: String
    @Option(help: "Fixture directory (holds fixture.json and apps/).") var fixture: String
    @Option(help: "Server HOST:PORT.") var target: String
    @Option(help: "Phase: 'saturation' (closed loop) or 'open' (fixed rate).") var phase: String = "open"
    @Option(help: "Requests per second (open loop); overrides the scenario.") var rate: Double?
    @Option(help: "Connections; overrides the scenario.") var connections: Int?
    @Option(help: "Seconds of load; overrides the scenario.") var duration: Double?
    @Option(name: .customLong("max-requests"), help: "Upper bound on requests.") var maxRequests: Int?
    @Option(name: .customLong("verify-fraction"), help: "Fraction of bodies to hash and compare.") var verifyFraction: Double?
    @Option(help: "Server name recorded in the result.") var label: String = "server"
    @Option(help: "Write the result JSON here.") var out: String?
    @Flag(name: .customLong("no-background"), help: "Skip idle/slowloris connections.") var noBackground = false
    @Option(help: "Seed of the request sequence.") var seed: UInt64?

    func run() throws {
        let scenario = try Scenario.load(path: scenario)
        let fixture = try Fixture.load(directory: fixture)
        let (host, port) = try parseHostPort(target)
        let mode: RunOptions.Mode
        let phaseConfig: Scenario.Phase?
        switch self.phase {
        case "saturation", "closed": (mode, phaseConfig) = (.closed, scenario.saturation)
        case "open": (mode, phaseConfig) = (.open, scenario.open)
        default: throw ValidationError("--phase must be 'saturation' or 'open'")
        }
        let rate = rate ?? phaseConfig?.rate
        if mode == .open && rate == nil { throw ValidationError("open loop needs a rate (--rate or open.rate in the scenario)") }
        if let rate, !(rate > 0 && rate <= 10_000_000) { throw ValidationError("--rate must be in (0, 1e7]") }
        let options = RunOptions(
            mode: mode, host: host, port: port, label: label,
            connections: connections ?? phaseConfig?.connections ?? 16, rate: rate,
            durationS: duration ?? phaseConfig?.durationS ?? 5,
            maxRequests: maxRequests ?? phaseConfig?.maxRequests ?? 5_000_000,
            verifyFraction: scenario.checkContent == false ? 0 : (verifyFraction ?? scenario.verifyFraction ?? 0.01),
            requestTimeoutS: scenario.requestTimeoutS ?? 10, seed: seed ?? scenario.seed ?? 1,
            skipBackground: noBackground)
        guard options.connections >= 1, options.connections <= 50_000 else { throw ValidationError("--connections must be 1...50000") }
        guard options.durationS > 0, options.durationS <= 3600 else { throw ValidationError("--duration must be in (0, 3600]") }
        guard (0...1).contains(options.verifyFraction) else { throw ValidationError("--verify-fraction must be in [0, 1]") }
        let catalog = try RequestCatalog(mix: scenario.mix, fixture: fixture)
        OpenFileLimit.raiseToHardLimit()

        let thread = try LoopThread(name: "wharf-load")
        let outcome = Mutex<RunResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        let loadRun = LoadRun(loop: thread.loop, scenario: scenario, catalog: catalog, options: options)
        thread.loop.execute {
            loadRun.start { result in
                outcome.withLock { $0 = result }
                done.signal()
            }
        }
        // Background set-up ≤ 60 s, discovery ≤ 120 s, connecting ≤ 15 s, the load, the drain.
        let bound = 60 + 120 + 15 + options.durationS + options.drainGraceS + 30
        if done.wait(timeout: .now() + bound) == .timedOut {
            try? thread.stopAndJoin()
            throw ValidationError("run did not finish within \(Int(bound)) s")
        }
        try? thread.stopAndJoin()
        guard let result = outcome.withLock({ $0 }) else { throw ValidationError("no result") }
        if let out {
            try result.encoded().write(to: URL(fileURLWithPath: out))
        }
        print(result.summaryLine)
        if !result.discovery.failures.isEmpty {
            FileHandle.standardError.write(Data(("discovery failures:\n" + result.discovery.failures.map { "  \($0)\n" }.joined()).utf8))
        }
    }
}

struct TrivialServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trivial-server", abstract: "Serve a fixed 200 response (to measure the generator's own overhead).")
    @Option(help: "Listen HOST:PORT.") var listen: String
    @Option(name: .customLong("body-bytes")) var bodyBytes: Int = 2048
    @Option(help: "Exit after this many seconds.") var seconds: Double = 600

    func run() throws {
        let (host, port) = try parseHostPort(listen)
        guard (0...(1 << 20)).contains(bodyBytes) else { throw ValidationError("--body-bytes must be 0...1048576") }
        OpenFileLimit.raiseToHardLimit()
        let thread = try LoopThread(name: "trivial-server")
        let bytes = bodyBytes
        try thread.loop.executeAndWait { _ = try TrivialServer(loop: thread.loop, host: host, port: port, bodyBytes: bytes) }
        print("listening on \(host):\(port)")
        fflush(nil)
        // Ends after `seconds`, or on SIGTERM/SIGINT (default action).
        Thread.sleep(forTimeInterval: seconds)
        try? thread.stopAndJoin()
    }
}

struct CheckScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-scenario", abstract: "Validate scenario files.")
    @Argument var files: [String]
    @Option(help: "Also build the request catalogue against this fixture.") var fixture: String?

    func run() throws {
        for file in files {
            let scenario = try Scenario.load(path: file)
            if let fixture {
                let catalog = try RequestCatalog(mix: scenario.mix, fixture: try Fixture.load(directory: fixture))
                print("\(file): ok (\(catalog.variants.count) variants, \(catalog.templates.count) requests)")
            } else {
                print("\(file): ok")
            }
        }
    }
}

import Foundation

/// The resources one build may use: memory, CPUs, processes, workspace disk, open files, time, and
/// whether it may reach the network. Defaults are the seeds' (4 GiB, 2 CPUs, 30 minutes with the
/// warning at 20). Enforced by `BuildRunner`: cgroups where a hierarchy is writable, rlimits otherwise,
/// a workspace size watch for disk. A nil limit is not enforced.
public struct BuildLimits: Sendable, Equatable, Codable {
    public var memoryBytes: Int?
    public var cpus: Double?
    public var processes: Int?
    /// Bytes the workspace (source copy, outputs, `TMPDIR`, `HOME`) may hold; also the largest file.
    public var diskBytes: Int?
    public var openFiles: Int?
    /// Seconds until the build is stopped as `timed_out`.
    public var timeout: Double
    /// Seconds until a warning event; nil for none.
    public var warningAfter: Double?
    /// Whether the build may use the network (only enforceable under bubblewrap).
    public var network: Bool

    public static let seedDefaults = BuildLimits()

    /// The API's camelCase keys, with the unit in the name of the two times.
    enum CodingKeys: String, CodingKey {
        case memoryBytes, cpus, processes, diskBytes, openFiles, network
        case timeout = "timeoutSeconds"
        case warningAfter = "warningSeconds"
    }

    init(
        memoryBytes: Int? = 4 << 30, cpus: Double? = 2, processes: Int? = 512, diskBytes: Int? = 10 << 30,
        openFiles: Int? = 4096, timeout: Double = 1800, warningAfter: Double? = 1200, network: Bool = false
    ) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
        self.processes = processes
        self.diskBytes = diskBytes
        self.openFiles = openFiles
        self.timeout = timeout
        self.warningAfter = warningAfter
        self.network = network
    }

    /// No limit at all but the timeout (tests of the runner's mechanics).
    public static func unlimited(timeout: Double = 1800, warningAfter: Double? = nil) -> BuildLimits {
        BuildLimits(
            memoryBytes: nil, cpus: nil, processes: nil, diskBytes: nil, openFiles: nil, timeout: timeout,
            warningAfter: warningAfter, network: true)
    }

    /// Reasons these limits are unusable, by field name (empty when fine).
    public func problems() -> [(field: String, reason: String)] {
        var found: [(String, String)] = []
        if let memoryBytes, memoryBytes < 16 << 20 { found.append(("memory_bytes", "must be at least 16 MiB (got \(memoryBytes))")) }
        if let cpus, !(cpus.isFinite && cpus >= 0.01 && cpus <= 1024) { found.append(("cpus", "must be 0.01...1024")) }
        if let processes, !(8...1_000_000).contains(processes) { found.append(("processes", "must be 8...1000000")) }
        if let diskBytes, diskBytes < 1 << 20 { found.append(("disk_bytes", "must be at least 1 MiB")) }
        if let openFiles, !(16...1_048_576).contains(openFiles) { found.append(("open_files", "must be 16...1048576")) }
        if !(timeout.isFinite && timeout > 0) { found.append(("timeout_s", "must be > 0")) }
        if let warningAfter, !(warningAfter.isFinite && warningAfter > 0) { found.append(("warning_s", "must be > 0")) }
        return found
    }

    /// One line for logs and `wharf jobs explain`.
    public var summary: String {
        func bytes(_ value: Int?) -> String {
            guard let value else { return "unlimited" }
            if value % (1 << 30) == 0 { return "\(value >> 30) GiB" }
            if value % (1 << 20) == 0 { return "\(value >> 20) MiB" }
            return "\(value) B"
        }
        let cpu = cpus.map { $0 == $0.rounded() ? "\(Int($0))" : String(format: "%.2f", $0) } ?? "unlimited"
        return "memory \(bytes(memoryBytes)), cpus \(cpu), processes \(processes.map(String.init) ?? "unlimited"), "
            + "disk \(bytes(diskBytes)), open files \(openFiles.map(String.init) ?? "unlimited"), timeout \(Int(timeout)) s"
            + (warningAfter.map { " (warning at \(Int($0)) s)" } ?? "") + ", network \(network ? "allowed" : "off")"
    }
}

/// A partial set of limits: the fields a build type or an app overrides.
public struct BuildLimitOverrides: Sendable, Equatable {
    public var memoryBytes: Int?
    public var cpus: Double?
    public var processes: Int?
    public var diskBytes: Int?
    public var openFiles: Int?
    public var timeout: Double?
    public var warningAfter: Double?
    public var network: Bool?
    /// Fields set to "no limit" (`memory_bytes`, `cpus`, `processes`, `disk_bytes`, `open_files`).
    public var unlimited: Set<String> = []

    public init(
        memoryBytes: Int? = nil, cpus: Double? = nil, processes: Int? = nil, diskBytes: Int? = nil, openFiles: Int? = nil,
        timeout: Double? = nil, warningAfter: Double? = nil, network: Bool? = nil
    ) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
        self.processes = processes
        self.diskBytes = diskBytes
        self.openFiles = openFiles
        self.timeout = timeout
        self.warningAfter = warningAfter
        self.network = network
    }

    public var isEmpty: Bool { self == BuildLimitOverrides() }

    /// `base` with these fields replaced.
    public func applied(to base: BuildLimits) -> BuildLimits {
        var limits = base
        if unlimited.contains("memory_bytes") { limits.memoryBytes = nil }
        if unlimited.contains("cpus") { limits.cpus = nil }
        if unlimited.contains("processes") { limits.processes = nil }
        if unlimited.contains("disk_bytes") { limits.diskBytes = nil }
        if unlimited.contains("open_files") { limits.openFiles = nil }
        if let memoryBytes { limits.memoryBytes = memoryBytes }
        if let cpus { limits.cpus = cpus }
        if let processes { limits.processes = processes }
        if let diskBytes { limits.diskBytes = diskBytes }
        if let openFiles { limits.openFiles = openFiles }
        if let timeout { limits.timeout = timeout }
        if let warningAfter { limits.warningAfter = warningAfter }
        if let network { limits.network = network }
        if let warning = limits.warningAfter, warning >= limits.timeout { limits.warningAfter = nil }
        return limits
    }
}

/// Which limits a job gets: the defaults, then its build type's overrides, then its app's
/// (`scheduler.limits.*`, `scheduler.limits.<build type>.*`, `scheduler.limits.app.<app>.*`).
public struct BuildLimitPolicy: Sendable, Equatable {
    public var defaults: BuildLimits
    public var buildTypes: [String: BuildLimitOverrides]
    public var apps: [String: BuildLimitOverrides]

    init(
        defaults: BuildLimits = .seedDefaults, buildTypes: [String: BuildLimitOverrides] = [:],
        apps: [String: BuildLimitOverrides] = [:]
    ) {
        self.defaults = defaults
        self.buildTypes = buildTypes
        self.apps = apps
    }

    public func limits(app: String, buildType: String) -> BuildLimits {
        var limits = defaults
        if let type = buildTypes[buildType] { limits = type.applied(to: limits) }
        if let app = apps[app] { limits = app.applied(to: limits) }
        return limits
    }
}

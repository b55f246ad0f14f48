import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where build control groups can be made: for each cgroup v1 controller Wharf uses (`memory`, `cpu`,
/// `pids`), the directory of this process's own group, if it is writable. (These machines have the
/// v1 hierarchy; the v2 one at `/sys/fs/cgroup/unified` has no controllers enabled. A v2-only machine
/// gets no cgroups and falls back to rlimits, which `check-config` says.)
public struct CgroupRoots: Sendable, Equatable {
    /// Controller name → the directory new groups go under.
    var parents: [String: String]

    static let controllers = ["memory", "cpu", "pids"]

    init(parents: [String: String]) { self.parents = parents }

    /// The writable v1 parents of this process, or nil when none is usable.
    static func detect(mountRoot: String = "/sys/fs/cgroup") -> CgroupRoots? {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        var parents: [String: String] = [:]
        for line in membership.split(separator: "\n") {
            // hierarchy-id:controller-list:path
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            for controller in fields[1].split(separator: ",").map(String.init) where controllers.contains(controller) {
                let directory = mountRoot + "/" + controller + (fields[2] == "/" ? "" : String(fields[2]))
                if access(directory + "/cgroup.procs", W_OK) == 0 { parents[controller] = directory }
            }
        }
        return parents.isEmpty ? nil : CgroupRoots(parents: parents)
    }

    /// Removes empty groups a killed scheduler left behind (`wharf-build-<job>-<pid>-<n>` whose pid is
    /// gone); a live scheduler's groups are left alone, even empty ones about to be joined. Returns how many.
    @discardableResult
    func removeStale() -> Int {
        var removed = 0
        for parent in parents.values {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix("wharf-build-") {
                let fields = name.dropFirst("wharf-build-".count).split(separator: "-")
                if fields.count == 3, let pid = Int32(fields[1]), pid > 0, kill(pid, 0) == 0 || errno == EPERM { continue }
                if rmdir(parent + "/" + name) == 0 { removed += 1 }
            }
        }
        return removed
    }
}

/// The control groups of one build attempt (one per controller), made before it starts with its
/// limits written, joined by the build's first process before it runs anything of the build's,
/// read after it ends (out-of-memory kills, process-limit hits, peak memory) and removed.
final class BuildCgroup: Sendable {
    /// Controller name → this build's group directory.
    let directories: [String: String]

    /// Makes the groups and writes `limits`. Throws when a directory cannot be made or a limit
    /// cannot be written (everything made so far is removed again).
    init(name: String, limits: BuildLimits, roots: CgroupRoots) throws {
        var made: [String: String] = [:]
        do {
            for (controller, parent) in roots.parents.sorted(by: { $0.key < $1.key }) {
                let directory = parent + "/wharf-build-" + name
                if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                    throw SchedulerError.invalidConfiguration("cannot make cgroup \(directory): \(String(cString: strerror(errno)))")
                }
                made[controller] = directory
                switch controller {
                case "memory":
                    if let bytes = limits.memoryBytes {
                        try Self.write("\(bytes)", to: directory + "/memory.limit_in_bytes")
                        // Without swap accounting this file is absent; with it, swap may not dodge the limit.
                        try? Self.write("\(bytes)", to: directory + "/memory.memsw.limit_in_bytes")
                    }
                case "cpu":
                    if let cpus = limits.cpus {
                        try Self.write("100000", to: directory + "/cpu.cfs_period_us")
                        try Self.write("\(max(1000, Int(cpus * 100_000)))", to: directory + "/cpu.cfs_quota_us")
                    }
                case "pids":
                    if let processes = limits.processes { try Self.write("\(processes)", to: directory + "/pids.max") }
                default: break
                }
            }
        } catch {
            for directory in made.values { rmdir(directory) }
            throw error
        }
        directories = made
    }

    var limitsMemory: Bool { directories["memory"] != nil }
    var limitsProcesses: Bool { directories["pids"] != nil }

    /// The `cgroup.procs` files the build's first process writes its pid to.
    var procsFiles: [String] { directories.keys.sorted().map { directories[$0]! + "/cgroup.procs" } }

    /// Processes the kernel killed for exceeding the memory limit.
    var outOfMemoryKills: Int {
        guard let directory = directories["memory"] else { return 0 }
        return Self.field("oom_kill", in: directory + "/memory.oom_control") ?? 0
    }

    /// Forks refused because the process limit was reached.
    var processLimitHits: Int {
        guard let directory = directories["pids"] else { return 0 }
        return Self.field("max", in: directory + "/pids.events") ?? 0
    }

    /// The most memory the build used at once.
    public var peakMemoryBytes: Int? {
        guard let directory = directories["memory"],
            let text = try? String(contentsOfFile: directory + "/memory.max_usage_in_bytes", encoding: .utf8)
        else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Every process in the build's groups.
    public var processes: [Int32] {
        var pids = Set<Int32>()
        for file in procsFiles {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") { if let pid = Int32(line) { pids.insert(pid) } }
        }
        return pids.sorted()
    }

    /// SIGKILLs every process in the groups until none is left (a build that escaped its process
    /// group with `setsid` is still in its cgroup), within about a second.
    func killAll() {
        for _ in 0..<50 {
            let pids = processes
            if pids.isEmpty { return }
            for pid in pids where pid > 1 && pid != getpid() { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// Kills what is left and removes the groups (a group with processes cannot be removed).
    public func remove() {
        killAll()
        for directory in directories.values {
            for _ in 0..<50 {
                if rmdir(directory) == 0 || errno == ENOENT { break }
                usleep(20_000)
            }
        }
    }

    static func write(_ value: String, to path: String) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw SchedulerError.invalidConfiguration("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        if written < 0 { throw SchedulerError.invalidConfiguration("cannot write \(value) to \(path): \(String(cString: strerror(errno)))") }
    }

    /// The number after `name ` on its own line of a `key value` file.
    static func field(_ name: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }
}

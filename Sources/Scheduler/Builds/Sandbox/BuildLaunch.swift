import Foundation
import UVLoop

/// The command line that starts one build: bash closes every inherited descriptor but stdio, then a
/// short prologue run by `/bin/sh` as Wharf's own user
/// joins the build's cgroups and sets its rlimits, then `exec`s the isolation wrapper (`setpriv`,
/// `bwrap`), which `exec`s `/bin/sh -c COMMAND` as the build. Nothing of the build's runs before it is
/// inside its groups, limits and sandbox. The command travels as `$1`, never quoted into a script.
struct BuildLaunch: Sendable, Equatable {
    public var command: String
    public var limits: BuildLimits
    public var isolation: BuildIsolation
    var identity: BuildIdentity?
    /// Bound read-write into a bubblewrap sandbox; the first is where the build starts.
    var writable: [String]
    /// `cgroup.procs` files to join (empty without cgroups).
    var cgroupProcs: [String]
    /// Whether the cgroups bound memory and processes (otherwise rlimits stand in).
    var cgroupLimitsMemory: Bool
    var cgroupLimitsProcesses: Bool

    init(
        command: String, limits: BuildLimits, isolation: BuildIsolation = .none, identity: BuildIdentity? = nil,
        writable: [String] = [], cgroupProcs: [String] = [], cgroupLimitsMemory: Bool = false,
        cgroupLimitsProcesses: Bool = false
    ) {
        self.command = command
        self.limits = limits
        self.isolation = isolation
        self.identity = identity
        self.writable = writable
        self.cgroupProcs = cgroupProcs
        self.cgroupLimitsMemory = cgroupLimitsMemory
        self.cgroupLimitsProcesses = cgroupLimitsProcesses
    }

    /// `'…'` with every `'` escaped: safe for any bytes as one shell word.
    static func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The prologue script (exit 125: cannot join a cgroup; 126: a limit cannot be set).
    var prologue: String {
        var lines: [String] = []
        for file in cgroupProcs {
            lines.append("echo $$ > \(Self.quote(file)) || { echo 'wharf: cannot join the build cgroup' >&2; exit 125; }")
        }
        var ulimits: [String] = []
        if let openFiles = limits.openFiles { ulimits.append("ulimit -n \(openFiles)") }
        if let disk = limits.diskBytes { ulimits.append("ulimit -f \(max(1, disk / 1024))") }
        if let memory = limits.memoryBytes, !cgroupLimitsMemory { ulimits.append("ulimit -v \(max(1, memory / 1024))") }
        // RLIMIT_NPROC counts every process of the build user, and binds only a non-root one.
        // (dash spells RLIMIT_NPROC `-p`.)
        if let processes = limits.processes, !cgroupLimitsProcesses, identity != nil { ulimits.append("ulimit -p \(processes)") }
        for line in ulimits { lines.append("\(line) || { echo 'wharf: cannot set \(line)' >&2; exit 126; }") }
        let wrapper = isolation.wrap(["/bin/sh", "-c"], identity: identity, writable: writable, network: limits.network)
        lines.append("exec " + wrapper.map(Self.quote).joined(separator: " ") + " \"$1\"")
        return lines.joined(separator: "\n")
    }

    /// Run first, by bash (dash cannot name a descriptor above 9): closes every descriptor but the
    /// three standard ones, then `exec`s `/bin/sh -c PROLOGUE wharf-build COMMAND`. Wharf's threads
    /// open files while builds start, and Foundation opens without close-on-exec (`copyItem`,
    /// `Data.write`, `String(contentsOfFile:)`), so a fork on one thread can catch a descriptor another
    /// thread has open for a moment: another build's workspace file being copied, a token file being
    /// read. Closed here, before any of the build's own code runs, whatever leaked is gone. (`SHLVL`,
    /// which bash puts into the environment of whatever it `exec`s, is taken out again by `env -u`.)
    static let closeInheritedDescriptors = #"""
        for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] 2>/dev/null && { exec {n}>&-; } 2>/dev/null; done
        exec /usr/bin/env -u SHLVL /bin/sh -c "$0" "$@"
        """#

    /// How to spawn it: `/bin/bash -c CLOSE PROLOGUE wharf-build COMMAND` in `workingDirectory`, which
    /// becomes `/bin/sh -c PROLOGUE wharf-build COMMAND` with only stdin, stdout and stderr open.
    func processOptions(environment: [String: String], workingDirectory: String) -> ProcessOptions {
        ProcessOptions(
            executable: "/bin/bash", arguments: ["-c", Self.closeInheritedDescriptors, prologue, "wharf-build", command],
            environment: environment.map { "\($0.key)=\($0.value)" }.sorted(),
            workingDirectory: workingDirectory, newProcessGroup: true)
    }
}

/// Disk use of a directory tree in bytes (allocated blocks, so sparse files count as what they take).
public enum DirectoryUsage {
    /// Sums the tree under `path` without following symbolic links; stops counting past `stopAbove`.
    public static func bytes(_ path: String, stopAbove: Int = .max) -> Int {
        var total = 0
        var pending = [path]
        while let directory = pending.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names {
                let child = directory + "/" + name
                var info = stat()
                guard lstat(child, &info) == 0 else { continue }
                total += Int(info.st_blocks) * 512
                if (info.st_mode & S_IFMT) == S_IFDIR { pending.append(child) }
                if total > stopAbove { return total }
            }
        }
        return total
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Kills build processes left behind by a scheduler that died (`kill -9`): builds run in their own
/// process groups, so they outlive their scheduler. A process whose working directory is an attempt's
/// working copy (`<sandbox>/work/job-<id>-attempt-<n>`) is an orphan when that attempt has ended (the
/// rescuer closed it) or its job's lease has expired; its whole process group is killed. Run before
/// each tick, so an orphan dies before (or, at worst, within one tick of) the rescued job's next attempt.
/// Builds of live schedulers sharing the store hold unexpired leases and are left alone. So are this
/// scheduler's own running attempts, whatever their lease says: a heartbeat late on a loaded machine
/// is for the executor to handle (a lost lease stops the build), not a reason to kill a live build,
/// which the executor would then record as a failure. A job that cannot be read (a database error)
/// is left for the next round. (A build under bubblewrap dies with its scheduler: the sandbox is
/// bound to its parent.)
public struct OrphanBuildReaper: Sendable {
    public let workRoot: String
    let queue: JobQueue
    /// The lease owner of the scheduler this reaper runs in (nil: none of the builds are its own).
    let owner: String?

    public init(workRoot: String, queue: JobQueue, owner: String? = nil) {
        self.workRoot = workRoot
        self.queue = queue
        self.owner = owner
    }

    /// Kills the process groups of orphaned builds; returns the job ids they belonged to.
    @discardableResult
    public func runOnce(now: Date) -> [Int64] {
        // /proc shows resolved paths: compare with the work root's real path.
        guard let real = realpath(workRoot, nil) else { return [] }
        let root = String(cString: real)
        free(real)
        let prefix = root + "/job-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var killed: [Int64] = []
        var verdicts: [String: Bool] = [:]
        for name in entries {
            guard let pid = Int32(name), pid != getpid(),
                let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/cwd"),
                cwd.hasPrefix(prefix)
            else { continue }
            let directory = String(cwd.dropFirst(root.count + 1).prefix { $0 != "/" })
            guard let (job, attempt) = WorkspaceJanitor.parseWorkspace(directory) else { continue }
            let orphaned = verdicts[directory] ?? isOrphaned(job: job, attempt: attempt, now: now)
            verdicts[directory] = orphaned
            guard orphaned, let group = Self.processGroup(of: name), group > 1 else { continue }
            _ = kill(-group, SIGKILL)
            if !killed.contains(job) { killed.append(job) }
        }
        return killed
    }

    private func isOrphaned(job id: Int64, attempt: Int, now: Date) -> Bool {
        let job: Job
        do { job = try queue.get(id) } catch SchedulerError.unknownJob { return true } catch { return false }
        if job.state != .running || job.attempt != attempt { return true }
        if let owner, job.leaseOwner == owner { return false }
        return (job.leaseExpiresAt ?? .distantPast) < now
    }

    /// The process group id (field 5 of /proc/PID/stat).
    static func processGroup(of pid: String) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return nil
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? Int32(fields[2]) : nil
    }
}

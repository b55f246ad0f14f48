import Foundation

/// Keeps build leftovers bounded: a failed attempt's workspace is kept for inspection for
/// `keepFailed` seconds, then removed; a workspace of an attempt that is not running (its scheduler
/// died) goes too; a job's log directory goes once the job itself was pruned from the queue by the
/// retention rule. `runOnce(now:)` is called by the scheduler's housekeeping.
public struct WorkspaceJanitor: Sendable {
    public let workRoot: String
    public let logRoot: String
    let queue: JobQueue
    let keepFailed: Double

    public init(workRoot: String, logRoot: String, queue: JobQueue, keepFailed: Double) {
        self.workRoot = workRoot
        self.logRoot = logRoot
        self.queue = queue
        self.keepFailed = keepFailed
    }

    /// What one round removed.
    public struct Report: Sendable, Equatable {
        var workspaces: [String] = []
        var logDirectories: [String] = []
    }

    @discardableResult
    public func runOnce(now: Date) -> Report {
        var report = Report()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: workRoot)) ?? [] {
            guard let (id, attempt) = Self.parseWorkspace(name) else { continue }
            let path = workRoot + "/" + name
            if let job = try? queue.get(id), job.state == .running, job.attempt == attempt { continue }
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            guard now.timeIntervalSince(modified) >= keepFailed else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil { report.workspaces.append(name) }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: logRoot)) ?? [] {
            guard let id = Int64(name) else { continue }
            // Only a job the queue no longer has (pruned by retention) loses its logs.
            guard case .some(.unknownJob) = Self.lookUpError(queue, id) else { continue }
            if (try? FileManager.default.removeItem(atPath: logRoot + "/" + name)) != nil { report.logDirectories.append(name) }
        }
        return report
    }

    static func lookUpError(_ queue: JobQueue, _ id: Int64) -> SchedulerError? {
        do {
            _ = try queue.get(id)
            return nil
        } catch let error as SchedulerError {
            return error
        } catch {
            return nil
        }
    }

    /// `job-12-attempt-3` → (12, 3); also `job-12-attempt-3.git`, the git directory a push build's
    /// fetch left behind when its scheduler died mid-fetch.
    static func parseWorkspace(_ name: String) -> (Int64, Int)? {
        let base = name.hasSuffix(".git") ? String(name.dropLast(4)) : name
        let parts = base.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "job", parts[2] == "attempt", let id = Int64(parts[1]), let n = Int(parts[3]) else {
            return nil
        }
        return (id, n)
    }
}

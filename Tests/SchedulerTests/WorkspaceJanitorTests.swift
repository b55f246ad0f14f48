import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

/// Build leftovers stay bounded: failed workspaces go after the keep time (never a running attempt's),
/// and a job's logs go once retention pruned the job.
@Suite struct WorkspaceJanitorTests {
    @Test func keptWorkspacesGoAfterTheirTimeAndLogsGoWithTheirPrunedJobs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let running = try queue.enqueue(request(dir, app: "live"), now: t0)
        let claimed = try #require(try queue.claim(owner: "o", slotID: "local-1", now: t0))
        #expect(claimed.id == running.id)
        let done = try queue.enqueue(request(dir, app: "old"), now: t0)
        try queue.cancel(jobID: done.id, now: t0)
        for name in ["job-\(running.id)-attempt-1", "job-\(done.id)-attempt-1", "job-999-attempt-2", "unrelated"] {
            try dir.file("work/\(name)/file", "x")
        }
        for id in [running.id, done.id, 999] { try dir.file("logs/\(id)/attempt-1.log", "log") }
        let janitor = WorkspaceJanitor(workRoot: dir.path + "/work", logRoot: dir.path + "/logs", queue: queue, keepFailed: 3600)
        // Within the keep time nothing goes but the logs of a job the queue never had (999).
        var report = janitor.runOnce(now: Date())
        #expect(report.workspaces.isEmpty)
        #expect(report.logDirectories == ["999"])
        // Past it: every workspace of an attempt that is not running.
        report = janitor.runOnce(now: Date().addingTimeInterval(7200))
        #expect(Set(report.workspaces) == ["job-\(done.id)-attempt-1", "job-999-attempt-2"])
        #expect(FileManager.default.fileExists(atPath: dir.path + "/work/job-\(running.id)-attempt-1"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/work/unrelated"))
        // Retention prunes the finished job; its logs follow.
        #expect(try queue.pruneFinished(before: t0.addingTimeInterval(1)) == 1)
        report = janitor.runOnce(now: Date())
        #expect(report.logDirectories == ["\(done.id)"])
        #expect(FileManager.default.fileExists(atPath: dir.path + "/logs/\(running.id)"))
    }

    @Test func workspaceNamesAreParsedStrictly() {
        #expect(WorkspaceJanitor.parseWorkspace("job-12-attempt-3")! == (12, 3))
        #expect(WorkspaceJanitor.parseWorkspace("job-12-attempt-3.git")! == (12, 3), "a push build's git directory")
        for bad in ["job-x-attempt-1", "job-1-attempt", "job--1-attempt-1", "../job-1-attempt-1", "job-1-try-1", "job-1-attempt-1.gitx", ".git"] {
            #expect(WorkspaceJanitor.parseWorkspace(bad) == nil, "\(bad)")
        }
    }
}

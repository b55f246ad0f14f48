import ArtifactStore
import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Per-app cron builds with the real binary: `wharf cron add NAME EXPR --build APP` refuses an
/// unregistered or uploads-only app; `wharf cron run` queues a build of the head of the app's
/// registered branch in a local bare repository, and `wharf scheduler` builds and publishes it.
@Suite struct CronBuildTests {
    @Test func aBuildScheduleQueuesTheBranchHeadAndTheSchedulerBuildsIt() throws {
        let scratch = ScratchDirectory("wharf-cron-build")
        let store = scratch.path + "/store"
        let origin = scratch.path + "/origin.git"
        let work = scratch.path + "/work"
        try PushHookTests.git(["init", "-q", "--bare", "-b", "main", origin])
        try PushHookTests.git(["init", "-q", "-b", "main", work])
        try PushHookTests.git(["-C", work, "config", "user.email", "ci@example.test"])
        try PushHookTests.git(["-C", work, "config", "user.name", "CI"])
        try scratch.write("work/build.sh", "echo \"built $(cat version.txt)\"\nmkdir -p dist && cat version.txt > dist/index.html\n")
        _ = try PushHookTests.commit(work, version: "v1", origin: origin)
        let head = try PushHookTests.commit(work, version: "v2", origin: origin)
        let config = try scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n")
        func wharf(_ arguments: [String]) throws -> WharfProcess.Result {
            try WharfProcess.run(arguments + ["--store", store])
        }
        #expect(
            try wharf([
                "apps", "add", "shop", "--git", origin, "--build-cmd", "sh build.sh", "--output-dir", "dist",
                "--token-file", scratch.path + "/shop.token",
            ]).status == 0)
        #expect(try wharf(["apps", "add", "files", "--token-file", scratch.path + "/files.token"]).status == 0)

        for (app, message) in [("files", "uploads only"), ("nope", "is not registered")] {
            let refused = try wharf(["cron", "add", "nightly-\(app)", "0 3 * * *", "--build", app, "--config", config])
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(app): \(refused.stderr)")
        }
        #expect(try wharf(["cron", "add", "bad", "61 3 * * *", "--build", "shop", "--config", config]).status != 0)
        let added = try wharf(["cron", "add", "nightly-shop", "30 3 * * *", "--build", "shop", "--zone", "Europe/Berlin", "--config", config])
        #expect(added.status == 0, "\(added.stderr)")
        let listed = try wharf(["cron", "list", "--config", config])
        #expect(listed.stdout.contains("nightly-shop") && listed.stdout.contains("command: build:shop"), "\(listed.stdout)")
        #expect(!listed.stdout.contains("nightly-files"))

        let ran = try wharf(["cron", "run", "nightly-shop", "--config", config])
        #expect(ran.status == 0, "\(ran.stdout)\(ran.stderr)")
        #expect(ran.stdout.contains("succeeded: queued job") && ran.stdout.contains(String(head.prefix(12))), "\(ran.stdout)")
        let listing = try wharf(["jobs", "--json"])
        let jobs = try #require(try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [[String: Any]])
        #expect(jobs.count == 1)
        let job = try #require(jobs.first)
        #expect(job["app"] as? String == "shop" && job["kind"] as? String == "manual" && job["owner"] as? String == "cron:nightly-shop")
        #expect((job["source"] as? String)?.contains(head) == true, "the branch head: \(job)")
        let id = try #require((job["id"] as? NSNumber)?.int64Value)

        let daemon = try WharfDaemon(["scheduler", "--store", store, "--config", config], stderrPath: scratch.path + "/scheduler.log")
        defer { _ = daemon.stop(SIGTERM) }
        let done = try eventually(90, every: 0.2) { try JobRow.list(store: store).first { $0.id == id }?.isFinal == true }
        let row = try JobRow.list(store: store).first { $0.id == id }
        #expect(done && row?.state == "succeeded", "\(String(describing: row))\n\(daemon.stderr)")
        let log = try wharf(["logs", "\(id)"])
        #expect(log.stdout.contains("built v2"), "\(log.stdout)")
        #expect(try Store.open(at: store).currentDeployment(app: "shop")?.files["/index.html"] != nil)

        // The app became uploads only: the next firing fails with the reason, nothing queued.
        #expect(try wharf(["apps", "set", "shop", "--uploads-only"]).status == 0)
        let failed = try wharf(["cron", "run", "nightly-shop", "--config", config])
        #expect(failed.status == 1 && failed.stdout.contains("failed") && failed.stdout.contains("uploads only"), "\(failed.stdout)")
        #expect(try JobRow.list(store: store).count == 1)
    }
}

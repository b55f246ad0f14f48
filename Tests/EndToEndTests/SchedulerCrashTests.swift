import ArtifactStore
import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Issue 6's crash test: a real `wharf scheduler` killed with SIGKILL in the middle of builds, then
/// restarted. No job is lost, each ends in exactly one final state, none publishes twice, and no two
/// attempts of one job overlap in time.
@Suite struct SchedulerCrashTests {
    /// Live processes whose working directory is under `directory`.
    static func processes(under directory: String) -> [Int32] {
        guard let real = realpath(directory, nil) else { return [] }
        let root = String(cString: real)
        free(real)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name in
            guard let pid = Int32(name), let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/cwd"),
                cwd.hasPrefix(root + "/"), SchedulerCommandTests.isAlive(pid)
            else { return nil }
            return pid
        }
    }

    @Test func aSchedulerKilledMidBuildLosesNoJobAndRunsNoneTwice() throws {
        let scratch = ScratchDirectory("wharf-sched-crash")
        let store = scratch.path + "/store"
        let config = scratch.path + "/wharf.yaml"
        // Each build is silent for 5 s, longer than the 2 s lease: the killed scheduler's builds (in their
        // own process groups, and not writing to their dead scheduler's pipes) outlive the lease. A per-job
        // lock holding the builder's pid records any attempt that starts while an earlier one still lives
        // (outside the sandbox, which would give each build its own /proc and keep it from the shared locks).
        try scratch.write(
            "src/build.sh",
            """
            #!/bin/sh
            job=$(basename "$PWD" | cut -d- -f2)
            locks=../../../locks
            mkdir -p $locks
            if ! mkdir $locks/job-$job 2>/dev/null; then
              old=$(cat $locks/job-$job/pid 2>/dev/null)
              state=$(cut -d' ' -f3 /proc/$old/stat 2>/dev/null)
              if [ -n "$old" ] && [ -n "$state" ] && [ "$state" != Z ]; then echo "job $job overlaps pid $old" >> ../../../overlaps; fi
            fi
            echo $$ > $locks/job-$job/pid
            echo "::stage validation"
            sleep 5
            echo "::stage packaging"
            mkdir -p dist
            echo "<p>job $job</p>" > dist/index.html
            rm -rf $locks/job-$job

            """)
        chmod(scratch.path + "/src/build.sh", 0o755)
        // Short leases so the restarted scheduler rescues the killed one's jobs within seconds.
        try scratch.write(
            "wharf.yaml",
            """
            scheduler:
              min_slots: 2
              max_slots: 5
              tick_ms: 100
              lease_s: 2
              rescue_interval_s: 0.5
              retry_base_s: 0.2
              sandbox:
                mode: none
            """)
        let apps = (1...5).map { "crash\($0)" }
        for app in apps {
            let submitted = try WharfProcess.run([
                "build", "submit", app, "--type", "javascript_web", "--source", scratch.path + "/src",
                "--kind", "user_push", "--store", store, "--config", config,
            ])
            #expect(submitted.status == 0, "\(submitted.stderr)")
        }

        // First scheduler: killed with SIGKILL once builds are running (mid-build: each takes ~5 s).
        let first = try WharfDaemon(["scheduler", "--store", store, "--config", config], stderrPath: scratch.path + "/first.log")
        let running = try eventually(30, every: 0.1) { try JobRow.list(store: store).contains { $0.state == "running" } }
        #expect(running, "\(first.stderr)")
        // Running in the queue is not yet running on the machine (the source is copied first): wait for a
        // build's lock, so the kill lands while builds execute.
        let locks = store + "/locks"
        #expect(eventually(30, every: 0.05) { !((try? FileManager.default.contentsOfDirectory(atPath: locks)) ?? []).isEmpty })
        usleep(UInt32.random(in: 100_000...400_000))
        #expect(first.stop(SIGKILL) == SIGKILL)
        // Outside `swift test` the killed scheduler's builds live on in their own process groups until the
        // next scheduler's reaper kills them; under the test harness they have been seen to die with it.
        // Either way no attempt may overlap another (checked by the builds' pid locks below).
        let afterKill = try JobRow.list(store: store)
        let interrupted = afterKill.filter { $0.state == "running" }.map(\.id)
        #expect(!interrupted.isEmpty, "the kill landed between builds: \(afterKill.map { ($0.id, $0.state) })")

        // Second scheduler: rescues the expired leases and finishes everything.
        let second = try WharfDaemon(["scheduler", "--store", store, "--config", config], stderrPath: scratch.path + "/second.log")
        let settled = try eventually(60, every: 0.25) {
            let jobs = try JobRow.list(store: store)
            return jobs.count == apps.count && jobs.allSatisfy(\.isFinal)
        }
        #expect(second.stop(SIGTERM) == 0, "\(second.stderr)")
        let jobs = try JobRow.list(store: store)
        #expect(settled, "\(jobs.map { ($0.app, $0.state, $0.error ?? "") })\n\(second.stderr)")
        #expect(second.stderr.contains("rescued expired leases"), "\(second.stderr)")
        #expect(Self.processes(under: store + "/work").isEmpty, "a build process is left over")
        let overlaps = (try? String(contentsOfFile: store + "/overlaps", encoding: .utf8)) ?? ""
        #expect(overlaps.isEmpty, "two attempts of one job ran at once: \(overlaps)")

        // No job lost, one final state each, one successful attempt each.
        #expect(Set(jobs.map(\.app)) == Set(apps))
        let opened = try Store.open(at: store)
        for job in jobs {
            #expect(job.state == "succeeded", "\(job.app): \(job.state) \(job.error ?? "")")
            let attempts = (job.attempts ?? []).sorted { $0.attempt < $1.attempt }
            #expect(attempts.count == job.attempt)
            #expect(attempts.filter { $0.outcome == "succeeded" }.count == 1, "\(job.app): \(attempts.map(\.outcome))")
            #expect(attempts.allSatisfy { $0.endedAt != nil }, "every attempt ended")
            // No two attempts of one job overlap: each ended before the next started.
            for (earlier, later) in zip(attempts, attempts.dropFirst()) {
                #expect(try #require(earlier.endedAt) <= later.startedAt, "\(job.app): attempts \(earlier.attempt) and \(later.attempt) overlap")
                #expect(earlier.owner != later.owner || earlier.outcome != "lease_expired")
            }
            if interrupted.contains(job.id) {
                #expect(attempts.contains { $0.outcome == "lease_expired" }, "\(job.app) was running at the kill: \(attempts.map(\.outcome))")
            }
            // Published exactly once, and that deployment is live.
            let deployments = try opened.deployments(app: job.app)
            #expect(deployments.count == 1, "\(job.app) published \(deployments.count) times")
            #expect(deployments.first?.id == job.deploymentId)
            #expect(try opened.currentDeployment(app: job.app)?.id == job.deploymentId)
        }
    }
}

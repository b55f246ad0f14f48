import Foundation
import Glibc
import Testing
import WharfTestSupport

/// Issue 23's proof for the shared queue: three real `wharf scheduler` processes, each with its own
/// store and slots (as three hosts would have), on one private PostgreSQL, run N short builds while
/// one of them is SIGKILLed mid-build and restarted, twice. No job is lost, each ends with exactly one
/// successful attempt, no two attempts of a job overlap, and a build ran more than once only for a job
/// whose lease expired under a killed scheduler. N is 1,000 (about 50 s here);
/// `WHARF_PG_SOAK_BUILDS` changes it (`make pg-soak PG_SOAK_BUILDS=…` runs this suite alone).
@Suite(.serialized) struct PostgresSchedulerTests {
    static var builds: Int { ProcessInfo.processInfo.environment["WHARF_PG_SOAK_BUILDS"].flatMap(Int.init) ?? 1000 }

    /// The configuration of the three schedulers: short leases so a killed one's jobs come back in seconds.
    static func config(database: String) -> String {
        """
        scheduler:
          database: \(database)
          min_slots: 3
          max_slots: 3
          tick_ms: 50
          lease_s: 2
          rescue_interval_s: 0.5
          retry_base_s: 0.1
          sandbox:
            mode: none
        """
    }

    @Test func threeSchedulersRunEveryBuildOnceWhileOneIsKilledAndRestartedTwice() throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase(prefix: "soak")
        let database = String(url.split(separator: "/").last!)
        func query(_ sql: String) throws -> String {
            try server.query(sql, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let scratch = ScratchDirectory("wharf-pg-soak")
        let runs = scratch.path + "/runs.log"
        // Each build logs its start and its end (appends of one short line are atomic). Run by `sh build.sh`,
        // not exec'd: with many builds starting at once, exec of a freshly copied script can fail with
        // ETXTBSY (a copy's write descriptor inherited by another build's fork), exit 126.
        try scratch.write(
            "src/build.sh",
            """
            #!/bin/sh
            echo "$WHARF_JOB_ID start" >> \(runs)
            sleep 0.2
            mkdir -p dist
            echo "<p>job $WHARF_JOB_ID</p>" > dist/index.html
            echo "$WHARF_JOB_ID done" >> \(runs)

            """)
        chmod(scratch.path + "/src/build.sh", 0o755)
        let config = try scratch.write("wharf.yaml", Self.config(database: url))
        let stores = (0..<3).map { scratch.path + "/store\($0)" }

        let n = Self.builds
        let submitted = try WharfProcess.run([
            "build", "submit", "soak", "--type", "javascript_web", "--source", scratch.path + "/src",
            "--cmd", "sh build.sh", "--force", "--count", String(n), "--store", stores[0], "--config", config,
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stdout.split(separator: "\n").count == n)

        let started = Date()
        var daemons = try stores.enumerated().map { i, store in
            try WharfDaemon(["scheduler", "--store", store, "--config", config], stderrPath: scratch.path + "/scheduler\(i)-0.log")
        }
        var killedOwners: [String] = []
        for round in 1...2 {
            // Kill scheduler 0 once it holds running builds, a third and two thirds of the way through.
            let target = n * round / 3
            let victim = daemons[0].process.processIdentifier
            let ready = try eventually(240, every: 0.05) {
                let done = Int(try query("SELECT count(*) FROM job WHERE state = 'succeeded'")) ?? 0
                let held = Int(try query("SELECT count(*) FROM job WHERE state = 'running' AND lease_owner LIKE '%-\(victim)-%'")) ?? 0
                return done >= target && held > 0
            }
            #expect(ready, "round \(round): \(daemons[0].stderr)")
            killedOwners.append(try query("SELECT DISTINCT lease_owner FROM job WHERE lease_owner LIKE '%-\(victim)-%'"))
            #expect(daemons[0].stop(SIGKILL) == SIGKILL)
            daemons[0] = try WharfDaemon(
                ["scheduler", "--store", stores[0], "--config", config],
                stderrPath: scratch.path + "/scheduler0-\(round).log")
        }
        let settled = try eventually(600, every: 0.25) {
            try query("SELECT count(*) FROM job WHERE state IN ('queued', 'running')") == "0"
        }
        let seconds = Date().timeIntervalSince(started)
        for daemon in daemons { #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)") }
        let states = try query("SELECT state, count(*) FROM job GROUP BY state")
        #expect(settled, "\(states)")

        // None lost: every job succeeded, with exactly one successful attempt.
        let unsuccessful = try query(
            """
            SELECT j.id, j.state, j.error, string_agg(a.attempt || ':' || coalesce(a.outcome, '-') || '@' || a.owner, ' ' ORDER BY a.attempt)
            FROM job j LEFT JOIN job_attempt a ON a.job_id = j.id WHERE j.state <> 'succeeded' GROUP BY j.id LIMIT 20
            """)
        #expect(try query("SELECT count(*) FROM job WHERE state = 'succeeded'") == String(n), "\(unsuccessful)")
        #expect(
            try query(
                """
                SELECT count(*) FROM job j WHERE (SELECT count(*) FROM job_attempt a WHERE a.job_id = j.id AND a.outcome = 'succeeded') <> 1
                """) == "0")
        // No two attempts of a job overlap in the record.
        #expect(
            try query(
                """
                SELECT count(*) FROM job_attempt a JOIN job_attempt b ON a.job_id = b.job_id AND a.attempt < b.attempt
                WHERE a.ended_at IS NULL OR a.ended_at > b.started_at
                """) == "0")
        // The kills landed mid-build: their leases expired and those jobs ran again elsewhere.
        let expired = Set(
            try query("SELECT DISTINCT job_id FROM job_attempt WHERE outcome = 'lease_expired'")
                .split(separator: "\n").map(String.init))
        #expect(!expired.isEmpty, "no lease expired: \(killedOwners)")
        // Every scheduler took part (3 + the 2 restarts of the first).
        let owners = Int(try query("SELECT count(DISTINCT owner) FROM job_attempt")) ?? 0
        #expect(owners == 5, "\(owners) distinct schedulers ran builds")
        // Build runs: every job's build completed; more than once only for a job whose lease expired.
        let lines = ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n")
        var completions: [String: Int] = [:]
        for line in lines where line.hasSuffix(" done") { completions[String(line.dropLast(5)), default: 0] += 1 }
        #expect(completions.count == n, "\(completions.count) of \(n) builds completed")
        let twice = completions.filter { $0.value > 1 }.map(\.key)
        #expect(twice.allSatisfy(expired.contains), "ran twice without a lost lease: \(twice.filter { !expired.contains($0) })")
        print(
            "pg soak: \(n) builds on 3 schedulers (one killed twice) in \(String(format: "%.1f", seconds)) s; "
                + "\(expired.count) jobs rescued from expired leases; \(twice.count) builds completed twice")
    }

    /// Three `wharf serve` processes (edge, scheduler and cron each, their own stores) on one PostgreSQL,
    /// with the built-in warm schedule firing every minute and cron ticking every second: the tick at
    /// the next minute fires on exactly one of them. Waits for a minute boundary (up to ~65 s).
    @Test func cronFiresOncePerTickAcrossThreeServers() async throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase(prefix: "cron")
        let database = String(url.split(separator: "/").last!)
        let scratch = ScratchDirectory("wharf-pg-cron")
        let config = try scratch.write(
            "wharf.yaml",
            """
            scheduler:
              database: \(url)
              min_slots: 0
              max_slots: 1
              sandbox:
                mode: none
            popularity:
              flush_interval_s: 1
            cron:
              warm_schedule: "* * * * *"
            """)
        let servers = try (0..<3).map { i in
            try WharfDaemon(
                [
                    "serve", "--store", scratch.path + "/store\(i)", "--config", config, "--listen", "127.0.0.1:0",
                    "--admin-listen", "127.0.0.1:0", "--workers", "1",
                ],
                stderrPath: scratch.path + "/serve\(i).log", environment: ["WHARF_ADMIN_TOKEN": "cron-test-token-0123456789abcdef"])
        }
        defer { for s in servers { _ = s.stop() } }
        for s in servers { #expect(await waitUntil(30) { s.stderr.contains("cron ticking") }, "\(s.stderr)") }
        // The next minute boundary after all three run, then a few of their 1 s ticks.
        let now = Date().timeIntervalSince1970
        let tick = (now / 60).rounded(.down) * 60 + 60
        #expect(
            await waitUntil(70, every: 0.5) {
                Date().timeIntervalSince1970 > tick + 4
                    && (try? server.query("SELECT count(*) FROM cron_fire WHERE scheduled_for = \(Int(tick))", database: database))?
                        .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
            })
        let fired = servers.map { $0.stderr.components(separatedBy: "cron nightly-warm: succeeded").count - 1 }
        #expect(fired.reduce(0, +) == 1, "firings per server: \(fired)")
        #expect(try server.query("SELECT count(*) FROM cron_fire", database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test func aBadOrUnreachableDatabaseIsAClearErrorWithoutThePassword() throws {
        let scratch = ScratchDirectory("wharf-pg-config")
        let store = scratch.path + "/store"
        let malformed = try scratch.write("bad.yaml", "scheduler:\n  database: postgres://builder:hunter2-secret@/nohost\n")
        let checked = try WharfProcess.run(["check-config", "--store", store, "--config", malformed])
        #expect(checked.status != 0)
        #expect(checked.stderr.contains("scheduler.database"), "\(checked.stderr)")
        #expect(!(checked.stdout + checked.stderr).contains("hunter2-secret"))

        let port = try PostgresServer.freePort()
        let unreachable = try scratch.write("down.yaml", "scheduler:\n  database: postgres://builder:hunter2-secret@127.0.0.1:\(port)/wharf\n")
        let down = try WharfProcess.run(["check-config", "--store", store, "--config", unreachable])
        #expect(down.status != 0)
        #expect((down.stdout + down.stderr).contains("127.0.0.1"), "\(down.stdout)\(down.stderr)")
        #expect(!(down.stdout + down.stderr).contains("hunter2-secret"))
        let scheduler = try WharfDaemon(["scheduler", "--store", store, "--config", unreachable], stderrPath: scratch.path + "/scheduler.log")
        #expect(WharfProcess.waitForExit(scheduler.process, seconds: 30), "the scheduler started without its database")
        #expect(scheduler.process.terminationStatus != 0)
        #expect(scheduler.stderr.contains("127.0.0.1"), "\(scheduler.stderr)")
        #expect(!scheduler.stderr.contains("hunter2-secret"), "\(scheduler.stderr)")
    }
}

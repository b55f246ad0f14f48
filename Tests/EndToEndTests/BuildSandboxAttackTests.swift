import Foundation
import Glibc
import Testing
import WharfTestSupport

/// The attack the build sandbox exists for, through a real `wharf serve`: an app's build command tries
/// to take over Wharf. It prints its environment (the admin token is in the scheduler's), reads the
/// admin token file and the store's databases, writes a blob, and calls the admin API with a guessed
/// token to roll another app back. Each attempt fails; the store and the served app are unchanged.
/// Run with bubblewrap (network off) and with the build user alone (network on: the API says 401).
@Suite struct BuildSandboxAttackTests {
    @Test(arguments: ["bubblewrap", "user"])
    func aHostileBuildCannotReachTheAdminTokenTheStoreOrTheAdminAPI(mode: String) async throws {
        let scratch = ScratchDirectory("wharf-sandbox-attack")
        let store = scratch.path + "/store"
        let envToken = "env-token-\(UInt64.random(in: 0...UInt64.max))"
        let fileToken = "file-token-\(UInt64.random(in: 0...UInt64.max))"
        // A victim app, published before the attack.
        try scratch.write("victim/index.html", "<!doctype html><p>victim v1</p>")
        #expect(try WharfProcess.run(["publish", "victim", scratch.path + "/victim", "--store", store]).status == 0)
        try scratch.write("victim/index.html", "<!doctype html><p>victim v2</p>")
        #expect(try WharfProcess.run(["publish", "victim", scratch.path + "/victim", "--store", store]).status == 0)
        // A careless operator left the token file readable by everyone: Wharf makes it private at start.
        try scratch.write("store/admin-token", fileToken + "\n")
        chmod(store + "/admin-token", 0o644)
        chmod(store + "/store.sqlite", 0o644)
        let blobsBefore = Self.listing(store + "/blobs")

        try scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\n  sandbox:\n    mode: \(mode)\n")
        let daemon = try WharfDaemon(
            [
                "serve", "--store", store, "--config", scratch.path + "/wharf.yaml", "--listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0", "--workers", "1",
            ],
            stderrPath: scratch.path + "/serve.log", environment: ["WHARF_ADMIN_TOKEN": envToken])
        defer { _ = daemon.stop() }
        #expect(await waitUntil(20) { daemon.stderr.contains("admin API on") }, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("build sandbox: builds run as 'wharf-build'"), "\(daemon.stderr)")
        let admin = try #require(SchedulerAPITests.port(after: "admin API on http://127.0.0.1:", in: daemon.stderr), "\(daemon.stderr)")
        let edge = try #require(SchedulerAPITests.port(after: "edge listening on http://127.0.0.1:", in: daemon.stderr))
        #expect(try CurlResponse.send("GET", "http://127.0.0.1:\(edge)/", token: nil).body.contains("victim v2"))

        try scratch.write(
            "attacker/build.sh",
            """
            #!/bin/sh
            echo "::stage recon"
            env | sort
            id
            cat \(store)/admin-token && echo LEAK-token-file
            head -c 16 \(store)/store.sqlite > /dev/null && echo LEAK-store-db
            head -c 16 \(store)/scheduler.sqlite > /dev/null && echo LEAK-scheduler-db
            ls \(store)/blobs > /dev/null 2>&1 && echo LEAK-blob-listing
            touch \(store)/blobs/planted 2>/dev/null && echo LEAK-blob-write
            for guess in "" admin wharf "$WHARF_ADMIN_TOKEN"; do
              code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $guess" \\
                http://127.0.0.1:\(admin)/_wharf/api/apps/victim/rollback)
              echo "admin-api:$code"
            done
            exit 3
            """)
        chmod(scratch.path + "/attacker/build.sh", 0o755)
        let submitted = try WharfProcess.run([
            "build", "submit", "attacker", "--type", "javascript_web", "--source",
            scratch.path + "/attacker", "--cmd", "./build.sh", "--store", store,
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(
            try await waitUntil(60, every: 0.2) {
                try JobRow.list(store: store).first.map { $0.state == "failed" || $0.state == "queued" && $0.attempt > 1 } ?? false
            })
        let log = try String(contentsOfFile: store + "/logs/1/attempt-1.log", encoding: .utf8)
        #expect(log.contains("::stage recon") && log.contains("wharf-build"), "\(log)")
        #expect(!log.contains("LEAK"), "\(log)")
        #expect(!log.contains(envToken) && !log.contains(fileToken), "\(log)")
        #expect(!log.contains("WHARF_ADMIN_TOKEN") && !log.contains("WHARF_STORE"))
        let codes = log.split(separator: "\n").compactMap { line -> String? in
            guard let marker = line.range(of: "admin-api:") else { return nil }
            return String(line[marker.upperBound...].prefix(3))
        }
        #expect(codes.count == 4, "\(log)")
        #expect(codes.allSatisfy { mode == "bubblewrap" ? $0 == "000" : $0 == "401" }, "\(codes)")
        // Nothing changed: the token file is private now, the victim still serves v2, no blob was added.
        var info = stat()
        #expect(stat(store + "/admin-token", &info) == 0 && info.st_mode & 0o077 == 0)
        #expect(try CurlResponse.send("GET", "http://127.0.0.1:\(edge)/", token: nil).body.contains("victim v2"))
        #expect(Self.listing(store + "/blobs") == blobsBefore)
    }

    static func listing(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }
}

import Foundation
import Glibc
import Testing
import WharfTestSupport

/// The error-spike alert end to end: a real `wharf serve`, real requests for files an app does not
/// have, and the alert in `wharf alerts`, raised from the edge's counts through the alert store.
@Suite struct ErrorSpikeAlertTests {
    @Test func a404SpikeOnAnAppRaisesAnAlertVisibleInWharfAlerts() async throws {
        let scratch = ScratchDirectory("wharf-error-spike")
        let store = scratch.path + "/store"
        try scratch.write("site/index.html", "<!doctype html><p>ok</p>")
        #expect(try WharfProcess.run(["publish", "demo", scratch.path + "/site", "--store", store]).status == 0)
        try scratch.write(
            "wharf.yaml",
            """
            popularity:
              flush_interval_s: 1
            monitor:
              error_spike:
                window_s: 300
                baseline_s: 600
                min_responses: 20
            """)
        let daemon = try WharfDaemon(
            [
                "serve", "--store", store, "--config", scratch.path + "/wharf.yaml", "--listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0", "--workers", "1",
            ],
            stderrPath: scratch.path + "/serve.log")
        defer { _ = daemon.stop() }
        #expect(await waitUntil(30) { daemon.stderr.contains("edge listening on http://127.0.0.1:") }, "\(daemon.stderr)")
        let edge = try #require(SchedulerAPITests.port(after: "edge listening on http://127.0.0.1:", in: daemon.stderr))
        #expect(try CurlResponse.send("GET", "http://127.0.0.1:\(edge)/", token: nil).status == 200)
        for i in 0..<30 {
            #expect(try CurlResponse.send("GET", "http://127.0.0.1:\(edge)/assets/missing-\(i).js", token: nil).status == 404)
        }
        var listed = ""
        let fired = try await waitUntil(180, every: 0.5) {
            listed = try WharfProcess.run(["alerts", "--store", store]).stdout
            return listed.contains("responses were 404")
        }
        #expect(fired, "\(listed)\n\(daemon.stderr)")
        // (How many responses the first firing counted depends on when the flushes fell.)
        #expect(listed.contains("firing") && listed.contains("demo: ") && listed.contains("responses were 404"), "\(listed)")
        #expect(daemon.stderr.contains("alert firing: error_spike:demo:404"), "\(daemon.stderr)")
    }
}

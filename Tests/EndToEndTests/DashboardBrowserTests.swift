import Foundation
import Testing

/// The operator dashboard in a real browser: `scripts/dashboard-chromium.py` drives headless
/// Chromium (Debian `chromium` + `chromium-driver`, Selenium; installed by `make deps`) against a
/// real `wharf serve` with traffic and builds: sign-in, every page with data, a rollback from the
/// Apps page checked over HTTP, no console error or CSP violation, sign-out; and the attacks: an
/// app on the edge (same site) posting a rollback with the admin's cookie, a read-only session
/// forcing a POST; then `wharf edge` alone, whose scheduler pages say there is no scheduler. The
/// Builds page's live log: a build writing a line every 0.3 s grows on screen between two samples,
/// its HTML line shown as text; a finished build's log ends with its state; a read-only session
/// reads a log. The running build's stage timeline (a finished stage with its duration, the running
/// one highlighted and ticking) and the Apps page's popularity, hottest paths and cache warm state;
/// the routes behind them with hostile ids and app names. Screenshots of every page go to `.build/artifacts/dashboard/` (an artifact of the
/// run, not committed; the test prints the directory).
@Suite struct DashboardBrowserTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// What the read-only session got for the app detail and a stage timeline.
    func readOnlyDetail(_ result: [String: Any]) -> [Int]? {
        (result["read_only"] as? [String: Any])?["detail_and_stages"] as? [Int]
    }

    @Test func everyPageShowsLiveDataAndARollbackFromTheAppsPageSwitchesTheEdge() throws {
        let scratch = ScratchDirectory("wharf-dashboard-test")
        let output = scratch.path + "/result.json"
        let screenshots = Self.repository.appendingPathComponent(".build/artifacts/dashboard").path
        let process = Process()
        // `python3` from PATH: the interpreter `make deps` installed Selenium for.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.repository.appendingPathComponent("scripts/dashboard-chromium.py").path,
            WharfProcess.binary, Self.repository.appendingPathComponent("demo/site").path,
            "--json", output, "--screenshots", screenshots,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        print("dashboard screenshots: \(screenshots)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect((result["failures"] as? [Any])?.isEmpty == true, "\(log)")
        #expect((result["console_errors"] as? [Any])?.isEmpty == true, "\(log)")
        let pages = try #require(result["pages"] as? [String: [String: Any]])
        #expect(Set(pages.keys) == ["overview", "builds", "slots", "apps", "alerts"])
        let points = try #require(pages["overview"]?["points"] as? [Int])
        #expect(points.count == 6 && points.allSatisfy { $0 >= 1 })
        #expect((pages["builds"]?["suggestions"] as? Int ?? 0) >= 1)
        // The queue as the scheduler ranks it: several jobs, scores descending (checked by the script).
        #expect((pages["builds"]?["queue"] as? [Int])?.count ?? 0 >= 2)
        #expect((pages["slots"]?["slots"] as? Int ?? 0) >= 1)
        // The live log grew while the build ran, and its HTML line stayed text.
        let live = try #require(result["live_log"] as? [String: Any])
        let samples = try #require(live["samples"] as? [Int])
        #expect(samples.count == 2 && samples[0] >= 2 && samples[1] > samples[0], "\(live)")
        #expect((live["html_line"] as? String)?.hasSuffix(#"| <img src=x onerror="window.__pwned=2">"#) == true && live["images"] as? Int == 0)
        #expect(live["pwned"] as? Bool == false)
        #expect((live["finished"] as? [String: Any])?["state"] as? String == "ended", "\(live)")
        // The running build's stage timeline: a finished stage with its duration, the running one highlighted and ticking.
        let timeline = try #require(result["timeline"] as? [String: Any])
        let stages = try #require(timeline["stages"] as? [[Any]])
        #expect(stages.contains { $0[0] as? String == "prepare" && $0[1] as? String == "done" && ($0[2] as? Double ?? 0) >= 0.9 }, "\(timeline)")
        #expect(stages.contains { $0[0] as? String == "stream" && $0[1] as? String == "current" }, "\(timeline)")
        #expect(timeline["highlighted"] as? Int == 1)
        // The Apps page: demo's popularity, its hottest path and its warm state after the traffic.
        let apps = try #require(pages["apps"])
        #expect((apps["popularity"] as? String)?.contains("decayed requests") == true, "\(apps)")
        #expect((apps["hot_paths"] as? [[String]])?.contains { $0.first == "/manifest.webmanifest" } == true, "\(apps)")
        #expect((apps["cache"] as? String)?.contains("files warm") == true, "\(apps)")
        // The routes behind them: a finished build's timeline, hostile ids and names, no token, a POST.
        let probes = try #require(result["route_probes"] as? [String: Any])
        #expect(probes["no_token"] as? [Int] == [401, 401] && probes["post"] as? [Int] == [405, 405], "\(probes)")
        #expect((readOnlyDetail(result)) == [200, 200])
        let rollback = try #require(result["rollback"] as? [String: Any])
        #expect(rollback["serves_v1"] as? Bool == true && rollback["live"] as? String == result["deployment_v1"] as? String)
        #expect((result["signed_out"] as? [String: Any])?["api_status"] as? Int == 401)
        // An app on the edge (same site, other port) posting a rollback with the admin's cookie: 403, nothing changed.
        let attack = try #require(result["same_site_attack"] as? [String: Any])
        #expect((attack["statuses"] as? [Int]) == [403, 403] && attack["live"] as? String == result["deployment_v2"] as? String)
        let readOnly = try #require(result["read_only"] as? [String: Any])
        #expect(readOnly["buttons"] as? Int == 0 && readOnly["forced_post"] as? Int == 403)
        #expect(readOnly["log_status"] as? Int == 200 && readOnly["log_has_stage"] as? Bool == true)
        // `wharf edge` alone: the scheduler's pages say there is none (and the script saw no 404 in the console).
        let edgeOnly = try #require(result["edge_only"] as? [String: String])
        for page in ["builds", "slots", "alerts"] { #expect(edgeOnly[page]?.hasPrefix("No scheduler") == true, "\(page)") }
        for page in pages.keys {
            #expect(FileManager.default.fileExists(atPath: screenshots + "/dashboard-\(page).png"), "\(page) screenshot")
        }
        #expect((result["seconds"] as? Double ?? 99) < 60, "the browser test must stay under a minute")
    }
}

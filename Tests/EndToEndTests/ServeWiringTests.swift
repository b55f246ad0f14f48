import Foundation
import Glibc
import Testing
import WharfTestSupport

/// What `wharf serve` runs beside the edge and the scheduler, through the real binary: the performance
/// monitor (a slow build's alert on `/_wharf/api/alerts` and at a local webhook), the scheduler's
/// metrics next to the edge's (checked by prometheus_client's parser), the `monitor` status section,
/// popularity from edge traffic (`wharf popular`), and a requested warm run preloading the edge's cache.
@Suite struct ServeWiringTests {
    /// A `wharf serve` on ephemeral ports with its own store, config and admin token.
    final class Server {
        let scratch: ScratchDirectory
        let daemon: WharfDaemon
        let token = "wiring-token-\(UInt32.random(in: 0...UInt32.max))"
        let edge: Int
        let admin: Int
        var store: String { scratch.path + "/store" }
        var api: String { "http://127.0.0.1:\(admin)" }

        init(_ scratch: ScratchDirectory, config: String, command: String = "serve") throws {
            self.scratch = scratch
            try scratch.write("wharf.yaml", config)
            daemon = try WharfDaemon(
                [
                    command, "--store", scratch.path + "/store", "--config", scratch.path + "/wharf.yaml", "--listen", "127.0.0.1:0",
                    "--admin-listen", "127.0.0.1:0", "--workers", "1",
                ],
                stderrPath: scratch.path + "/serve.log", environment: ["WHARF_ADMIN_TOKEN": token])
            let daemon = self.daemon
            guard eventually(20, { daemon.stderr.contains("admin API on") }),
                let admin = SchedulerAPITests.port(after: "admin API on http://127.0.0.1:", in: daemon.stderr),
                let edge = SchedulerAPITests.port(after: "edge listening on http://127.0.0.1:", in: daemon.stderr)
            else {
                throw CommandFailed("wharf serve did not start:\n\(daemon.stderr)")
            }
            (self.admin, self.edge) = (admin, edge)
        }

        func get(_ path: String, token: String? = nil) throws -> CurlResponse {
            try CurlResponse.send("GET", api + path, token: token ?? self.token)
        }

        func json(_ path: String) throws -> [String: Any] {
            let response = try get(path)
            guard response.status == 200, let object = try response.json() as? [String: Any] else {
                throw CommandFailed("GET \(path): \(response.status) \(response.body)")
            }
            return object
        }
    }

    @Test func aSlowBuildRaisesAnAlertThatTheAPIListsTheWebhookReceivesAndTheMetricsCount() throws {
        let receiver = try WebhookReceiver(failFirst: 1)
        defer { receiver.stop() }
        let scratch = ScratchDirectory("wharf-wiring-monitor")
        // Two sources (the same one twice would be a build-cache hit the second time, not a build).
        for (dir, sleep) in [("src1", "0.15"), ("src2", "0.16")] {
            try scratch.write(dir + "/build.sh", BuildFixture.script(sleep: sleep))
            chmod(scratch.path + "/" + dir + "/build.sh", 0o755)
        }
        // One slot, so the second build waits (backlog over 0 fires, then resolves once both ran).
        let server = try Server(
            scratch,
            config: """
                scheduler:
                  tick_ms: 100
                  min_slots: 1
                  max_slots: 1
                monitor:
                  thresholds:
                    javascript_web: 0.05
                  backlog: 0
                  evaluate_interval_ms: 0
                  webhook:
                    url: http://127.0.0.1:\(receiver.port)/hooks/wharf
                    initial_backoff_seconds: 0.2
                    timeout_seconds: 5

                """)
        var ids: [Int] = []
        for source in [scratch.path + "/src1", scratch.path + "/src2"] {
            let submitted = try CurlResponse.send(
                "POST", server.api + "/_wharf/api/jobs", token: server.token,
                body: #"{"app":"shop","type":"javascript_web","source":"\#(source)","cmd":"./build.sh"}"#)
            #expect(submitted.status == 201, "\(submitted.body)")
            ids.append(try #require((try submitted.json() as? [String: Any])?["id"] as? Int))
        }

        // Both builds ran; the slow one is firing (seen twice), the backlog came and went.
        let settled = try eventually(30, every: 0.2) {
            let alerts = try server.json("/_wharf/api/alerts?all=1")["alerts"] as? [[String: Any]] ?? []
            let slow = alerts.first { $0["kind"] as? String == "slow_build" }
            let backlog = alerts.first { $0["kind"] as? String == "backlog" }
            return slow?["count"] as? Int == 2 && backlog?["state"] as? String == "resolved"
        }
        let seen = try server.get("/_wharf/api/alerts?all=1").body
        #expect(settled, "\(seen)\n\(server.daemon.stderr)")
        let firing = try server.json("/_wharf/api/alerts")
        let listed = try #require(firing["alerts"] as? [[String: Any]])
        #expect(firing["firing"] as? Int == 1)
        #expect(listed.map { $0["kind"] as? String } == ["slow_build"], "resolved alerts only with ?all=1")
        let slow = try #require(listed.first)
        #expect(slow["key"] as? String == "slow_build:shop:javascript_web")
        #expect((slow["summary"] as? String)?.contains("javascript_web") == true)
        let details = try #require(slow["details"] as? [String: Any])
        #expect(details["app"] as? String == "shop")
        #expect(details["thresholdSeconds"] as? Double == 0.05)
        #expect(ids.contains(details["jobId"] as? Int ?? -1))
        #expect((details["durationSeconds"] as? Double ?? 0) > 0.05)
        #expect((details["suggestions"] as? [String])?.isEmpty == false)
        let backlogOnly = try server.json("/_wharf/api/alerts?all=1&kind=backlog")["alerts"] as? [[String: Any]]
        #expect(backlogOnly?.count == 1 && backlogOnly?.first?["state"] as? String == "resolved")

        // The token guards the route; a bad parameter is a 400, not a crash.
        #expect(try server.get("/_wharf/api/alerts", token: "").status == 401)
        #expect(try CurlResponse.send("GET", server.api + "/_wharf/api/alerts", token: nil).status == 401)
        #expect(try server.get("/_wharf/api/alerts?all=maybe").status == 400)
        #expect(try server.get("/_wharf/api/alerts?limit=0").status == 400)
        #expect(try server.get("/_wharf/api/alerts?kind=bogus").status == 400)

        // The webhook: the first POST was answered 503 and retried; every event arrived, in order.
        let delivered = eventually(15, every: 0.1) {
            receiver.deliveries.filter { $0.answered == 200 }.count >= 3
        }
        let deliveries = receiver.deliveries
        #expect(delivered, "\(deliveries.map(\.body))\n\(server.daemon.stderr)")
        #expect(deliveries.first?.answered == 503)
        let events = deliveries.filter { $0.answered == 200 }.compactMap { delivery -> (String, String, [String: Any])? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any],
                let alert = object["alert"] as? [String: Any]
            else { return nil }
            #expect(delivery.headers["x-wharf-delivery"] == (object["deliveryId"] as? Int).map(String.init))
            #expect(delivery.headers["content-type"]?.hasPrefix("application/json") == true)
            return (object["event"] as? String ?? "", alert["kind"] as? String ?? "", alert)
        }
        #expect(events.contains { $0.0 == "firing" && $0.1 == "slow_build" && ($0.2["details"] as? [String: Any])?["app"] as? String == "shop" })
        #expect(events.contains { $0.0 == "firing" && $0.1 == "backlog" })
        #expect(events.contains { $0.0 == "resolved" && $0.1 == "backlog" })
        #expect(deliveries.first.map { $0.body } == deliveries.first { $0.answered == 200 }.map { $0.body }, "the failed one was resent")

        // Metrics: valid exposition with the edge's and the scheduler's families.
        #expect(try CurlResponse.send("GET", "http://127.0.0.1:\(server.edge)/", token: nil).status == 200)
        let scrape = try server.get("/_wharf/metrics")
        #expect(scrape.status == 200)
        let samples = try Prometheus.parse(scrape.body)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect((value("wharf_http_requests_total", ["status": "200"]) ?? 0) >= 1, "edge family")
        #expect(value("wharf_cache_bytes") != nil)
        #expect(value("wharf_scheduler_queue_length", ["kind": "manual"]) == 0)
        #expect(value("wharf_scheduler_running_builds") == 0)
        #expect(value("wharf_scheduler_slots_desired") == 1)
        #expect(value("wharf_scheduler_slots_active") == 1)
        #expect(value("wharf_build_duration_seconds_count", ["type": "javascript_web"]) == 2)
        #expect(value("wharf_build_duration_seconds_bucket", ["type": "javascript_web", "le": "10"]) == 2)
        #expect(value("wharf_builds_total", ["type": "javascript_web", "outcome": "succeeded"]) == 2)
        #expect(value("wharf_alerts_firing", ["kind": "slow_build"]) == 1)
        #expect(value("wharf_alerts_firing", ["kind": "backlog"]) == 0)
        #expect(value("wharf_alert_webhook_pending") == 0)
        #expect((value("wharf_alert_webhook_attempts_total", ["result": "failed"]) ?? 0) >= 1)

        // The status JSON's monitor section carries the same figures.
        let monitor = try #require(try server.json("/_wharf/api/status")["monitor"] as? [String: Any])
        #expect((monitor["alerts"] as? [String: Any])?["firing"] as? Int == 1)
        #expect((monitor["alerts"] as? [String: Any])?["webhookPending"] as? Int == 0)
        #expect((monitor["queue"] as? [String: Any])?["queued"] as? Int == 0)
        #expect((monitor["slots"] as? [String: Any])?["max"] as? Int == 1)
        #expect(((monitor["builds"] as? [String: Any])?["window"] as? [String: Any])?["builds"] as? Int == 2)

        // `wharf alerts` reads the same database.
        let cli = try WharfProcess.run(["alerts", "--store", server.store])
        #expect(cli.status == 0 && cli.stdout.contains("slow build: job") && !cli.stdout.contains("backlog"), "\(cli.stdout)")

        #expect(server.daemon.stop(SIGTERM) == 0, "\(server.daemon.stderr)")
    }

    @Test func edgeTrafficReachesWharfPopularAndARequestedWarmRunPreloadsTheCache() throws {
        let scratch = ScratchDirectory("wharf-wiring-warm")
        try scratch.write("site/index.html", "<!doctype html><title>docks</title><script src=\"/app.js\"></script>\n")
        try scratch.write("site/app.js", Bytes.text(48 * 1024, seed: 7))
        let store = scratch.path + "/store"
        let published = try WharfProcess.run(["publish", "docks", scratch.path + "/site", "--store", store])
        #expect(published.status == 0, "\(published.stderr)")
        let server = try Server(
            scratch,
            config: """
                scheduler:
                  tick_ms: 200
                popularity:
                  flush_interval_s: 1

                """)
        let edge = "http://127.0.0.1:\(server.edge)"
        for _ in 0..<3 { #expect(try CurlResponse.send("GET", edge + "/app.js", token: nil).status == 200) }

        // The counts are flushed in a batch, then `wharf popular` ranks the app and its path.
        var popular: [[String: Any]] = []
        let ranked = try eventually(15, every: 0.25) {
            let run = try WharfProcess.run(["popular", "--store", store, "--json"])
            popular = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]) ?? []
            return popular.first.flatMap { ($0["paths"] as? [[String: Any]])?.first?["requests"] as? Int } == 3
        }
        #expect(ranked, "\(popular)\n\(server.daemon.stderr)")
        #expect((popular.first?["app"] as? [String: Any])?["app"] as? String == "docks")
        #expect((popular.first?["paths"] as? [[String: Any]])?.first?["path"] as? String == "/app.js")
        let table = try WharfProcess.run(["popular", "--store", store])
        #expect(table.stdout.contains("docks") && table.stdout.contains("/app.js"), "\(table.stdout)")

        // `wharf warm --request` against the running store: the server runs the batch at its next
        // tick and preloads the compressed variants nobody asked for yet.
        let before = try #require(try server.json("/_wharf/api/status")["edge"] as? [String: Any])["cache"] as? [String: Any]
        let entriesBefore = try #require(before?["entries"] as? Int)
        let bytesBefore = try #require(before?["bytes"] as? Int)
        let request = try WharfProcess.run(["warm", "--request", "--store", store])
        #expect(request.status == 0, "\(request.stderr)")
        let ran = eventually(15, every: 0.2) { server.daemon.stderr.contains("cron nightly-warm: succeeded") }
        #expect(ran, "\(server.daemon.stderr)")
        let after = try #require(try server.json("/_wharf/api/status")["edge"] as? [String: Any])["cache"] as? [String: Any]
        let entriesAfter = try #require(after?["entries"] as? Int)
        let bytesAfter = try #require(after?["bytes"] as? Int)
        #expect(entriesAfter >= entriesBefore + 3 && bytesAfter > bytesBefore, "br, zstd, gzip: \(before ?? [:]) → \(after ?? [:])")
        let report = server.daemon.stderr.components(separatedBy: "\n").first { $0.contains("cron nightly-warm: succeeded") } ?? ""
        let preloaded = report.range(of: #"(\d+) representations preloaded"#, options: .regularExpression)
            .flatMap { Int(report[$0].prefix { $0.isNumber }) }
        #expect(report.contains("warm: 1 apps") && (preloaded ?? 0) >= 3, "\(report)")
        let listed = try WharfProcess.run(["cron", "list", "--store", store])
        #expect(listed.stdout.contains("nightly-warm (built-in)") && listed.stdout.contains("succeeded  runs: 1"), "\(listed.stdout)")

        // A br request is now a cache hit with no load from the store.
        let br = try ServeDemoTests.curl([
            "-o", "/dev/null", "-w", "%{http_code} %{content_type}", "-H", "Accept-Encoding: br",
            "-D", scratch.path + "/br-head", edge + "/app.js",
        ])
        #expect(br.out.hasPrefix("200"))
        #expect((try String(contentsOfFile: scratch.path + "/br-head", encoding: .utf8)).lowercased().contains("content-encoding: br"))
        let final = try #require(try server.json("/_wharf/api/status")["edge"] as? [String: Any])["cache"] as? [String: Any]
        #expect(final?["loads"] as? Int == after?["loads"] as? Int, "served from the preloaded entry")
        #expect((final?["hits"] as? Int ?? 0) > (after?["hits"] as? Int ?? 0))

        // SIGTERM: cron and the flush stop before the edge drains; exit 0.
        #expect(server.daemon.stop(SIGTERM) == 0, "\(server.daemon.stderr)")
        let log = server.daemon.stderr
        let cronStopped = try #require(log.range(of: "stopping cron and the popularity flush"))
        let draining = try #require(log.range(of: "draining"))
        #expect(cronStopped.lowerBound < draining.lowerBound)
    }

    @Test func wharfEdgeAloneAlsoRecordsPopularityButHasNoAlertsRoute() throws {
        let scratch = ScratchDirectory("wharf-wiring-edge")
        try scratch.write("site/index.html", "<!doctype html><title>quay</title>\n")
        let store = scratch.path + "/store"
        #expect(try WharfProcess.run(["publish", "quay", scratch.path + "/site", "--store", store]).status == 0)
        let server = try Server(scratch, config: "popularity:\n  flush_interval_s: 1\n", command: "edge")
        for _ in 0..<2 { #expect(try CurlResponse.send("GET", "http://127.0.0.1:\(server.edge)/", token: nil).status == 200) }
        let ranked = try eventually(15, every: 0.25) {
            try WharfProcess.run(["popular", "--store", store]).stdout.contains("quay")
        }
        #expect(ranked, "\(server.daemon.stderr)")
        #expect(try server.get("/_wharf/api/alerts").status == 404, "no scheduler, no monitor")
        #expect(try server.json("/_wharf/api/status")["monitor"] == nil)
        #expect(server.daemon.stop(SIGTERM) == 0, "\(server.daemon.stderr)")
    }

    @Test func wharfSchedulerAloneRaisesTheSlowBuildAlertThatWharfAlertsLists() throws {
        let scratch = ScratchDirectory("wharf-wiring-scheduler")
        try scratch.write("src/build.sh", BuildFixture.script(sleep: "0.1"))
        chmod(scratch.path + "/src/build.sh", 0o755)
        try scratch.write("wharf.yaml", "scheduler:\n  tick_ms: 100\nmonitor:\n  thresholds:\n    flutter_web: 0.01\n  evaluate_interval_ms: 200\n")
        let store = scratch.path + "/store"
        let config = scratch.path + "/wharf.yaml"
        let submitted = try WharfProcess.run([
            "build", "submit", "pier", "--type", "flutter_web", "--source", scratch.path + "/src",
            "--cmd", "./build.sh", "--store", store, "--config", config,
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(try WharfProcess.run(["alerts", "--store", store]).stdout.contains("no firing alerts"))
        let daemon = try WharfDaemon(["scheduler", "--store", store, "--config", config], stderrPath: scratch.path + "/scheduler.log")
        var listed = ""
        let raised = try eventually(20, every: 0.2) {
            listed = try WharfProcess.run(["alerts", "--store", store, "--json"]).stdout
            return listed.contains("slow_build:pier:flutter_web")
        }
        #expect(raised, "\(listed)\n\(daemon.stderr)")
        #expect(daemon.stderr.contains("alert firing [slow_build]") && daemon.stderr.contains("evaluated every 200 ms"), "\(daemon.stderr)")
        let text = try WharfProcess.run(["alerts", "--store", store]).stdout
        #expect(text.contains("slow build: job 1 (pier, flutter_web)") && text.contains("→ "), "\(text)")
        #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)")
    }

    @Test func theDocumentedWarmAndMonitorKeysAreTheBuiltInDefaultsAndBadValuesNameTheirKey() throws {
        let documented = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("edge-config/wharf.yaml").path
        let scratch = ScratchDirectory("wharf-wiring-config")
        func lines(_ r: WharfProcess.Result) -> [String] {
            r.stdout.split(separator: "\n").map(String.init).filter {
                ["popularity.", "cron.", "warm.", "monitor."].contains(where: $0.hasPrefix)
            }
        }
        let file = try WharfProcess.run(["check-config", "--config", documented, "--store", scratch.path + "/s"])
        let builtIn = try WharfProcess.run(["check-config", "--store", scratch.path + "/s"])
        #expect(file.status == 0 && builtIn.status == 0, "\(file.stderr)\(builtIn.stderr)")
        #expect(lines(file).count == 10, "\(file.stdout)")
        #expect(file.stdout.contains("monitor.error_spike: on, window_s 300, baseline_s 3600, min_responses 50"))
        #expect(lines(file) == lines(builtIn))
        #expect(
            file.stdout.contains(
                "monitor.thresholds: flutter_android 600 s, flutter_ios 900 s, flutter_web 300 s, javascript_web 120 s, default 300 s"))
        #expect(file.stdout.contains("monitor.webhook: off"))

        let overridden = try WharfProcess.run(
            ["check-config", "--config", documented, "--store", scratch.path + "/s"],
            environment: [
                "WHARF_MONITOR_THRESHOLDS_FLUTTER_WEB": "42", "WHARF_MONITOR_WEBHOOK_URL": "http://127.0.0.1:9/h",
                "WHARF_MONITOR_EVALUATE_INTERVAL_MS": "0", "WHARF_WARM_TOP_N": "3",
            ])
        #expect(overridden.status == 0, "\(overridden.stderr)")
        #expect(overridden.stdout.contains("flutter_web 42 s"))
        #expect(overridden.stdout.contains("monitor.webhook: http://127.0.0.1:9/h, timeout_seconds 10"))
        #expect(overridden.stdout.contains("evaluate_interval_ms: 0 (every scheduler tick)"))
        #expect(overridden.stdout.contains("warm.top_n: 3"))

        let bad: [(String, String)] = [
            ("monitor:\n  thresholds:\n    javascript_web: -4\n", "monitor.thresholds.javascript_web"),
            ("monitor:\n  thresholds:\n    flutter_ios: slow\n", "monitor.thresholds.flutter_ios"),
            ("monitor:\n  backlog: 2.5\n", "monitor.backlog"),
            ("monitor:\n  failure_rate: 1.5\n", "monitor.failure_rate"),
            ("monitor:\n  webhook:\n    url: https://example.test/x\n", "monitor.webhook.url"),
            ("monitor:\n  webhook:\n    url: http://127.0.0.1:9/\n    timeout_seconds: 0\n", "monitor.webhook.timeout_seconds"),
            ("monitor:\n  evaluate_interval_ms: -1\n", "monitor.evaluate_interval_ms"),
            ("monitor:\n  dominant_stage_share: [1, 2]\n", "monitor.dominant_stage_share"),
            ("cron:\n  warm_schedule: \"61 * * * *\"\n", "cron.warm_schedule"),
        ]
        for (index, (yaml, key)) in bad.enumerated() {
            let path = try scratch.write("bad-\(index).yaml", yaml)
            let r = try WharfProcess.run(["check-config", "--config", path, "--store", scratch.path + "/s"])
            #expect(r.status != 0, "\(yaml)")
            #expect(r.stderr.contains(key), "\(yaml) → \(r.stderr)")
        }
        // `wharf serve` refuses the same before it listens.
        let serve = try WharfProcess.run([
            "serve", "--config", scratch.path + "/bad-0.yaml", "--store", scratch.path + "/s",
            "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        ])
        #expect(serve.status != 0 && serve.stderr.contains("monitor.thresholds.javascript_web"), "\(serve.stderr)")
    }
}

/// Prometheus text checked by an independent parser (`PrometheusExposition`): every sample with its labels.
enum Prometheus {
    static func parse(_ text: String) throws -> [PrometheusExposition.Sample] {
        try PrometheusExposition.parse(text).flatMap(\.samples)
    }
}

import Foundation
import HTTPCore
import Testing
import WharfTestSupport

@testable import Edge

/// `/_wharf/metrics` checked by an independent parser: the `prometheus_client` Python package
/// (`pip install prometheus_client`; the Makefile's deps step installs it).
@Suite(.serialized) struct MetricsTests {
    typealias Family = PrometheusExposition.Family

    /// Parses exposition text with prometheus_client (see `PrometheusExposition`).
    static func parse(_ text: String) throws -> [Family] { try PrometheusExposition.parse(text) }

    func value(_ families: [Family], _ sample: String, _ labels: [String: String] = [:]) -> Double? {
        PrometheusExposition.value(families, sample, labels)
    }

    @Test func theMetricsEndpointServesValidPrometheusTextWithTheEdgeFigures() throws {
        let h = try AdminHarness()
        defer { h.stop() }
        let edge = try TestClient(port: h.edge.port)
        for _ in 0..<4 {
            #expect(try edge.get("/assets/app.1a2b3c4d.js", headers: ["Accept-Encoding": "br"]).status == 200)
        }
        #expect(try edge.get("/robots.txt", headers: ["Accept-Encoding": "identity"]).status == 200)
        #expect(try edge.get("/nope.png").status == 404)

        var r = try h.call("GET", "/_wharf/metrics")
        _ = try AdminHarness.eventually {
            r = try h.call("GET", "/_wharf/metrics")
            return r.text.contains(#"wharf_http_requests_total{status="404"} 1"#)
        }
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let families = try MetricsTests.parse(r.text)

        let types = Dictionary(families.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        // prometheus_client names counter families without the `_total` suffix.
        for counter in [
            "wharf_http_requests", "wharf_http_response_bytes", "wharf_http_responses_by_encoding",
            "wharf_cache_hits", "wharf_cache_misses", "wharf_cache_evictions", "wharf_connections_accepted",
        ] {
            #expect(types[counter] == "counter", "\(counter)")
        }
        for gauge in ["wharf_cache_bytes", "wharf_cache_budget_bytes", "wharf_connections_open"] {
            #expect(types[gauge] == "gauge", "\(gauge)")
        }
        #expect(types["wharf_http_request_duration_seconds"] == "histogram")

        #expect(value(families, "wharf_http_requests_total", ["status": "200"]) == 5)
        #expect(value(families, "wharf_http_requests_total", ["status": "404"]) == 1)
        // br once the store makes variants at publish; identity until then.
        let hasBr = h.edge.server.catalog.snapshot.apps["demo"]?.files["/assets/app.1a2b3c4d.js"]?.representation(.br) != nil
        #expect(value(families, "wharf_http_responses_by_encoding_total", ["encoding": "br"]) == (hasBr ? 4 : 0))
        #expect(value(families, "wharf_http_responses_by_encoding_total", ["encoding": "identity"]) == (hasBr ? 1 : 5))
        let stats = h.cache.statistics()
        #expect(value(families, "wharf_cache_budget_bytes") == Double(stats.budget))
        #expect(value(families, "wharf_cache_bytes") == Double(stats.bytesHeld))
        #expect(value(families, "wharf_cache_hits_total") == Double(stats.hits))
        #expect(value(families, "wharf_cache_misses_total") == Double(stats.misses))
        #expect((value(families, "wharf_connections_accepted_total") ?? 0) >= 1)
        #expect((value(families, "wharf_connections_open") ?? 0) >= 1)
        let bytes = try #require(value(families, "wharf_http_response_bytes_total"))
        #expect(bytes >= Double(h.edge.files["/robots.txt"]!.count))
        #expect(
            value(families, "wharf_http_request_duration_seconds_bucket", ["le": "+Inf"])
                == value(families, "wharf_http_request_duration_seconds_count"))
    }

    @Test func theRequestDurationHookFillsACumulativeHistogram() throws {
        let metrics = EdgeMetrics()
        metrics.recordRequestDuration(nanoseconds: 50_000)  // 50 µs
        metrics.recordRequestDuration(nanoseconds: 100_000)  // exactly on the first bound
        metrics.recordRequestDuration(nanoseconds: 3_000_000)  // 3 ms
        metrics.recordRequestDuration(nanoseconds: 20_000_000_000)  // 20 s: over every bound
        let d = metrics.requestDurations()
        #expect(d.count == 4)
        #expect(abs(d.sumSeconds - 20.00315) < 1e-9)
        #expect(d.buckets.first?.cumulativeCount == 2)
        #expect(d.buckets.first { $0.upperBoundSeconds == 0.005 }?.cumulativeCount == 3)
        #expect(d.buckets.last?.cumulativeCount == 3)

        var text = PrometheusText()
        text.histogram(
            "wharf_http_request_duration_seconds", help: "test",
            buckets: d.buckets.map { .init(upperBound: $0.upperBoundSeconds, cumulativeCount: $0.cumulativeCount) },
            sum: d.sumSeconds, count: d.count)
        let families = try MetricsTests.parse(text.text)
        #expect(value(families, "wharf_http_request_duration_seconds_bucket", ["le": "0.0001"]) == 2)
        #expect(value(families, "wharf_http_request_duration_seconds_bucket", ["le": "10"]) == 3)
        #expect(value(families, "wharf_http_request_duration_seconds_bucket", ["le": "+Inf"]) == 4)
        #expect(value(families, "wharf_http_request_duration_seconds_count") == 4)
    }

    @Test func labelValuesAndHelpAreEscapedAndInvalidNamesDropped() throws {
        var text = PrometheusText()
        let hostile = "a\"b\\c\nd}"
        text.counter("wharf_test_total", help: "help with \\ and\nnewline", label: "path", [(hostile, 3), ("/ok", 1)])
        text.counter("wharf_test_total", help: "a duplicate family is ignored", 9)
        text.counter("0bad name", help: "invalid", 1)
        text.gauge("wharf_test_gauge", help: "fractions", 0.25)
        let families = try MetricsTests.parse(text.text)
        #expect(families.map(\.name) == ["wharf_test", "wharf_test_gauge"])
        #expect(value(families, "wharf_test_total", ["path": hostile]) == 3)
        #expect(value(families, "wharf_test_total", ["path": "/ok"]) == 1)
        #expect(value(families, "wharf_test_gauge") == 0.25)
        #expect(!text.text.contains("0bad"))
    }

    @Test func moduleMetricsAndStatusSectionsAreServedByTheAdminServer() throws {
        let admin = AdminServer(port: 0, token: AdminToken("t0ken"))
        admin.addMetrics { text in text.gauge("wharf_queue_length", help: "Jobs queued.", label: "kind", [("push", 2), ("warm", 5)]) }
        admin.addStatusSection("scheduler") { ["queued": 7] }
        try admin.start()
        defer { admin.shutdown() }
        let r = try TestClient(port: admin.port).request("GET", "/_wharf/metrics", token: "t0ken")
        let families = try MetricsTests.parse(r.text)
        #expect(value(families, "wharf_queue_length", ["kind": "warm"]) == 5)
        #expect(families.contains { $0.name == "wharf_uptime_seconds" })
        let status = try AdminHarness.json(try TestClient(port: admin.port).request("GET", "/_wharf/api/status", token: "t0ken"))
        #expect((status["scheduler"] as? [String: Int]) == ["queued": 7])
    }
}

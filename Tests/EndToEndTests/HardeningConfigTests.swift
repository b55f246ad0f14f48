import Foundation
import Testing

/// The rate-limit, connection-cap and access-log keys through the real `wharf check-config`:
/// printed when valid, refused naming the key when not, overridable from the environment.
@Suite struct HardeningConfigTests {
    @Test func validKeysArePrintedAndTheEnvironmentOverridesThem() throws {
        let scratch = ScratchDirectory("wharf-hardening-config")
        try scratch.write(
            "wharf.yaml",
            """
            edge:
              limits:
                max_connections_per_address: 64
              rate_limit:
                enabled: true
                rate: 2.5
                burst: 10
                rules: ["shop/api/=5/10", "*/downloads/=1/3"]
                exempt: ["10.0.0.0/8", "2001:db8::1"]
                trusted_proxies: ["192.0.2.10"]
                admin_rate: 5
                admin_burst: 20
              access_log:
                path: logs/access.log
                format: json
            """)
        let result = try WharfProcess.run(["check-config", "--store", scratch.path + "/store", "--config", scratch.path + "/wharf.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(
            out.contains(
                "edge.rate_limit: on, rate 2.5, burst 10, rules [\"shop/api/=5/10\", \"*/downloads/=1/3\"], "
                    + "exempt [\"10.0.0.0/8\", \"2001:db8::1\"], trusted_proxies [\"192.0.2.10\"], table_entries 65536, "
                    + "admin_rate 5, admin_burst 20"), "\(out)")
        #expect(out.contains("edge.limits.max_connections_per_address: 64"), "\(out)")
        #expect(out.contains("edge.access_log: 'logs/access.log', format json, buffer_bytes 1048576, flush_ms 500"), "\(out)")
        let overridden = try WharfProcess.run(
            ["check-config", "--store", scratch.path + "/store", "--config", scratch.path + "/wharf.yaml"],
            environment: [
                "WHARF_EDGE_RATE_LIMIT_ENABLED": "false",
                "WHARF_EDGE_ACCESS_LOG_FORMAT": "combined",
            ])
        #expect(overridden.stdout.contains("edge.rate_limit: off"), "\(overridden.stdout)")
        #expect(overridden.stdout.contains("format combined"), "\(overridden.stdout)")
    }

    @Test func badValuesAreRefusedNamingTheirKey() throws {
        let scratch = ScratchDirectory("wharf-hardening-config-bad")
        let cases: [(String, String)] = [
            ("edge:\n  rate_limit:\n    rate: 0\n", "edge.rate_limit.rate"),
            ("edge:\n  rate_limit:\n    rate: fast\n", "edge.rate_limit.rate"),
            ("edge:\n  rate_limit:\n    burst: 0\n", "edge.rate_limit.burst"),
            ("edge:\n  rate_limit:\n    rules: [\"shop=5\"]\n", "edge.rate_limit.rules"),
            ("edge:\n  rate_limit:\n    rules: [\"shop/api=0/1\"]\n", "edge.rate_limit.rules"),
            ("edge:\n  rate_limit:\n    rules: [\"shop api=1/1\"]\n", "edge.rate_limit.rules"),
            ("edge:\n  rate_limit:\n    exempt: [\"10.0.0.0/40\"]\n", "edge.rate_limit.exempt"),
            ("edge:\n  rate_limit:\n    trusted_proxies: [\"proxy.example\"]\n", "edge.rate_limit.trusted_proxies"),
            ("edge:\n  rate_limit:\n    table_entries: 10\n", "edge.rate_limit.table_entries"),
            ("edge:\n  rate_limit:\n    admin_rate: -1\n", "edge.rate_limit.admin_rate"),
            ("edge:\n  limits:\n    max_connections_per_address: -5\n", "edge.limits.max_connections_per_address"),
            ("edge:\n  access_log:\n    format: xml\n", "edge.access_log.format"),
            ("edge:\n  access_log:\n    buffer_bytes: 10\n", "edge.access_log.buffer_bytes"),
            ("edge:\n  access_log:\n    flush_ms: 0\n", "edge.access_log.flush_ms"),
        ]
        for (yaml, key) in cases {
            try scratch.write("bad.yaml", yaml)
            let result = try WharfProcess.run(["check-config", "--store", scratch.path + "/store", "--config", scratch.path + "/bad.yaml"])
            #expect(result.status != 0, "\(yaml)")
            #expect(result.stderr.contains(key), "\(yaml) → \(result.stderr)")
        }
    }
}

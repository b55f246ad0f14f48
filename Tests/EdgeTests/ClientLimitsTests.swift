import Foundation
import Glibc
import Synchronization
import Testing
import WharfTestSupport

@testable import Edge

/// The parts of the per-client limits that are plain values: buckets on a given clock, the
/// connection table, address ranges, forwarding fields, rule syntax, validation.
@Suite struct ClientLimitsUnitTests {
    @Test func aBucketAllowsItsBurstThenRefusesUntilATokenComesBack() {
        let table = RateTable(capacity: 1024)
        let key: UInt64 = 0xABCDEF_0000_1234
        let t0: UInt64 = 1_000_000
        // 2 per second, burst 3: three at once, the fourth refused for half a second.
        for i in 0..<3 { #expect(table.take(key: key, rate: 2, burst: 3, now: t0).allowed, "request \(i)") }
        let refused = table.take(key: key, rate: 2, burst: 3, now: t0)
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 1)  // 0.5 s, rounded up
        #expect(!table.take(key: key, rate: 2, burst: 3, now: t0 + 4_000).allowed)  // 0.4 s later
        let later = table.take(key: key, rate: 2, burst: 3, now: t0 + 5_000)  // 0.5 s later
        #expect(later.allowed)
        #expect(later.remaining == 0)
        // After 1.5 s idle the bucket is full again.
        let full = table.take(key: key, rate: 2, burst: 3, now: t0 + 20_000)
        #expect(full.allowed && full.remaining == 2)
    }

    @Test func keysHaveTheirOwnBucketsAndTheTableStaysItsSize() {
        let table = RateTable(capacity: 1024)
        var random = SeededRandom(seed: 7)
        let now: UInt64 = 50_000
        // 100,000 distinct keys through a 1,024-slot table: every first request is allowed (a
        // key never finds a bucket it does not own drained by someone else's requests, except
        // for a fingerprint collision, which these keys do not have).
        var refusedFirst = 0
        for _ in 0..<100_000 {
            if !table.take(key: random.next(), rate: 1, burst: 1, now: now).allowed { refusedFirst += 1 }
        }
        #expect(refusedFirst == 0)
        #expect(table.capacity == 1024)
        #expect(table.evictions.load(ordering: .relaxed) > 90_000)
        // A key hammering stays limited even while others come and go.
        let hot: UInt64 = 0x1234_5678_9ABC_DEF0
        #expect(table.take(key: hot, rate: 1, burst: 1, now: now).allowed)
        #expect(!table.take(key: hot, rate: 1, burst: 1, now: now).allowed)
    }

    @Test func loopsSharingTheTableGetTheConfiguredRateBetweenThem() async {
        let table = RateTable(capacity: 1024)
        let now: UInt64 = 10_000
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var n = 0
                    for _ in 0..<1_000 where table.take(key: 42 << 40 | 9, rate: 1, burst: 50, now: now).allowed { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 50)
    }

    @Test func theConnectionTableCapsAKeyAndGivesPlacesBack() {
        let table = ConnectionTable(capacity: 64)
        let a: UInt64 = 0xAAAA_AA00_0000_0010
        let b: UInt64 = 0xBBBB_BB00_0000_0010  // the same four slots, another fingerprint
        var slots: [Int] = []
        for _ in 0..<3 {
            guard case .counted(let slot) = table.acquire(key: a, cap: 3) else {
                Issue.record("not counted")
                return
            }
            slots.append(slot)
        }
        #expect(table.acquire(key: a, cap: 3) == .refused)
        #expect(table.count(key: a) == 3)
        guard case .counted = table.acquire(key: b, cap: 3) else {
            Issue.record("b refused")
            return
        }
        table.release(slot: slots[0])
        #expect(table.count(key: a) == 2)
        guard case .counted = table.acquire(key: a, cap: 3) else {
            Issue.record("a refused after a release")
            return
        }
    }

    @Test func aFullNeighbourhoodAdmitsUntrackedRatherThanRefusing() {
        let table = ConnectionTable(capacity: 4)
        for i in 0..<4 {
            guard case .counted = table.acquire(key: UInt64(i + 1) << 40, cap: 10) else {
                Issue.record("slot \(i)")
                return
            }
        }
        #expect(table.acquire(key: 99 << 40, cap: 10) == .untracked)
        #expect(table.untracked.load(ordering: .relaxed) == 1)
    }

    @Test func addressesAndRangesParseAndMatch() throws {
        let v4 = try #require(ClientAddress("192.0.2.7"))
        #expect(v4.isIPv4 && v4.description == "192.0.2.7")
        #expect(ClientAddress("::ffff:192.0.2.7") == v4)
        let v6 = try #require(ClientAddress("[2001:db8::1]"))
        #expect(v6.description == "2001:db8::1")
        for bad in ["", "300.1.1.1", "1.2.3", "example.com", "2001:db8::1::2", "1.2.3.4:80", " 1.2.3.4"] {
            #expect(ClientAddress(bad) == nil, "\(bad)")
        }
        let net = try #require(AddressRange("192.0.2.0/24"))
        let outside = try #require(ClientAddress("192.0.3.1"))
        #expect(net.contains(v4) && !net.contains(outside))
        #expect(try #require(AddressRange("2001:db8::/32")).contains(v6))
        #expect(!(try #require(AddressRange("2001:db8::/32")).contains(v4)))
        #expect(try #require(AddressRange("0.0.0.0/0")).contains(v4))
        for bad in ["192.0.2.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/x", "nonsense/8"] {
            #expect(AddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func theClientBehindTrustedProxiesIsTheRightmostUntrustedHop() throws {
        let trusted = [try #require(AddressRange("10.0.0.0/8"))]
        let a = ClientAddress("203.0.113.9")
        let spoof = ClientAddress("198.51.100.1")
        let proxy = ClientAddress("10.1.2.3")
        #expect(ForwardedClient.pick([spoof, a, proxy], trusted: trusted) == a)
        #expect(ForwardedClient.pick([proxy, proxy], trusted: trusted) == proxy)
        #expect(ForwardedClient.pick([a, nil, proxy], trusted: trusted) == nil)  // garbage hop: use the peer
        let forwarded = ForwardedClient.forwardedFor(
            ArraySlice(#"for=198.51.100.1;proto=https, For="[2001:db8::7]:4711", for=_hidden, by=10.0.0.1"#.utf8))
        #expect(forwarded == [ClientAddress("198.51.100.1"), ClientAddress("2001:db8::7"), nil, nil])
    }

    @Test func rulesParseAndBadValuesAreReportedWithTheirKey() {
        #expect(ClientLimitsConfiguration.Rule("shop/api/=5/10") == .init(app: "shop", pathPrefix: "/api/", rate: 5, burst: 10))
        #expect(ClientLimitsConfiguration.Rule("*=0.5/2") == .init(app: "*", pathPrefix: "", rate: 0.5, burst: 2))
        for bad in ["shop", "shop=5", "shop=0/1", "shop=5/0", "=5/5", "shop=-1/2", "shop=nan/2", "shop=5/x"] {
            #expect(ClientLimitsConfiguration.Rule(bad) == nil, "\(bad)")
        }
        var c = ClientLimitsConfiguration()
        c.rate = 0
        c.burst = 0
        c.tableEntries = 10
        c.maxConnectionsPerAddress = -1
        c.adminBurst = 0
        c.rules = [.init(app: "shop", pathPrefix: "api", rate: 1, burst: 1)]
        let keys = Set(c.problems().map(\.key))
        #expect(
            keys == [
                "edge.rate_limit.rate", "edge.rate_limit.burst", "edge.rate_limit.table_entries",
                "edge.limits.max_connections_per_address", "edge.rate_limit.admin_burst", "edge.rate_limit.rules",
            ])
        #expect(ClientLimitsConfiguration().problems().isEmpty)
    }
}

/// The limits on a real edge: real sockets from two loopback addresses.
@Suite struct ClientLimitsEdgeTests {
    static func limited(_ configure: @escaping (inout ClientLimitsConfiguration) -> Void) throws -> EdgeHarness {
        try EdgeHarness { config in
            config.clientLimits.enabled = true
            configure(&config.clientLimits)
        }
    }

    @Test func overItsBurstAnAddressGets429WithRetryAfterAndRateLimitFields() throws {
        let h = try Self.limited {
            $0.rate = 0.5
            $0.burst = 5
        }
        defer { h.stop() }
        let c = try TestClient(port: h.port)
        for i in 0..<5 { #expect(try c.get("/robots.txt").status == 200, "request \(i)") }
        let r = try c.get("/robots.txt")
        #expect(r.status == 429)
        // A token every 2 s: the wait is under 2 s (rounded up), however slow the requests were.
        let retry = try #require(Int(r.header("Retry-After") ?? ""))
        #expect((1...2).contains(retry))
        #expect(r.header("RateLimit-Policy") == "\"default\";q=5;w=10")
        #expect(r.header("RateLimit") == "\"default\";r=0;t=\(retry)")
        // Still a keep-alive connection: the client may wait and go on.
        #expect(r.header("Connection") == nil)
        // Another address has its own bucket.
        let other = try TestClient(port: h.port, source: "127.0.0.2")
        #expect(try other.get("/robots.txt").status == 200)
        #expect(h.server.clientLimits.limitedRequests.load(ordering: .relaxed) == 1)
    }

    @Test func pathPrefixAndAppRulesHaveBucketsOfTheirOwn() throws {
        let h = try Self.limited { c in
            c.rate = 1000
            c.burst = 1000
            c.rules = [
                .init(app: "demo", pathPrefix: "/downloads/", rate: 0.1, burst: 1),
                .init(app: "*", pathPrefix: "/assets/", rate: 0.1, burst: 2),
            ]
        }
        defer { h.stop() }
        let c = try TestClient(port: h.port)
        #expect(try c.get("/downloads/app-release.apk", method: "HEAD").status == 200)
        let refused = try c.get("/downloads/app-release.apk", method: "HEAD")
        #expect(refused.status == 429)
        #expect(refused.header("RateLimit-Policy") == "\"rule1\";q=1;w=10")
        #expect(try c.get("/assets/logo.9c8d7e6f.png", method: "HEAD").status == 200)
        #expect(try c.get("/assets/app.1a2b3c4d.js", method: "HEAD").status == 200)
        #expect(try c.get("/assets/logo.9c8d7e6f.png", method: "HEAD").status == 429)
        for _ in 0..<20 { #expect(try c.get("/robots.txt").status == 200) }
    }

    @Test func exemptAddressesAreNeverLimited() throws {
        let h = try Self.limited { c in
            c.rate = 0.1
            c.burst = 1
            c.exempt = [AddressRange("127.0.0.2/32")!]
        }
        defer { h.stop() }
        let exempt = try TestClient(port: h.port, source: "127.0.0.2")
        for _ in 0..<10 { #expect(try exempt.get("/robots.txt").status == 200) }
        let c = try TestClient(port: h.port)
        #expect(try c.get("/robots.txt").status == 200)
        #expect(try c.get("/robots.txt").status == 429)
    }

    @Test func forwardingFieldsCountOnlyFromTrustedProxies() throws {
        let h = try Self.limited { c in
            c.rate = 0.1
            c.burst = 1
            c.trustedProxies = [AddressRange("127.0.0.2")!]
        }
        defer { h.stop() }
        // Through the trusted proxy (127.0.0.2): each forwarded client has its own bucket.
        let proxy = try TestClient(port: h.port, source: "127.0.0.2")
        #expect(try proxy.get("/robots.txt", headers: ["X-Forwarded-For": "198.51.100.1"]).status == 200)
        #expect(try proxy.get("/robots.txt", headers: ["X-Forwarded-For": "198.51.100.2"]).status == 200)
        #expect(try proxy.get("/robots.txt", headers: ["Forwarded": "for=\"[2001:db8::5]:80\""]).status == 200)
        #expect(try proxy.get("/robots.txt", headers: ["X-Forwarded-For": "198.51.100.1"]).status == 429)
        // A client claiming to be forwarded, not from a trusted proxy: its own address counts.
        let direct = try TestClient(port: h.port)
        #expect(try direct.get("/robots.txt", headers: ["X-Forwarded-For": "198.51.100.3"]).status == 200)
        #expect(try direct.get("/robots.txt", headers: ["X-Forwarded-For": "198.51.100.4"]).status == 429)
    }

    @Test func aCapOnConnectionsPerAddressAcrossLoops() throws {
        let h = try EdgeHarness { $0.clientLimits.maxConnectionsPerAddress = 3 }
        defer { h.stop() }
        let held = try (0..<3).map { _ in try TestClient(port: h.port) }
        for c in held { #expect(try c.get("/robots.txt").status == 200) }
        let extra = try TestClient(port: h.port)
        let r = try extra.readResponse()
        #expect(r.status == 429)
        #expect(r.header("Retry-After") == "1")
        #expect(try extra.isClosedByServer())
        // Another address is not affected.
        let other = try TestClient(port: h.port, source: "127.0.0.2")
        #expect(try other.get("/robots.txt").status == 200)
        // Closing one gives its place back.
        let address = try #require(ClientAddress("127.0.0.1"))
        #expect(h.server.clientLimits.openConnections(from: address) == 3)
        _ = consume held
        #expect(eventually(5) { h.server.clientLimits.openConnections(from: address) == 0 })
        let again = try TestClient(port: h.port)
        #expect(try again.get("/robots.txt").status == 200)
        #expect(h.server.clientLimits.refusedConnections.load(ordering: .relaxed) == 1)
    }

    @Test func theAdminAPIHasItsOwnLimitAndTheCountersAreInMetrics() throws {
        let a = try AdminHarness { config in
            config.clientLimits.adminRate = 0.1
            config.clientLimits.adminBurst = 3
            config.clientLimits.enabled = true
            config.clientLimits.rate = 0.1
            config.clientLimits.burst = 1
        }
        defer { a.stop() }
        for _ in 0..<3 { #expect(try a.call("GET", "/_wharf/health").status == 200) }
        let refused = try a.call("GET", "/_wharf/metrics")
        #expect(refused.status == 429)
        #expect(refused.header("RateLimit-Policy") == "\"admin\";q=3;w=30")
        // The public listener's limit is a separate bucket.
        let c = try TestClient(port: a.edge.port)
        #expect(try c.get("/robots.txt").status == 200)
        #expect(try c.get("/robots.txt").status == 429)
        // Metrics from another address.
        let metrics = try TestClient(port: a.port, source: "127.0.0.2")
            .request("GET", "/_wharf/metrics", token: a.token)
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("wharf_rate_limited_total{scope=\"edge\"} 1"))
        #expect(metrics.text.contains("wharf_rate_limited_total{scope=\"admin\"} 1"))
        #expect(metrics.text.contains("wharf_connections_refused_per_address_total 0"))
        #expect(metrics.text.contains("wharf_rate_limit_table_entries 65536"))
    }
}

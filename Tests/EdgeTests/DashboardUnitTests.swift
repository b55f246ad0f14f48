import Foundation
import Synchronization
import Testing

@testable import Edge

/// The dashboard's pieces alone: sessions on a test clock, the gate's parsers with hostile
/// input, the history's arithmetic, HTML escaping.
@Suite struct DashboardUnitTests {
    final class TestClock: Sendable {
        let now = Mutex<Double>(1000)
        func advance(_ s: Double) { now.withLock { $0 += s } }
        var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
    }

    @Test func sessionsExpireWhenIdleAndAtTheirAbsoluteLimit() {
        let clock = TestClock()
        var limits = DashboardSessions.Limits()
        limits.idleSeconds = 100
        limits.absoluteSeconds = 250
        let sessions = DashboardSessions(limits: limits, clock: clock.read)
        let idle = sessions.create(role: .admin)
        let busy = sessions.create(role: .read)
        clock.advance(90)
        #expect(sessions.session(busy.id) != nil)
        clock.advance(20)
        #expect(sessions.session(idle.id) == nil, "idle for 110 s of 100")
        for _ in 0..<3 {
            clock.advance(45)
            #expect(sessions.session(busy.id)?.role == .read)
        }
        clock.advance(45)  // 290 s old, never idle for long
        #expect(sessions.session(busy.id) == nil)
        #expect(sessions.count == 0)
    }

    @Test func theSessionTableIsBoundedAndDropsTheLeastRecentlyUsed() {
        let clock = TestClock()
        var limits = DashboardSessions.Limits()
        limits.maxSessions = 4
        let sessions = DashboardSessions(limits: limits, clock: clock.read)
        var made: [DashboardSessions.Session] = []
        for _ in 0..<4 {
            clock.advance(1)
            made.append(sessions.create(role: .admin))
        }
        clock.advance(1)
        _ = sessions.session(made[0].id)  // the oldest is now the most recently used
        for _ in 0..<100 {
            clock.advance(1)
            _ = sessions.create(role: .admin)
        }
        #expect(sessions.count == 4)
        let fresh = sessions.create(role: .admin)
        #expect(sessions.session(fresh.id) != nil)
        #expect(sessions.session(made[1].id) == nil)
        #expect(Set(made.map(\.id)).count == 4 && made.allSatisfy { $0.id != $0.csrf && $0.id.count == 64 })
    }

    @Test func replacingAnIdEndsIt() {
        let sessions = DashboardSessions()
        let old = sessions.create(role: .admin)
        let new = sessions.create(role: .admin, replacing: old.id)
        #expect(sessions.session(old.id) == nil && sessions.session(new.id) != nil)
        #expect(sessions.session("") == nil && sessions.session(String(repeating: "x", count: 10_000)) == nil)
    }

    @Test func failedSignInsAreCountedInASlidingMinute() {
        let clock = TestClock()
        var limits = DashboardSessions.Limits()
        limits.maxFailuresPerMinute = 3
        let sessions = DashboardSessions(limits: limits, clock: clock.read)
        for _ in 0..<3 {
            #expect(sessions.signInAllowed())
            sessions.recordFailure()
        }
        #expect(!sessions.signInAllowed())
        for _ in 0..<1000 { sessions.recordFailure() }  // bounded: the list never grows past the limit
        clock.advance(61)
        #expect(sessions.signInAllowed())
    }

    @Test func theCookieParserTakesOnlyA64HexSessionId() {
        let id = String(repeating: "0a", count: 32)
        func parse(_ values: [String]) -> String? { DashboardGate.sessionID(values.map { .init(name: "Cookie", value: $0) }) }
        #expect(parse(["wharf_session=\(id)"]) == id)
        #expect(parse(["a=b; wharf_session=\(id); c=d"]) == id)
        #expect(parse(["  wharf_session = \(id) "]) == id)
        #expect(parse(["wharf_session=\(id.uppercased())"]) == nil)
        #expect(parse(["wharf_session=\(id)0"]) == nil)
        #expect(parse(["wharf_sessionx=\(id)"]) == nil)
        #expect(parse(["wharf_session"]) == nil)
        #expect(parse([";;;=;="]) == nil)
        #expect(parse([String(repeating: "wharf_session=\(id);", count: 1000)]) == id)
        #expect(DashboardGate.sessionID([.init(name: "X-Cookie", value: "wharf_session=\(id)")]) == nil)
    }

    @Test func theFormParserIsBoundedAndRefusesBadEncoding() {
        #expect(DashboardGate.form(Array("token=a%20b+c&csrf=1".utf8)) == ["token": "a b c", "csrf": "1"])
        #expect(DashboardGate.form(Array("token=%ZZ".utf8)) == nil)
        #expect(DashboardGate.form(Array(repeating: 0x61, count: 5000)) == nil)
        #expect(DashboardGate.form(Array(String(repeating: "a=1&", count: 17).utf8)) != nil, "duplicate names count once")
        #expect(DashboardGate.form(Array((0..<17).map { "k\($0)=1" }.joined(separator: "&").utf8)) == nil)
        #expect(DashboardGate.form([0xFF, 0xFE, 0x3D]) != nil)  // undecodable bytes become replacement characters, no crash
    }

    @Test func crossSiteIsJudgedFromFetchMetadataAndOrigin() {
        func request(_ headers: [String: String]) -> AdminRequest {
            AdminRequest(method: "POST", path: "/_wharf/session", headers: headers.map { .init(name: $0.key, value: $0.value) })
        }
        #expect(!DashboardGate.isCrossSite(request([:]), tls: false))
        #expect(!DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "http://h:1"]), tls: false))
        #expect(DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "http://h:1"]), tls: true))
        #expect(!DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "https://h:1"]), tls: true))
        #expect(DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "http://h:2"]), tls: false))
        #expect(DashboardGate.isCrossSite(request(["Origin": "http://h:1"]), tls: false), "no Host to compare with")
        #expect(DashboardGate.isCrossSite(request(["Sec-Fetch-Site": "cross-site"]), tls: false))
        #expect(!DashboardGate.isCrossSite(request(["Sec-Fetch-Site": "same-origin"]), tls: false))
        // A browser's own form post under Referrer-Policy: no-referrer: Origin null, Fetch Metadata same-origin.
        #expect(!DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "null", "Sec-Fetch-Site": "same-origin"]), tls: false))
        #expect(DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "null"]), tls: false))
        #expect(DashboardGate.isCrossSite(request(["Host": "h:1", "Origin": "http://h:1", "Sec-Fetch-Site": "same-site"]), tls: false))
    }

    @Test func theReadTokenComesFromTheEnvironmentOrAnExistingFileOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-read-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(AdminToken.resolveReadToken(storePath: dir.path, environment: [:]) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("read-token").path), "never created")
        #expect(AdminToken.resolveReadToken(storePath: dir.path, environment: ["WHARF_READ_TOKEN": "  "]) == nil)
        #expect(AdminToken.resolveReadToken(storePath: dir.path, environment: ["WHARF_READ_TOKEN": "abc"])?.matches(Array("abc".utf8)) == true)
        try Data("secret-read\n".utf8).write(to: dir.appendingPathComponent("read-token"))
        #expect(AdminToken.resolveReadToken(storePath: dir.path, environment: [:])?.matches(Array("secret-read".utf8)) == true)
        try Data("two\nlines".utf8).write(to: dir.appendingPathComponent("read-token"))
        #expect(AdminToken.resolveReadToken(storePath: dir.path, environment: [:]) == nil)
    }

    @Test func htmlEscapingCoversTextAndAttributes() {
        #expect(DashboardPages.escape(#"<img src=x onerror="a('b')">&"#) == "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;")
        #expect(DashboardPages.escape("plain é") == "plain é")
    }

    @Test func historyPointsAreRatesOverTheIntervalAndTheRingIsBounded() throws {
        let history = DashboardHistory()
        func counters(_ n: Int) -> DashboardHistory.Counters {
            var c = DashboardHistory.Counters()
            c.requests = n * 100
            c.bytes = n * 1000
            c.status4xx = n * 10
            c.cacheHits = n * 3
            c.cacheMisses = n
            c.connections = n
            // 100 requests per step: 60 in the 1 ms bucket, 39 in 10 ms, 1 in 100 ms.
            c.durationBuckets = [(0.001, n * 60), (0.01, n * 99), (0.1, n * 100)]
            return c
        }
        history.sample(counters(0), at: 0)
        #expect(history.points(at: 0).isEmpty, "the first sample is the baseline")
        history.sample(counters(1), at: 10)
        let p = try #require(history.points(at: 10).first)
        #expect(p.requestsPerSecond == 10 && p.bytesPerSecond == 100 && p.status4xxPerSecond == 1 && p.status5xxPerSecond == 0)
        #expect(p.cacheHitRatio == 0.75 && p.p50Ms == 1 && p.p99Ms == 10 && p.connections == 1)
        for i in 2...400 { history.sample(counters(i), at: Double(i) * 10) }
        #expect(history.points(at: 4000).count == DashboardHistory.capacity)
        let live = history.points(current: counters(402), at: 4020)
        #expect(live.count == DashboardHistory.capacity + 1 && live.last?.requestsPerSecond == 10)
        #expect(history.points(current: counters(401), at: 4000.5).count == DashboardHistory.capacity, "no live point within a second")
        // A clock that does not advance adds nothing; counters that went down give zero rates.
        history.sample(counters(0), at: 4000)
        #expect(DashboardHistory.point(from: counters(5), at: 0, to: counters(1), at: 10)?.requestsPerSecond == 0)
        #expect(DashboardHistory.percentile(0.5, [], []) == nil)
    }

    @Test func theSamplerStopsWhenAskedOrWhenItsSourceIsGone() async throws {
        let dashboard = Dashboard()
        let reads = Mutex(0)
        // Three samples (a baseline and two points), then the source is gone.
        dashboard.startSampling(every: .milliseconds(5)) {
            reads.withLock {
                $0 += 1
                return $0 <= 3 ? DashboardHistory.Counters() : nil
            }
        }
        for _ in 0..<200 where reads.withLock({ $0 }) < 4 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(reads.withLock { $0 } == 4, "no read after the one that returned nil")
        #expect(dashboard.history.points(at: Date().timeIntervalSince1970).count == 2)

        let stopped = Dashboard()
        let stoppedReads = Mutex(0)
        stopped.startSampling(every: .milliseconds(5)) {
            stoppedReads.withLock { $0 += 1 }
            return DashboardHistory.Counters()
        }
        // Wait for a few reads (a loaded machine may take far longer than 5 ms per sample).
        for _ in 0..<500 where stoppedReads.withLock({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(10)) }
        stopped.stop()
        let atStop = stoppedReads.withLock { $0 }
        try await Task.sleep(for: .milliseconds(200))
        // At most the one read that may have passed its cancellation check as stop() ran.
        #expect(atStop >= 3 && stoppedReads.withLock { $0 } <= atStop + 1, "reads after stop()")
        stopped.stop()  // idempotent
    }

    @Test func schedulerFiguresAreReadFromTheStatusDocument() {
        let status: [String: Any] = [
            "monitor": [
                "queue": ["queued": 3, "running": 1], "slots": ["desired": 4, "active": 2],
                "alerts": ["firing": 5],
            ]
        ]
        #expect(DashboardHistory.scheduler(fromStatus: status) == .init(queued: 3, running: 1, slotsDesired: 4, slotsActive: 2, alertsFiring: 5))
        #expect(DashboardHistory.scheduler(fromStatus: ["edge": [:]]) == nil)
        #expect(DashboardHistory.scheduler(fromStatus: ["monitor": "garbage"]) == nil)
        #expect(DashboardHistory.scheduler(fromStatus: ["monitor": ["queue": "x"]])?.queued == 0)
    }
}

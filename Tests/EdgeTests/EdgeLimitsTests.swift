import ArtifactStore
import Foundation
import Glibc
import Synchronization
import Testing

@testable import Edge

/// Limits, timeouts and shutdown, each on a server of its own configuration.
@Suite struct EdgeLimitsTests {
    typealias Listener = EdgeHarness.Listener

    @Test(arguments: Listener.allCases) func aSlowHeaderSenderGets408AtTheHeaderTimeout(_ via: Listener) throws {
        let h = try EdgeHarness(tls: via == .tls) { $0.headerTimeoutMs = 600 }
        defer { h.stop() }
        let c = try h.client(via)
        let started = Date()
        // One byte at a time, slower than the timeout allows for the whole head.
        for byte in "GET / HTTP/1.1\r\nHost:".utf8 {
            do { try c.send([byte]) } catch { break }
            usleep(100_000)
            if Date().timeIntervalSince(started) > 1.2 { break }
        }
        let r = try c.readResponse()
        #expect(r.status == 408)
        #expect(try c.isClosedByServer())
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test(arguments: Listener.allCases) func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout(_ via: Listener) throws {
        let h = try EdgeHarness(tls: via == .tls) { $0.idleTimeoutMs = 400 }
        defer { h.stop() }
        let c = try h.client(via)
        #expect(try c.get("/robots.txt").status == 200)
        usleep(1_200_000)
        #expect(try c.isClosedByServer())
    }

    @Test func manyIdleConnectionsAreCheckedInSlicesAndAllTimeOut() throws {
        // 300 idle connections and a 2.5 s idle timeout: a tick looks at 256 of them at most (a round
        // of two 250 ms ticks), so none closes early and all close within the timeout plus two rounds.
        // (300 client and 300 server sockets stay under a default limit of 1024 open files.)
        let h = try EdgeHarness {
            $0.idleTimeoutMs = 2500
            $0.workers = 1
        }
        defer { h.stop() }
        let clients = try (0..<300).map { _ in try TestClient(port: h.port) }
        var firstAnswered: Date?
        for c in clients {
            #expect(try c.get("/robots.txt").status == 200)
            if firstAnswered == nil { firstAnswered = Date() }
        }
        let lastAnswered = Date()
        let open = { h.server.metrics.connectionsOpen.load(ordering: .relaxed) }
        let untilEarliest = 2.0 - Date().timeIntervalSince(firstAnswered!)
        if untilEarliest > 0 {
            usleep(UInt32(untilEarliest * 1_000_000))
            #expect(open() == 300, "closed before the idle timeout")
        }
        while open() > 0, Date().timeIntervalSince(lastAnswered) < 8 { usleep(50_000) }
        #expect(open() == 0, "\(open()) connections still open 8 s after their last request")
        for c in clients.prefix(20) { #expect(try c.isClosedByServer()) }
    }

    @Test func connectionsOverTheCapAreRefusedWith503() throws {
        let h = try EdgeHarness {
            $0.maxConnectionsPerWorker = 3
            $0.workers = 1
        }
        defer { h.stop() }
        let held = try (0..<3).map { _ in try TestClient(port: h.port) }
        for c in held { #expect(try c.get("/robots.txt").status == 200) }
        let extra = try TestClient(port: h.port)
        let r = try extra.readResponse()
        #expect(r.status == 503)
        #expect(try extra.isClosedByServer())
        // The held connections still work.
        #expect(try held[0].get("/robots.txt").status == 200)
    }

    @Test(arguments: Listener.allCases) func shutdownFinishesResponsesInFlightAndClosesIdleConnections(_ via: Listener) throws {
        let h = try EdgeHarness(tls: via == .tls) {
            $0.drainTimeoutMs = 3000
            $0.writeHighWaterBytes = 64 << 10
        }
        let idle = try h.client(via)
        #expect(try idle.get("/robots.txt").status == 200)
        let busy = try h.client(via)
        // Ask for the 3 MB file and don't read it yet: the response is in flight.
        try busy.send("GET /downloads/app-release.apk HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(200_000)
        let stopper = Thread { h.server.shutdown() }
        stopper.start()
        usleep(200_000)
        let r = try busy.readResponse()
        #expect(r.status == 200)
        #expect(r.body == h.files["/downloads/app-release.apk"])
        #expect(try idle.isClosedByServer())
        while !stopper.isFinished { usleep(10_000) }
        #expect(throws: (any Error).self) { _ = try h.client(via) }
        try? FileManager.default.removeItem(at: h.root)
    }

    @Test func anAliasSwitchFromAnotherWriterIsServedWithinOneSecond() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let c = try TestClient(port: h.port)
        let before = try c.get("/robots.txt")
        let v2 = h.root.appendingPathComponent("v2")
        try FileManager.default.createDirectory(at: v2, withIntermediateDirectories: true)
        try Data("version two\n".utf8).write(to: v2.appendingPathComponent("robots.txt"))
        try Data("<html>v2</html>".utf8).write(to: v2.appendingPathComponent("index.html"))
        // A second Store handle: the same SQLite file, as another process would open it.
        let other = try Store.open(at: h.store.path)
        try other.publish(PublishRequest(app: "demo", directory: v2.path, version: "v2", message: nil, metadata: [:]))
        let switched = Date()
        var seen = before.text
        while seen != "version two\n" && Date().timeIntervalSince(switched) < 1.0 {
            seen = try c.get("/robots.txt").text
        }
        #expect(seen == "version two\n")
        #expect(Date().timeIntervalSince(switched) < 1.0)
        _ = try other.rollback(app: "demo")
        usleep(300_000)
        #expect(try c.get("/robots.txt").body == h.files["/robots.txt"])
    }
}

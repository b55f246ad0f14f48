import Foundation
import Glibc
import Synchronization
import Testing

@testable import Edge

/// The admin listener's connection handling on its own (no edge): limits, timeouts,
/// `Expect: 100-continue`, and a clean stop.
@Suite struct AdminConnectionTests {
    /// A log that tests can read back.
    final class Log: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var sink: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
    }

    func server(_ configure: (inout AdminServer.Limits) -> Void = { _ in }, log: Log = Log()) throws -> AdminServer {
        var limits = AdminServer.Limits()
        configure(&limits)
        let admin = AdminServer(port: 0, token: AdminToken("secret"), limits: limits, logger: log.sink)
        try admin.routes.register("POST", "/_wharf/api/echo") { request in
            AdminResponse(status: 200, body: request.body, contentType: "application/octet-stream")
        }
        try admin.start()
        return admin
    }

    @Test func aRequestThatDoesNotArriveInTimeGets408() throws {
        let admin = try server { $0.requestTimeoutMs = 200 }
        defer { admin.shutdown() }
        let c = try TestClient(port: admin.port)
        try c.send("GET /_wharf/health HTTP/1.1\r\nHost: x\r\n")  // no blank line: the head never ends
        let r = try c.readResponse()
        #expect(r.status == 408)
        #expect(try c.isClosedByServer())
    }

    @Test func anIdleKeepAliveConnectionIsClosed() throws {
        let admin = try server { $0.idleTimeoutMs = 200 }
        defer { admin.shutdown() }
        let c = try TestClient(port: admin.port)
        #expect(try c.request("GET", "/_wharf/health").status == 200)
        let started = Date()
        #expect(try c.isClosedByServer())
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func connectionsOverTheLimitGet503() throws {
        let admin = try server { $0.maxConnections = 2 }
        defer { admin.shutdown() }
        let a = try TestClient(port: admin.port)
        let b = try TestClient(port: admin.port)
        #expect(try a.request("GET", "/_wharf/health").status == 200)
        #expect(try b.request("GET", "/_wharf/health").status == 200)
        let c = try TestClient(port: admin.port)
        let refused = try c.readResponse()
        #expect(refused.status == 503)
        // Once one closes, a new connection is served again.
        try a.send("GET /_wharf/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(try a.readResponse().status == 200)
        usleep(100_000)
        #expect(try TestClient(port: admin.port).request("GET", "/_wharf/health").status == 200)
    }

    @Test func expectContinueGetsAnInterim100BeforeTheBodyIsSent() throws {
        let admin = try server()
        defer { admin.shutdown() }
        let c = try TestClient(port: admin.port)
        let body = Array(repeating: UInt8(ascii: "x"), count: 5000)
        try c.send(
            "POST /_wharf/api/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nExpect: 100-continue\r\nContent-Length: \(body.count)\r\n\r\n"
        )
        var head = [UInt8](repeating: 0, count: 25)
        let n = head.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_WAITALL)) }
        #expect(n == 25)
        #expect(String(decoding: head, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        try c.send(body)
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.body == body)
    }

    @Test func shutdownClosesEverythingCleanlyAndFreesThePort() throws {
        let log = Log()
        let admin = try server(log: log)
        let port = admin.port
        let idle = try TestClient(port: port)
        #expect(try idle.request("GET", "/_wharf/health").status == 200)
        let partial = try TestClient(port: port)
        try partial.send("POST /_wharf/api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        usleep(50_000)
        admin.shutdown()
        admin.shutdown()  // idempotent
        #expect(try idle.isClosedByServer())
        #expect(try partial.isClosedByServer())
        #expect(!log.all.contains { $0.contains("did not close cleanly") }, "\(log.all)")
        #expect(throws: TestClient.ClientError.self) { try TestClient(port: port) }
    }
}

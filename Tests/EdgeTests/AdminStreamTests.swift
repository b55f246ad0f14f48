import Foundation
import Glibc
import Synchronization
import Testing

@testable import Edge

/// Streamed admin responses (`AdminResponse.stream`): chunked framing a real client (curl) decodes,
/// the producer asked again only after the previous chunk left, so a client that stops reading
/// stops the producer (bounded memory), and a stalled stream is closed after the idle timeout.
@Suite struct AdminStreamTests {
    final class Counting: AdminBodyStream {
        let calls = Mutex(0)
        let limit: Int?
        let chunk: [UInt8]
        init(limit: Int?, chunkBytes: Int) {
            self.limit = limit
            chunk = [UInt8](repeating: 0x61, count: chunkBytes - 1) + [0x0A]
        }
        func next() throws -> AdminStreamChunk {
            let n = calls.withLock {
                $0 += 1
                return $0
            }
            if let limit, n > limit { return .end }
            if n % 3 == 0 { return .wait }
            return .bytes(Array("chunk \(n)\n".utf8) + (limit == nil ? chunk : []))
        }
    }

    func server(_ stream: Counting, idleMs: Int = 30_000) throws -> AdminServer {
        var limits = AdminServer.Limits()
        limits.idleTimeoutMs = idleMs
        let admin = AdminServer(port: 0, token: AdminToken("secret"), limits: limits)
        try admin.routes.register("GET", "/_wharf/api/stream") { _ in
            var response = AdminResponse(status: 200, body: [], contentType: "text/event-stream")
            response.stream = stream
            return response
        }
        try admin.start()
        return admin
    }

    @Test func aStreamIsSentChunkedUntilItEnds() throws {
        let stream = Counting(limit: 12, chunkBytes: 1)
        let admin = try server(stream)
        defer { admin.shutdown() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-i", "--max-time", "20", "-H", "Authorization: Bearer secret", "http://127.0.0.1:\(admin.port)/_wharf/api/stream"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "curl: \(p.terminationStatus)")
        #expect(text.lowercased().contains("transfer-encoding: chunked"))
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").filter { $0.hasPrefix("chunk ") }
        #expect(lines == ["chunk 1", "chunk 2", "chunk 4", "chunk 5", "chunk 7", "chunk 8", "chunk 10", "chunk 11"], "\(text)")
        // Without a token nothing is streamed.
        let client = try TestClient(port: admin.port)
        #expect(try client.request("GET", "/_wharf/api/stream", token: "").status == 401)
    }

    @Test func aClientThatStopsReadingStopsTheProducerAndIsClosed() throws {
        let stream = Counting(limit: nil, chunkBytes: 64 * 1024)
        let admin = try server(stream, idleMs: 1_000)
        defer { admin.shutdown() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(admin.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let request = Array("GET /_wharf/api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n".utf8)
        #expect(Glibc.send(fd, request, request.count, 0) == request.count)
        // Never read. An unbounded producer would be asked thousands of times a second; this one
        // fills the kernel's socket buffers (a few MiB, growing by autotuning) and then waits.
        var samples: [Int] = []
        var stable = false
        for _ in 0..<40 {
            Thread.sleep(forTimeInterval: 0.5)
            samples.append(stream.calls.withLock { $0 })
            if samples.count >= 5, Set(samples.suffix(5)).count == 1 {
                stable = true
                break
            }
        }
        let asked = samples.last ?? 0
        #expect(stable, "still producing for a client that does not read: \(samples)")
        #expect(asked < 256, "the producer ran ahead of a client that does not read: \(asked) calls (\(asked * 64) KiB)")
        // The stalled stream was closed: reading drains what was buffered, then end of file.
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var total = 0
        let deadline = Date().addingTimeInterval(20)
        var ended = false
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 {
                ended = true
                break
            }
            total += n
        }
        #expect(ended, "the server kept the stalled stream open (read \(total) bytes)")
    }
}

import ArtifactStore
import Foundation
import Glibc
import Synchronization
import Testing
import WharfTestSupport

@testable import Edge

/// Upload routes of the admin listener: bodies streamed to a temporary file with SHA-256
/// computed on arrival (beyond the in-memory body limit), their own size limit, a credential
/// required before a byte is stored, delegated credential checks, and nothing left behind by a
/// refused or cut-off upload. A real admin server on an ephemeral loopback port.
@Suite struct AdminUploadTests {
    final class Fixture: Sendable {
        let directory: TemporaryDirectory
        let server: AdminServer
        let token = AdminToken.generate()
        /// What the last upload handler saw: credential, admin flag, size, hash, file contents.
        final class Seen: Sendable {
            let value = Mutex<(String?, Bool, Int, String, [UInt8])?>(nil)
        }
        let seen = Seen()

        init(maxUpload: Int = 4 << 20) throws {
            directory = try TemporaryDirectory(prefix: "wharf-admin-upload")
            server = AdminServer(port: 0, token: AdminToken(token))
            let target = AdminUploadTarget(directory: directory.path, maxBytes: maxUpload)
            let seen = self.seen
            try server.routes.register("PUT", "/_wharf/api/things/{id}", access: .delegated, upload: target) { request in
                guard let upload = request.upload else { return .error(400, "no body") }
                let bytes = Array(FileManager.default.contents(atPath: upload.path) ?? Data())
                seen.value.withLock { $0 = (request.credential, request.isAdmin, upload.size, upload.sha256, bytes) }
                return AdminResponse(status: 201, body: Array("{}".utf8))
            }
            try server.routes.register("POST", "/_wharf/api/small") { request in
                AdminResponse(status: 200, body: Array("{\"bytes\":\(request.body.count)}".utf8))
            }
            try server.start()
        }

        var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] }

        deinit {
            server.shutdown()
            directory.remove()
        }
    }

    static func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 9)) } }

    @Test func aBodyLargerThanTheMemoryLimitIsStreamedToAFileWithItsHash() throws {
        let f = try Fixture()
        let body = Self.bytes(3 << 20)
        let client = try TestClient(port: f.server.port)
        let response = try client.request("PUT", "/_wharf/api/things/a", body: body, token: f.token)
        #expect(response.status == 201, "\(response.text)")
        let seen = try #require(f.seen.value.withLock { $0 })
        #expect(seen.0 == f.token && seen.1 == true)
        #expect(seen.2 == body.count)
        #expect(seen.3 == ContentHash.of(body))
        #expect(seen.4 == body)
        // The handler did not keep the file: it is removed once the handler has answered.
        #expect(f.leftovers.isEmpty)
        // An ordinary route keeps the 1 MiB in-memory limit.
        let small = try TestClient(port: f.server.port).request("POST", "/_wharf/api/small", body: Self.bytes(2 << 20), token: f.token)
        #expect(small.status == 413)
    }

    @Test func aChunkedUploadWithAnotherCredentialReachesTheHandlerUnjudged() throws {
        let f = try Fixture()
        let body = Self.bytes(200_000)
        let client = try TestClient(port: f.server.port)
        var head = "PUT /_wharf/api/things/b HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer app-token\r\nTransfer-Encoding: chunked\r\n\r\n"
        head += String(body.count, radix: 16) + "\r\n"
        try client.send(Array(head.utf8) + body + Array("\r\n0\r\n\r\n".utf8))
        let response = try client.readResponse()
        #expect(response.status == 201)
        let seen = try #require(f.seen.value.withLock { $0 })
        #expect(seen.0 == "app-token" && seen.1 == false)
        #expect(seen.3 == ContentHash.of(body))
    }

    @Test func oversizedUnauthenticatedAndCutOffUploadsLeaveNoFile() throws {
        let f = try Fixture(maxUpload: 100_000)
        // Declared too large: 413 before a byte is stored.
        let declared = try TestClient(port: f.server.port)
        try declared.send("PUT /_wharf/api/things/c HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(f.token)\r\nContent-Length: 100001\r\n\r\n")
        #expect(try declared.readResponse().status == 413)
        // Chunked past the limit: 413 once it passes, the partial file removed.
        let chunked = try TestClient(port: f.server.port)
        let big = Self.bytes(150_000)
        try chunked.send(
            Array(
                "PUT /_wharf/api/things/d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(f.token)\r\nTransfer-Encoding: chunked\r\n\r\n\(String(big.count, radix: 16))\r\n"
                    .utf8) + big + Array("\r\n0\r\n\r\n".utf8))
        #expect(try chunked.readResponse().status == 413)
        // No credential at all: 401 before the body is taken.
        let anonymous = try TestClient(port: f.server.port).request("PUT", "/_wharf/api/things/e", body: Self.bytes(10), token: "")
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate") != nil)
        // Cut off halfway: the connection closes and the partial file goes with it.
        let cut = try TestClient(port: f.server.port)
        try cut.send(
            Array("PUT /_wharf/api/things/f HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(f.token)\r\nContent-Length: 90000\r\n\r\n".utf8)
                + Self.bytes(40_000))
        #expect(eventually(10) { f.leftovers.count == 1 })
        Glibc.shutdown(cut.fd, Int32(SHUT_RDWR))
        #expect(eventually(10) { f.leftovers.isEmpty }, "\(f.leftovers)")
        #expect(f.seen.value.withLock { $0 } == nil)
    }
}

import Foundation
import Glibc
import Testing

@testable import Edge

/// Issue 19 item 1 on a real socket: a head that is already wrong gets its 400 and a close with
/// only the bytes sent so far — the client never sends the rest (no empty line, no more fields),
/// and the read would time out if the edge waited for them.
@Suite struct EarlyRejectionEdgeTests {
    /// The seven cases: each a partial head, invalid as it stands.
    static let partialHeads: [(name: String, bytes: String)] = [
        ("unknown minor version", "GET /index.html HTTP/1.4\r\nHost: localhost\r\n"),
        ("two spaces in the request line", "GET  /index.html HTTP/1.1\r\nHost: local"),
        ("bytes after the version", "HEAD /robots.txt HTTP/1.1 please\r\nHost: localhost\r\n"),
        ("folded line after the request line", "GET /robots.txt HTTP/1.1\r\n Host: localhost\r\n"),
        ("a second Content-Length", "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\ncontent-length: 4\r\nUser-Ag"),
        ("an overflowing Content-Length", "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 300000000000000000000000000\r\n"),
        ("a bare CR with no LF after it", "GET /robots.txt HTTP/1.1\r\nHost: localhost\rAccept: */*"),
    ]

    @Test(arguments: 0..<partialHeads.count)
    func aPartialHeadThatIsAlreadyInvalidGets400AndACloseAtOnce(_ index: Int) throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let (name, bytes) = Self.partialHeads[index]
        // The header timeout is the default 10 s; the client gives up after 5: an answer within
        // that can only come from the early rejection.
        let c = try TestClient(port: h.port, timeoutSeconds: 5)
        try c.send(bytes)
        let r = try c.readResponse()
        #expect(r.status == 400, "\(name)")
        #expect(r.header("connection")?.lowercased() == "close", "\(name)")
        #expect(try c.isClosedByServer(), "\(name)")
    }

    @Test func theSameHeadsSentOneByteAtATimeAreRefusedToo() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        for (name, bytes) in Self.partialHeads {
            let c = try TestClient(port: h.port, timeoutSeconds: 5)
            var closedEarly = false
            for byte in bytes.utf8 {
                do { try c.send([byte]) } catch {
                    closedEarly = true
                    break
                }
            }
            _ = closedEarly
            let r = try c.readResponse()
            #expect(r.status == 400, "\(name)")
            #expect(try c.isClosedByServer(), "\(name)")
        }
    }

    @Test func aBadChunkOfAnAnsweredRequestClosesAfterItsResponseWithNoSecondResponse() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let c = try TestClient(port: h.port, timeoutSeconds: 5)
        // A GET with a chunked body it does not need; chunk data not followed by CRLF. What follows
        // looks like a request and must never be answered as one.
        try c.send(
            "GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "4\r\nwxyzGET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.body == h.files["/robots.txt"])
        let rest = try c.readToEnd()
        #expect(rest.isEmpty, "a second response: \(String(decoding: rest, as: UTF8.self))")
    }

    @Test func aChunkSizeLineWithABareCRClosesWithoutWaitingForMore() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let c = try TestClient(port: h.port, timeoutSeconds: 5)
        try c.send("GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\rG")
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(try c.readToEnd().isEmpty)
    }

    @Test func aGoodChunkedRequestKeepsTheConnectionForTheNextOne() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let c = try TestClient(port: h.port, timeoutSeconds: 5)
        try c.send(
            "GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "4;x=1\r\nwxyz\r\n0\r\nX-Trailer: ok\r\n\r\n")
        #expect(try c.readResponse().status == 200)
        #expect(try c.get("/robots.txt").status == 200)
    }
}

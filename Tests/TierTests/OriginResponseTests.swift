import Testing
import WharfTestSupport

@testable import Tier

/// The tier client's reading of origin responses: heads, chunked bodies and origin URLs, with
/// malformed, oversized and hostile input refused by a thrown error, never a crash or a guess.
@Suite struct OriginResponseTests {
    func head(_ text: String) throws -> OriginResponseHead { try OriginResponseHead.parse(Array(text.utf8)[...]) }

    @Test func aWellFormedHeadIsRead() throws {
        let h = try head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Wharf-Blob-Size:  12 ")
        #expect(h.status == 200 && h.contentLength == 12 && !h.chunked)
        #expect(h.field("x-wharf-blob-size") == "12")
        let c = try head("HTTP/1.0 404 Not Found\r\ntransfer-encoding: Chunked")
        #expect(c.status == 404 && c.chunked && c.contentLength == nil)
    }

    @Test(arguments: [
        "", "HTTP/1.1", "HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 abc OK", "HTTP/1.1 099 Low",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1",
        "HTTP/1.1 200 OK\r\nContent-Length: -1", "HTTP/1.1 200 OK\r\nContent-Length: 1e3",
        "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "HTTP/1.1 200 OK\r\nBad Name: x", "HTTP/1.1 200 OK\r\n: empty", "HTTP/1.1 200 OK\r\nNoColon",
        "HTTP/1.1 200 OK\r\nX: a\u{0}b", "HTTP/1.1 200 OK\r\nX: a\nb", "HTTP/1.1 200 OK\u{7F}",
    ])
    func malformedHeadsAreRefused(_ text: String) {
        #expect(throws: OriginError.self) { try head(text) }
    }

    @Test func oversizedHeadsAreRefused() {
        let many = "HTTP/1.1 200 OK" + String(repeating: "\r\nX: y", count: 101)
        #expect(throws: OriginError.self) { try head(many) }
        let long = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: OriginResponseHead.maxBytes)
        #expect(throws: OriginError.tooLarge("response head over \(OriginResponseHead.maxBytes) bytes")) { try head(long) }
    }

    func decode(_ text: String, split: Int? = nil) throws -> (body: [UInt8], done: Bool) {
        var decoder = ChunkedDecoder()
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        let step = split ?? bytes.count
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + max(1, step))
            try bytes[i..<end].withUnsafeBytes { raw in _ = try decoder.feed(raw) { out += $0 } }
            i = end
        }
        return (out, decoder.isDone)
    }

    @Test func chunkedBodiesDecodeWhateverTheReadBoundaries() throws {
        let text = "5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"
        for split in [1, 2, 3, 7, 1000] {
            let (body, done) = try decode(text, split: split)
            #expect(String(decoding: body, as: UTF8.self) == "hello world0123456789", "split \(split)")
            #expect(done)
        }
        let (partial, done) = try decode("5\r\nhel")
        #expect(partial == Array("hel".utf8) && !done)
    }

    @Test(arguments: [
        "x\r\nhello\r\n0\r\n\r\n", "\r\nhello\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhello!\r\n0\r\n\r\n",
        "5\r\nhelloXY0\r\n\r\n", "-5\r\nhello\r\n", "1234567890abcdef0\r\n", "0x5\r\nhello\r\n",
        String(repeating: "0", count: 2000) + "\r\n",
    ])
    func malformedChunkedFramingIsRefused(_ text: String) {
        #expect(throws: OriginError.self) { try decode(text) }
    }

    @Test func anEndlessTrailerIsRefused() {
        let text = "0\r\n" + String(repeating: "T: " + String(repeating: "v", count: 1000) + "\r\n", count: 20)
        #expect(throws: OriginError.self) { try decode(text) }
    }

    @Test func randomBytesNeverCrashTheReaders() {
        var random = SeededRandom(seed: 23)
        for _ in 0..<2000 {
            let count = Int(random.next() % 200)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? OriginResponseHead.parse(bytes[...])
            var decoder = ChunkedDecoder()
            _ = try? bytes.withUnsafeBytes { raw in try decoder.feed(raw) { _ in } }
        }
    }

    @Test func originURLs() throws {
        let plain = try OriginURL("http://127.0.0.1:8081")
        #expect(plain.host == "127.0.0.1" && plain.port == 8081 && plain.prefix == "")
        let prefixed = try OriginURL("http://origin.internal/wharf/")
        #expect(prefixed.host == "origin.internal" && prefixed.port == 80 && prefixed.prefix == "/wharf")
        let v6 = try OriginURL("http://[::1]:9000")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.description == "http://[::1]:9000")
        let secure = try OriginURL("https://origin.example:8443/")
        #expect(secure.isSecure && secure.port == 8443 && secure.description == "https://origin.example:8443")
        #expect(try OriginURL("https://origin.example").port == 443 && !plain.isSecure)
        for bad in [
            "httpx://x:1", "ftp://x", "https://", "http://", "http://:80", "http://x:0", "http://x:99999", "http://x:port",
            "http://user@x:1", "http://x:1/p?q=1", "http://x y:1", "http://[::1", "http://x:1\r\nHost: evil",
            "http://é:1", String(repeating: "http://x", count: 500),
        ] {
            #expect(throws: OriginURL.Invalid.self, "\(bad)") { try OriginURL(bad) }
        }
    }
}

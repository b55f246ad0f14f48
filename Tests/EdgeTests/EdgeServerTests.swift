import Foundation
import Glibc
import Testing

@testable import Edge

/// The real server on an ephemeral loopback port, talked to over real sockets.
@Suite(.serialized) struct EdgeServerTests {
    typealias Listener = EdgeHarness.Listener
    /// One harness with both listeners; every case runs through each (`via`).
    static let shared: EdgeHarness = try! EdgeHarness(tls: true)
    var h: EdgeHarness { EdgeServerTests.shared }

    @Test(arguments: Listener.everyProtocol) func theEntryPointIsServedWithEveryHeaderABrowserNeeds(_ via: Listener) throws {
        let c = try h.client(via)
        let r = try c.get("/", headers: ["Accept-Encoding": "identity"])
        #expect(r.status == 200)
        #expect(r.body == h.files["/index.html"])
        #expect(r.header("Content-Type") == "text/html; charset=utf-8")
        #expect(r.header("Content-Length") == "\(r.body.count)")
        #expect(r.header("Cache-Control") == "no-cache")
        #expect(r.header("ETag")?.hasPrefix("\"") == true)
        #expect(r.header("Last-Modified") != nil)
        #expect(r.header("Date") != nil)
        #expect(r.header("Accept-Ranges") == "bytes")
        #expect(r.header("X-Content-Type-Options") == "nosniff")
        #expect(r.header("Link")?.contains("</assets/app.1a2b3c4d.js>; rel=modulepreload") == true)
        #expect(r.header("Link")?.contains("</assets/style.5e6f7a8b.css>; rel=preload; as=style") == true)
    }

    @Test(arguments: Listener.everyProtocol) func hashedAssetsAreImmutable(_ via: Listener) throws {
        let r = try h.client(via).get("/assets/logo.9c8d7e6f.png")
        #expect(r.status == 200)
        #expect(r.header("Cache-Control") == "max-age=31536000, immutable")
        #expect(r.header("Content-Type") == "image/png")
        #expect(r.body == h.files["/assets/logo.9c8d7e6f.png"])
        #expect(r.header("Vary") == nil)  // PNG has no variants: nothing to vary on
    }

    @Test(arguments: Listener.allCases) func earlyHintsPrecedeTheEntryPointForHTTP11Only(_ via: Listener) throws {
        let r11 = try h.client(via).get("/index.html")
        #expect(r11.interim.count == 1)
        #expect(r11.interim.first?.status == 103)
        #expect(r11.interim.first?.headers("Link").contains { $0.contains("app.1a2b3c4d.js") } == true)
        let c = try h.client(via)
        try c.send("GET /index.html HTTP/1.0\r\n\r\n")
        let r10 = try c.readResponse()
        #expect(r10.status == 200)
        #expect(r10.interim.isEmpty)
        // Assets never get 103.
        #expect(try h.client(via).get("/assets/logo.9c8d7e6f.png").interim.isEmpty)
    }

    @Test(arguments: Listener.everyProtocol) func aMatchingIfNoneMatchGets304WithTheSameETagAndNoBody(_ via: Listener) throws {
        let c = try h.client(via)
        let first = try c.get("/assets/logo.9c8d7e6f.png")
        let etag = try #require(first.header("ETag"))
        let second = try c.get("/assets/logo.9c8d7e6f.png", headers: ["If-None-Match": etag])
        #expect(second.status == 304)
        #expect(second.header("ETag") == etag)
        #expect(second.body.isEmpty)
        #expect(second.header("Cache-Control") == first.header("Cache-Control"))
        // Weak comparison: W/"x" matches "x" for If-None-Match (RFC 9110 §13.1.2).
        let weak = try c.get("/assets/logo.9c8d7e6f.png", headers: ["If-None-Match": "W/\(etag)"])
        #expect(weak.status == 304)
        let list = try c.get("/assets/logo.9c8d7e6f.png", headers: ["If-None-Match": "\"nope\", \(etag)"])
        #expect(list.status == 304)
        let other = try c.get("/assets/logo.9c8d7e6f.png", headers: ["If-None-Match": "\"nope\""])
        #expect(other.status == 200)
    }

    @Test(arguments: Listener.everyProtocol) func ifModifiedSinceIsHonouredOnlyWithoutIfNoneMatch(_ via: Listener) throws {
        let c = try h.client(via)
        let first = try c.get("/robots.txt")
        let lm = try #require(first.header("Last-Modified"))
        #expect(try c.get("/robots.txt", headers: ["If-Modified-Since": lm]).status == 304)
        #expect(try c.get("/robots.txt", headers: ["If-Modified-Since": lm, "If-None-Match": "\"other\""]).status == 200)
    }

    @Test(arguments: Listener.everyProtocol) func aFailingIfMatchGets412(_ via: Listener) throws {
        let c = try h.client(via)
        let r = try c.get("/robots.txt", headers: ["If-Match": "\"not-the-etag\""])
        #expect(r.status == 412)
        let etag = try #require(try c.get("/robots.txt").header("ETag"))
        #expect(try c.get("/robots.txt", headers: ["If-Match": etag]).status == 200)
        // If-Match uses strong comparison: a weak tag never matches.
        #expect(try c.get("/robots.txt", headers: ["If-Match": "W/\(etag)"]).status == 412)
    }

    @Test(arguments: Listener.everyProtocol) func encodingIsNegotiatedByQValuesAndETagsDifferPerEncoding(_ via: Listener) throws {
        let c = try h.client(via)
        let path = "/assets/app.1a2b3c4d.js"
        let identity = try c.get(path, headers: ["Accept-Encoding": "identity"])
        #expect(identity.header("Content-Encoding") == nil)
        #expect(identity.body == h.files[path])
        #expect(identity.header("Vary") == "Accept-Encoding")
        let gzip = try c.get(path, headers: ["Accept-Encoding": "gzip"])
        #expect(gzip.header("Content-Encoding") == "gzip")
        #expect(gzip.body.count < identity.body.count)
        let preferBr = try c.get(path, headers: ["Accept-Encoding": "gzip, deflate, br, zstd"])
        #expect(preferBr.header("Content-Encoding") == "br")
        let qGzip = try c.get(path, headers: ["Accept-Encoding": "br;q=0.5, gzip;q=0.9"])
        #expect(qGzip.header("Content-Encoding") == "gzip")
        let zstd = try c.get(path, headers: ["Accept-Encoding": "zstd"])
        #expect(zstd.header("Content-Encoding") == "zstd")
        let noBr = try c.get(path, headers: ["Accept-Encoding": "*, br;q=0"])
        #expect(noBr.header("Content-Encoding") != "br")
        let tags = Set([identity, gzip, preferBr, zstd].compactMap { $0.header("ETag") })
        #expect(tags.count == 4)
        let refused = try c.get(path, headers: ["Accept-Encoding": "identity;q=0, *;q=0"])
        #expect(refused.status == 406)
    }

    @Test(arguments: Listener.everyProtocol) func compressedBodiesDecodeToTheOriginal(_ via: Listener) throws {
        let c = try h.client(via)
        let path = "/assets/style.5e6f7a8b.css"
        for coding in ["br", "zstd", "gzip"] {
            let r = try c.get(path, headers: ["Accept-Encoding": coding])
            #expect(r.header("Content-Encoding") == coding)
            #expect(try Decoding.decode(r.body, coding: coding) == h.files[path])
        }
    }

    @Test(arguments: Listener.everyProtocol) func headEqualsGetMinusTheBody(_ via: Listener) throws {
        let c = try h.client(via)
        for path in ["/", "/assets/app.1a2b3c4d.js", "/downloads/app-release.apk", "/nope.png"] {
            let get = try c.get(path, headers: ["Accept-Encoding": "br"])
            let head = try c.get(path, headers: ["Accept-Encoding": "br"], method: "HEAD")
            #expect(head.status == get.status)
            #expect(head.body.isEmpty)
            let strip: ([(String, String)]) -> [String] = { $0.filter { $0.0.lowercased() != "date" }.map { "\($0.0): \($0.1)" } }
            #expect(strip(head.headers) == strip(get.headers))
        }
    }

    @Test(arguments: Listener.everyProtocol) func aSingleRangeGets206WithContentRange(_ via: Listener) throws {
        let c = try h.client(via)
        let path = "/assets/logo.9c8d7e6f.png"
        let full = try #require(h.files[path])
        let r = try c.get(path, headers: ["Range": "bytes=100-199"])
        #expect(r.status == 206)
        #expect(r.header("Content-Range") == "bytes 100-199/\(full.count)")
        #expect(r.body == Array(full[100...199]))
        let suffix = try c.get(path, headers: ["Range": "bytes=-10"])
        #expect(suffix.body == Array(full.suffix(10)))
        let open = try c.get(path, headers: ["Range": "bytes=\(full.count - 5)-"])
        #expect(open.body == Array(full.suffix(5)))
    }

    @Test(arguments: Listener.everyProtocol) func aRangeIsTakenFromTheVariantAPlainGETWouldGet(_ via: Listener) throws {
        let path = "/assets/app.1a2b3c4d.js"
        let c = try h.client(via)
        for accept in ["br", "gzip, deflate, br, zstd", "gzip", "identity", ""] {
            let whole = try c.get(path, headers: accept.isEmpty ? [:] : ["Accept-Encoding": accept])
            #expect(whole.status == 200)
            let etag = try #require(whole.header("ETag"))
            var headers = ["Range": "bytes=10-109"]
            if !accept.isEmpty { headers["Accept-Encoding"] = accept }
            let r = try c.get(path, headers: headers)
            #expect(r.status == 206, "\(accept)")
            #expect(r.header("Content-Encoding") == whole.header("Content-Encoding"), "\(accept)")
            #expect(r.header("ETag") == etag, "\(accept)")
            #expect(r.header("Content-Range") == "bytes 10-109/\(whole.body.count)", "\(accept)")
            #expect(r.body == Array(whole.body[10...109]), "\(accept)")
            #expect(whole.header("Accept-Ranges") == "bytes")
            // If-Range holds with the variant's own tag, fails with another variant's.
            headers["If-Range"] = etag
            #expect(try c.get(path, headers: headers).status == 206)
        }
        let brTag = try #require(try c.get(path, headers: ["Accept-Encoding": "br"]).header("ETag"))
        let identity = try c.get(path, headers: ["Range": "bytes=0-9", "If-Range": brTag])
        #expect(identity.status == 200)
        #expect(identity.header("Content-Encoding") == nil)
        #expect(identity.body == h.files[path])
    }

    @Test(arguments: Listener.allCases) func severalRangesOfAnEncodedVariantGetTheWholeVariant(_ via: Listener) throws {
        let path = "/assets/app.1a2b3c4d.js"
        let c = try h.client(via)
        let whole = try c.get(path, headers: ["Accept-Encoding": "br"])
        let r = try c.get(path, headers: ["Accept-Encoding": "br", "Range": "bytes=0-9,100-109"])
        #expect(r.status == 200)
        #expect(r.header("Content-Encoding") == "br")
        #expect(r.body == whole.body)
        let unsatisfiable = try c.get(path, headers: ["Accept-Encoding": "br", "Range": "bytes=\(whole.body.count)-"])
        #expect(unsatisfiable.status == 416)
        #expect(unsatisfiable.header("Content-Range") == "bytes */\(whole.body.count)")
    }

    @Test(arguments: Listener.everyProtocol) func anUnsatisfiableRangeGets416WithTheLength(_ via: Listener) throws {
        let path = "/assets/logo.9c8d7e6f.png"
        let r = try h.client(via).get(path, headers: ["Range": "bytes=999999-"])
        #expect(r.status == 416)
        #expect(r.header("Content-Range") == "bytes */\(h.files[path]!.count)")
    }

    @Test(arguments: Listener.everyProtocol) func multipleRangesComeAsMultipartByteranges(_ via: Listener) throws {
        let path = "/assets/logo.9c8d7e6f.png"
        let full = try #require(h.files[path])
        let r = try h.client(via).get(path, headers: ["Range": "bytes=0-9, 100-109"])
        #expect(r.status == 206)
        let type = try #require(r.header("Content-Type"))
        #expect(type.hasPrefix("multipart/byteranges; boundary="))
        let boundary = String(type.split(separator: "=", maxSplits: 1)[1])
        let parts = Multipart.split(r.body, boundary: boundary)
        #expect(parts.count == 2)
        #expect(parts.first?.body == Array(full[0...9]))
        #expect(parts.first?.headers["content-range"] == "bytes 0-9/\(full.count)")
        #expect(parts.last?.body == Array(full[100...109]))
        #expect(Int(r.header("Content-Length") ?? "") == r.body.count)
    }

    @Test(arguments: Listener.everyProtocol) func ifRangeWithAStaleETagServesTheWholeFile(_ via: Listener) throws {
        let path = "/assets/logo.9c8d7e6f.png"
        let c = try h.client(via)
        let stale = try c.get(path, headers: ["Range": "bytes=0-9", "If-Range": "\"stale\""])
        #expect(stale.status == 200)
        #expect(stale.body.count == h.files[path]!.count)
        let etag = try #require(try c.get(path).header("ETag"))
        #expect(try c.get(path, headers: ["Range": "bytes=0-9", "If-Range": etag]).status == 206)
    }

    @Test(arguments: Listener.everyProtocol) func largeFilesAreSentWholeAndByRangeFromTheBlobFile(_ via: Listener) throws {
        let path = "/downloads/app-release.apk"
        let full = try #require(h.files[path])
        let c = try h.client(via)
        let r = try c.get(path)
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "application/vnd.android.package-archive")
        #expect(EdgeHarness.sha256(r.body) == EdgeHarness.sha256(full))
        let ranged = try c.get(path, headers: ["Range": "bytes=1000000-1000999"])
        #expect(ranged.body == Array(full[1_000_000...1_000_999]))
        let multi = try c.get(path, headers: ["Range": "bytes=0-4,2000000-2000004"])
        #expect(multi.status == 206)
        let boundary = String(multi.header("Content-Type")!.split(separator: "=", maxSplits: 1)[1])
        let parts = Multipart.split(multi.body, boundary: boundary)
        #expect(parts.map(\.body) == [Array(full[0...4]), Array(full[2_000_000...2_000_004])])
    }

    @Test(arguments: Listener.everyProtocol) func unknownExtensionlessPathsFallBackToTheEntryPoint(_ via: Listener) throws {
        let c = try h.client(via)
        let spa = try c.get("/settings/profile")
        #expect(spa.status == 200)
        #expect(spa.body == h.files["/index.html"])
        #expect(try c.get("/missing.js").status == 404)
    }

    @Test(arguments: Listener.everyProtocol) func pathPrefixRoutingServesTheApp(_ via: Listener) throws {
        let r = try h.client(via).get("/apps/demo/robots.txt")
        #expect(r.status == 200)
        #expect(r.body == h.files["/robots.txt"])
    }

    @Test(arguments: Listener.allCases) func otherMethodsGet405WithAllow(_ via: Listener) throws {
        let c = try h.client(via)
        try c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        let r = try c.readResponse()
        #expect(r.status == 405)
        #expect(r.header("Allow") == "GET, HEAD")
        // The body was consumed: the connection still works.
        #expect(try c.get("/robots.txt").status == 200)
    }

    @Test(arguments: Listener.allCases) func pathTraversalIsNeverAnsweredWithAFile(_ via: Listener) throws {
        let attempts = [
            "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fetc/passwd",
            "/%2E%2E%5C%2E%2E%5Cetc%5Cpasswd", "/..\\..\\etc\\passwd", "/assets/%00.js",
            "/.%2e/.%2e/etc/passwd", "//etc/passwd", "/assets/../../../store/wharf.sqlite",
            "/%252e%252e/etc/passwd",
        ]
        for target in attempts {
            let c = try h.client(via)
            try c.send("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try c.readResponse()
            #expect([400, 404].contains(r.status) || r.body == h.files["/index.html"], "\(target) → \(r.status)")
            #expect(!r.text.contains("root:"), "\(target) leaked a file")
        }
    }

    @Test(arguments: Listener.allCases) func pipelinedRequestsAreAnsweredInOrder(_ via: Listener) throws {
        let c = try h.client(via)
        let paths = ["/robots.txt", "/assets/logo.9c8d7e6f.png", "/missing.png", "/robots.txt", "/downloads/app-release.apk", "/"]
        try c.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n" }.joined())
        for path in paths {
            let r = try c.readResponse()
            if path == "/missing.png" {
                #expect(r.status == 404)
            } else {
                #expect(r.status == 200)
                #expect(r.body == (path == "/" ? h.files["/index.html"] : h.files[path]), "\(path)")
            }
        }
    }

    @Test(arguments: Listener.allCases) func aThousandPipelinedRequestsInOneBurstAreAllAnswered(_ via: Listener) throws {
        // More than the 64 responses a connection queues before it pauses reading: the rest of the
        // burst (several TLS records over TLS) must wait, not be lost.
        let c = try h.client(via)
        try c.send(String(repeating: "GET /robots.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n", count: 1000))
        var ok = 0
        for _ in 0..<1000 {
            let r = try c.readResponse()
            if r.status == 200 && r.body == h.files["/robots.txt"] { ok += 1 }
        }
        #expect(ok == 1000)
    }

    @Test(arguments: Listener.everyProtocol) func oneConnectionServesAThousandRequests(_ via: Listener) throws {
        let c = try h.client(via)
        for i in 0..<1000 {
            let r = try c.get(i % 2 == 0 ? "/robots.txt" : "/assets/style.5e6f7a8b.css", headers: ["Accept-Encoding": "br"])
            #expect(r.status == 200)
        }
    }

    @Test(arguments: Listener.allCases) func http10ClosesUnlessKeepAliveIsAsked(_ via: Listener) throws {
        let c = try h.client(via)
        try c.send("GET /robots.txt HTTP/1.0\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(try c.isClosedByServer())
        let k = try h.client(via)
        try k.send("GET /robots.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let r2 = try k.readResponse()
        #expect(r2.header("Connection")?.lowercased() == "keep-alive")
        #expect(try k.get("/robots.txt", version: "1.0").status == 200)
    }

    @Test(arguments: Listener.allCases) func malformedRequestsGet400AndTheConnectionCloses(_ via: Listener) throws {
        for bad in [
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            "GARBAGE\r\n\r\n",
        ] {
            let c = try h.client(via)
            try c.send(bad)
            let r = try c.readResponse()
            #expect(r.status == 400, "\(bad.debugDescription)")
            #expect(r.header("Connection") == "close")
        }
        let noHost = try h.client(via)
        try noHost.send("GET / HTTP/1.1\r\n\r\n")
        #expect(try noHost.readResponse().status == 400)
    }

    @Test(arguments: Listener.allCases) func aLongRequestLineGets414AndHugeHeadersGet431(_ via: Listener) throws {
        let c = try h.client(via)
        try c.send("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.readResponse().status == 414)
        let d = try h.client(via)
        try d.send("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<200).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        #expect(try d.readResponse().status == 431)
        let e = try h.client(via)
        try e.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 70_000))\r\n\r\n")
        #expect(try e.readResponse().status == 431)
    }

    @Test(arguments: Listener.allCases) func twoHundredConcurrentClientsEachVerifyFiftyResponses(_ via: Listener) throws {
        let h = self.h
        let expected = h.files.mapValues { EdgeHarness.sha256($0) }
        let paths = ["/robots.txt", "/assets/logo.9c8d7e6f.png", "/assets/app.1a2b3c4d.js", "/assets/style.5e6f7a8b.css", "/index.html"]
        let bad = ConcurrentClients.run(count: 200) { client in
            guard let c = try? h.client(via) else { return 50 }
            var bad = 0
            for i in 0..<50 {
                let path = paths[(client + i) % paths.count]
                guard let r = try? c.get(path, headers: ["Accept-Encoding": "identity"]) else { return bad + 50 - i }
                if r.status != 200 || EdgeHarness.sha256(r.body) != expected[path] { bad += 1 }
            }
            return bad
        }
        #expect(bad == 0)
    }
}

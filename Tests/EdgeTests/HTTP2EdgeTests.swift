import Foundation
import Glibc
import HTTP2
import Synchronization
import Testing
import WharfTestSupport

@testable import Edge

/// HTTP/2 on the TLS listener (ALPN h2) seen by real clients: curl, nghttp (nghttp2's own client),
/// Python's h2 package, and hostile clients built from raw frames (Tests/Support/h2-hostile.py)
/// for every limit: rapid reset, PING and SETTINGS floods, CONTINUATION floods, HPACK bombs, too
/// many streams, a bad preface and a zero window. After each attack the edge still answers a
/// polite client. (The HTTP semantics cases run over h2 too: see `EdgeServerTests`.)
@Suite(.serialized) struct HTTP2EdgeTests {
    static let shared: EdgeHarness = try! EdgeHarness(tls: true)
    var h: EdgeHarness { HTTP2EdgeTests.shared }

    static var support: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Support")
    }

    /// Runs `h2-hostile.py MODE [ARG]` against `harness` and returns its JSON summary.
    static func hostile(_ harness: EdgeHarness, _ mode: String, _ arg: String? = nil, timeout: Int = 10) throws -> [String: Any] {
        var arguments = [
            "python3", support.appendingPathComponent("h2-hostile.py").path, "--port", "\(harness.tlsPort)",
            "--ca", harness.caFile!, "--timeout", "\(timeout)", mode,
        ]
        if let arg { arguments.append(arg) }
        let r = try Command.run(arguments, timeoutSeconds: Double(timeout + 20))
        let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw HTTP2TestConnection.Failure(description: "h2-hostile.py \(mode): \(r.stdout) \(r.stderr)")
        }
        return object
    }

    /// Runs `h2-client.py` in one of its measuring modes.
    static func client(_ harness: EdgeHarness, _ arguments: [String]) throws -> [String: Any] {
        let r = try Command.run(
            [
                "python3", support.appendingPathComponent("h2-client.py").path, "--port", "\(harness.tlsPort)",
                "--ca", harness.caFile!,
            ] + arguments, timeoutSeconds: 60)
        guard let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw HTTP2TestConnection.Failure(description: "h2-client.py: \(r.stdout) \(r.stderr)")
        }
        return object
    }

    /// A polite request after an attack: the loop is still serving.
    func stillServes() throws {
        let r = try TestClient(http2Port: h.tlsPort, caFile: h.caFile!).get("/assets/style.5e6f7a8b.css", headers: ["Accept-Encoding": "identity"])
        #expect(r.status == 200)
        #expect(r.body == h.files["/assets/style.5e6f7a8b.css"])
    }

    @Test func curlNegotiatesH2AndNghttpSeesThe103BeforeThe200OnTheSameStream() throws {
        let file = h.root.appendingPathComponent("h2-curl-body").path
        let r = try Command.run([
            "curl", "-sS", "--http2", "--cacert", h.caFile!, "-H", "Accept-Encoding: identity", "-o", file,
            "-w", "%{http_code} %{http_version}", "https://localhost:\(h.tlsPort)/downloads/app-release.apk",
        ])
        #expect(r.stdout == "200 2", "\(r.stderr)")
        #expect(
            EdgeHarness.sha256(try [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
                == EdgeHarness.sha256(h.files["/downloads/app-release.apk"]!))
        // A client offering only http/1.1 still gets it.
        let old = try Command.run([
            "curl", "-sS", "--http1.1", "--cacert", h.caFile!, "-o", "/dev/null", "-w", "%{http_version}",
            "https://localhost:\(h.tlsPort)/",
        ])
        #expect(old.stdout == "1.1")
        // nghttp (nghttp2's client) prints every frame: the 103 with its Link fields, then the 200, on stream 13.
        let trace = try Command.run(["nghttp", "-nv", "--no-verify-peer", "https://localhost:\(h.tlsPort)/"]).stdout
        let interim = try #require(trace.range(of: ":status: 103"), "\(trace)")
        let final = try #require(trace.range(of: ":status: 200"), "\(trace)")
        #expect(interim.lowerBound < final.lowerBound)
        #expect(trace.contains("link: </assets/app.1a2b3c4d.js>; rel=modulepreload"))
        #expect(trace.contains("The negotiated protocol: h2"))
    }

    @Test func aHundredConcurrentStreamsOnOneConnectionEachHashVerifyTheirBody() throws {
        // Every size class: cached small files, and a 3 MiB file read from its blob file (in 4 of the streams).
        let paths =
            Array(
                repeating: [
                    "/index.html", "/assets/app.1a2b3c4d.js", "/assets/style.5e6f7a8b.css", "/assets/logo.9c8d7e6f.png",
                    "/robots.txt",
                ], count: 5
            ).flatMap { $0 } + ["/downloads/app-release.apk"]
        let result = try Self.client(h, ["--concurrent", "100"] + paths)
        let streams = try #require(result["streams"] as? [[String: Any]])
        #expect(streams.count == 100)
        for stream in streams {
            let path = stream["path"] as? String ?? ""
            #expect(stream["status"] as? Int == 200, "\(path)")
            #expect(stream["sha256"] as? String == EdgeHarness.sha256(h.files[path] ?? []), "\(path)")
        }
        #expect(result["max_concurrent_streams"] as? Int == 100)
    }

    @Test func aSmallWindowForcesManyWindowUpdatesAndTheBodyIsStillExact() throws {
        let path = "/assets/app.1a2b3c4d.js"
        let result = try Self.client(h, ["--window", "1024", path])
        #expect(result["status"] as? Int == 200)
        #expect(result["sha256"] as? String == EdgeHarness.sha256(h.files[path]!))
        let size = h.files[path]!.count
        #expect((result["data_frames"] as? Int ?? 0) >= size / 1024, "\(result)")
        #expect((result["window_updates"] as? Int ?? 0) >= size / 1024, "\(result)")
    }

    @Test func aBigDownloadAskedFirstDoesNotHoldBackThePagesSmallFiles() throws {
        // One write: the 3 MiB APK first, then the page's CSS, JS and HTML, with windows wide open.
        // RFC 9218 defaults: HTML 0, CSS 1, JS 2 before downloads (5); the small files end first.
        let paths = ["/downloads/app-release.apk", "/assets/style.5e6f7a8b.css", "/assets/app.1a2b3c4d.js", "/index.html"]
        let r = try Self.hostile(h, "order", paths.joined(separator: ","), timeout: 20)
        let order = try #require(r["order"] as? [String], "\(r)")
        #expect(order.count == 4, "\(r)")
        #expect(order.last == "/downloads/app-release.apk", "\(r)")
        #expect((r["data_bytes"] as? Int ?? 0) >= h.files["/downloads/app-release.apk"]!.count)
    }

    @Test func rapidResetEndsTheConnectionWithEnhanceYourCalmAfterTheBudget() throws {
        let before = h.server.metrics.http2AbuseClosures.load(ordering: .relaxed)
        let r = try Self.hostile(h, "rapid-reset", "2000")
        #expect(r["goaway"] as? Int == 0xb, "\(r)")
        #expect(r["closed"] as? Bool == true)
        // The budget (200 resets at once) stops it long before the 2000th stream.
        #expect((r["last_stream_id"] as? Int ?? .max) < 2 * 400, "\(r)")
        #expect(h.server.metrics.http2AbuseClosures.load(ordering: .relaxed) > before)
        try stillServes()
    }

    @Test(arguments: ["ping-flood", "settings-flood"])
    func controlFrameFloodsEndTheConnectionWithEnhanceYourCalm(_ mode: String) throws {
        let r = try Self.hostile(h, mode, "5000")
        #expect(r["goaway"] as? Int == 0xb, "\(r)")
        #expect(r["closed"] as? Bool == true)
        try stillServes()
    }

    @Test func aContinuationFloodEndsTheConnection() throws {
        let r = try Self.hostile(h, "continuation-flood", "100")
        #expect(r["goaway"] as? Int == 0xb, "\(r)")
        #expect(r["closed"] as? Bool == true)
        #expect(r["responses"] as? Int == 0)
        try stillServes()
    }

    @Test func hpackBombsAreRefusedPerStreamThenTheConnectionIsClosed() throws {
        // Each request decodes to 40 x 4 KB = 160 KB of fields from a few dozen bytes.
        let r = try Self.hostile(h, "hpack-bomb", "20")
        let resets = (r["resets"] as? [String: Int]) ?? [:]
        #expect(!resets.isEmpty && resets.values.allSatisfy { $0 == 0x7 }, "\(r)")
        #expect(r["responses"] as? Int == 0)
        #expect(r["goaway"] as? Int == 0xb, "\(r)")
        try stillServes()
    }

    @Test func streamsBeyondTheConcurrencyLimitAreRefusedAndTheRestAnswered() throws {
        let r = try Self.hostile(h, "streams", "150", timeout: 3)
        let resets = (r["resets"] as? [String: Int]) ?? [:]
        #expect(r["responses"] as? Int == 100, "\(r)")
        #expect(resets.count == 50 && resets.values.allSatisfy { $0 == 0x7 }, "\(r)")
        #expect(r["goaway"] is NSNull, "\(r)")
    }

    /// The session writes each request's HTTP/1.1 head into one reused buffer: requests with
    /// smaller heads after a big one must be answered by their own fields, and pseudo-headers
    /// that make no request line get 400, not a crash or a neighbour's answer.
    @Test func eachStreamIsAnsweredByItsOwnHeadWhenTheHeadBufferIsReused() throws {
        let r = try Self.hostile(h, "heads", timeout: 10)
        let streams = (r["streams"] as? [String: [String: Any]]) ?? [:]
        let js = h.files["/assets/app.1a2b3c4d.js"]!.count
        // 40 padding fields, br, and a `host` that disagrees: :authority wins, the br variant comes.
        #expect(streams["1"]?["status"] as? Int == 200, "\(r)")
        #expect(streams["1"]?["encoding"] as? String == "br", "\(r)")
        #expect((streams["1"]?["data_bytes"] as? Int ?? 0) < js, "\(r)")
        // The next request asks for identity in a shorter head: nothing of the first one's is left.
        #expect(streams["3"]?["status"] as? Int == 200, "\(r)")
        #expect(streams["3"]?["encoding"] is NSNull || streams["3"]?["encoding"] == nil, "\(r)")
        #expect(streams["3"]?["data_bytes"] as? Int == js, "\(r)")
        // CONNECT carries no :path: no request line can be written.
        #expect(streams["5"]?["status"] as? Int == 400, "\(r)")
        // Without :authority the `host` field is the host.
        #expect(streams["7"]?["status"] as? Int == 200, "\(r)")
        #expect(streams["7"]?["data_bytes"] as? Int == h.files["/robots.txt"]!.count, "\(r)")
        #expect(streams["9"]?["status"] as? Int == 200, "\(r)")
        #expect(r["goaway"] is NSNull, "\(r)")
        try stillServes()
    }

    @Test func randomFramesNeverCrashTheEdgeOrStopItServing() throws {
        // 40 connections of 200 random, well-framed frames each (seeded: a failure names its seed).
        let base = UInt64(Date().timeIntervalSince1970)
        for i in 0..<40 {
            let seed = base &+ UInt64(i)
            let r = try Self.hostile(h, "fuzz", "\(seed)", timeout: 2)
            #expect(r["sent_frames"] as? Int ?? 0 > 0, "seed \(seed): \(r)")
        }
        try stillServes()
        #expect(h.server.connectionCount() >= 0)
    }

    @Test func aBadPrefaceGetsGoAwayProtocolErrorAndAClose() throws {
        let r = try Self.hostile(h, "bad-preface")
        #expect(r["goaway"] as? Int == 0x1, "\(r)")
        #expect(r["closed"] as? Bool == true)
        try stillServes()
    }

    @Test func aZeroWindowStallIsClosedByTheSendTimeout() throws {
        let harness = try EdgeHarness(tls: true) {
            $0.sendTimeoutMs = 1_000
            $0.idleTimeoutMs = 60_000
        }
        defer { harness.stop() }
        let r = try Self.hostile(harness, "zero-window", "/assets/app.1a2b3c4d.js", timeout: 20)
        #expect(r["closed"] as? Bool == true, "\(r)")
        #expect(r["data_bytes"] as? Int == 0)
        // Closed by the send timeout (1 s, checked every 250 ms), long before the 20 s the client waits.
        #expect((r["seconds"] as? Double ?? 99) < 15, "\(r)")
    }

    @Test func aGracefulShutdownSendsGoAwayAndTheStreamInFlightFinishes() throws {
        let harness = try EdgeHarness(tls: true) { $0.drainTimeoutMs = 15_000 }
        let path = "/downloads/app-release.apk"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.support.appendingPathComponent("h2-hostile.py").path, "--port", "\(harness.tlsPort)",
            "--ca", harness.caFile!, "--timeout", "30", "drain", path,
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("waiting\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        harness.stop()  // drains: GOAWAY, then waits for the stream
        seen.append(out.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        let line = String(decoding: seen, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let r = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(r["goaway"] as? Int == 0, "\(r)")
        #expect(r["last_stream_id"] as? Int == 1, "\(r)")
        #expect(r["complete"] as? Bool == true, "\(r)")
        #expect(r["sha256"] as? String == EdgeHarness.sha256(harness.files[path]!))
    }

    @Test func cleartextH2WithPriorKnowledgeIsOffByDefaultAndWorksWhenOn() throws {
        // Off: the preface reaches the HTTP/1.1 parser, which refuses it.
        let plain = try TestClient(port: h.port)
        try plain.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        #expect(try plain.readResponse().status == 505)
        let harness = try EdgeHarness { $0.http2.cleartext = true }
        defer { harness.stop() }
        let c = try TestClient(http2Port: harness.port, caFile: nil)
        let r = try c.get("/assets/app.1a2b3c4d.js", headers: ["Accept-Encoding": "br"])
        #expect(r.status == 200)
        #expect(r.header("content-encoding") == "br")
        // HTTP/1.1 still works on the same listener.
        #expect(try TestClient(port: harness.port).get("/").status == 200)
    }

    @Test func theAdminMetricsCountHTTP2ConnectionsAndStreams() throws {
        let before = h.server.metrics.http2Streams.load(ordering: .relaxed)
        let c = try TestClient(http2Port: h.tlsPort, caFile: h.caFile!)
        for _ in 0..<5 { #expect(try c.get("/").status == 200) }
        #expect(eventually(10) { h.server.metrics.http2Streams.load(ordering: .relaxed) >= before + 5 })
        #expect(h.server.metrics.http2Connections.load(ordering: .relaxed) >= 1)
    }

    @Test func badLimitsAreRefusedByTheirKey() {
        var c = EdgeConfiguration()
        c.http2.settings.maxConcurrentStreams = 0
        c.http2.settings.resetRatePerSecond = 0
        c.http2.settings.maxHeaderListBytes = 100
        let keys = Set(c.problems().map(\.key))
        #expect(keys == ["edge.h2.max_concurrent_streams", "edge.h2.reset_rate", "edge.h2.max_header_list_bytes"])
        #expect(EdgeConfiguration().problems().isEmpty)
    }

    @Test func rateLimitsAndTheAccessLogApplyToHTTP2RequestsToo() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-h2-access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let harness = try EdgeHarness(tls: true) { c in
            c.clientLimits.enabled = true
            c.clientLimits.rate = 0.5
            c.clientLimits.burst = 2
            c.accessLog.path = log
            c.accessLog.flushMs = 50
        }
        defer { harness.stop() }
        let c = try TestClient(http2Port: harness.tlsPort, caFile: harness.caFile!)
        let statuses = try (0..<4).map { _ in try c.get("/robots.txt").status }
        #expect(statuses == [200, 200, 429, 429], "\(statuses)")
        let refused = try c.get("/robots.txt")
        #expect(refused.header("retry-after") != nil)
        #expect(refused.header("ratelimit-policy") != nil)
        #expect(eventually(10) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "\n").count > 5 })
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.allSatisfy { $0.contains("\"GET /robots.txt HTTP/2.0\"") }, "\(lines)")
        #expect(lines.filter { $0.contains("HTTP/2.0\" 429 ") }.count == 3, "\(lines)")
    }
}

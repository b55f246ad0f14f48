import Foundation
import Glibc
import Synchronization
import Testing
import WharfTestSupport

@testable import Edge

/// Line formats on their own, hostile bytes included.
@Suite struct AccessLogLineTests {
    static func request(target: String, agent: [UInt8]?, referer: [UInt8]? = nil) -> AccessLogRequest {
        var r = AccessLogRequest(unparsedFrom: "192.0.2.1")
        r.method = "GET"
        r.target = Array(target.utf8)
        r.version = "HTTP/1.1"
        r.userAgent = agent
        r.referer = referer
        r.app = "demo"
        return r
    }

    @Test func combinedLinesEscapeWhatCouldBreakALine() {
        let agent = Array("evil\" \\ agent\r\n127.0.0.1 - - [fake]".utf8) + [0xFF, 0x00]
        var out: [UInt8] = []
        AccessLogLine.combined(
            Self.request(target: "/a\"b", agent: agent), status: 200, bytes: 512, seconds: 0.0004125,
            time: Array("03/Dec/2026:13:04:05 +0000".utf8), into: &out)
        let line = String(decoding: out, as: UTF8.self)
        #expect(
            line
                == #"192.0.2.1 - - [03/Dec/2026:13:04:05 +0000] "GET /a\x22b HTTP/1.1" 200 512 "-" "evil\x22 \x5C agent\x0D\x0A127.0.0.1 - - [fake]\xFF\x00" 0.000413"#
                + "\n")
        #expect(out.filter { $0 == 0x0A }.count == 1)
    }

    @Test func jsonLinesAreValidJSONWhateverTheClientSent() throws {
        let agent = Array("quote\" backslash\\ newline\n tab\t".utf8) + [0xC3, 0x28, 0x01]
        var out: [UInt8] = []
        AccessLogLine.json(
            Self.request(target: "/x?q=\"1\"", agent: agent, referer: Array("https://a.test/".utf8)),
            status: 429, bytes: 0, seconds: 1.5, isoTime: Array("2026-12-03T13:04:05Z".utf8), into: &out)
        #expect(out.last == 0x0A && out.filter { $0 == 0x0A }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.dropLast())) as? [String: Any])
        #expect(object["status"] as? Int == 429)
        #expect(object["target"] as? String == "/x?q=\"1\"")
        #expect(object["referer"] as? String == "https://a.test/")
        #expect((object["user_agent"] as? String)?.hasPrefix("quote\" backslash\\ newline\n tab\t") == true)
        #expect(object["request_time"] as? Double == 1.5)
        #expect(object["app"] as? String == "demo")
        #expect(object["time"] as? String == "2026-12-03T13:04:05Z")
    }
}

/// The access log of a real edge: lines for real responses, rotation, and a writer that falls behind.
@Suite struct AccessLogEdgeTests {
    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func everyResponseGetsOneCombinedLine() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-access-log")
        defer { dir.remove() }
        let path = dir.path + "/access.log"
        let h = try EdgeHarness {
            $0.accessLog.path = path
            $0.accessLog.flushMs = 50
        }
        defer { h.stop() }
        let c = try TestClient(port: h.port)
        #expect(try c.get("/robots.txt", headers: ["User-Agent": "curl/8 \"quoted\"", "Referer": "https://r.test/"]).status == 200)
        #expect(try c.get("/assets/logo.9c8d7e6f.png", headers: ["Range": "bytes=0-9"]).status == 206)
        #expect(try c.get("/nope.css").status == 404)
        let bad = try TestClient(port: h.port)
        try bad.send("GET / HTTP/1.1\r\nHost: a\rx")
        #expect(try bad.readResponse().status == 400)
        #expect(eventually(5) { Self.lines(path).count == 4 })
        let lines = Self.lines(path)
        #expect(lines.count == 4)
        let pattern = #/^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "(.*)" (\d{3}) (\d+) "(.*)" "(.*)" (\d+\.\d{6})$/#
        var seen: [(String, String, String)] = []
        for line in lines {
            let m = try #require(line.wholeMatch(of: pattern), "\(line)")
            seen.append((String(m.1), String(m.2), String(m.3)))
        }
        #expect(seen.contains { $0 == ("GET /robots.txt HTTP/1.1", "200", "\(h.files["/robots.txt"]!.count)") })
        #expect(seen.contains { $0 == ("GET /assets/logo.9c8d7e6f.png HTTP/1.1", "206", "10") })
        #expect(seen.contains { $0.0 == "GET /nope.css HTTP/1.1" && $0.1 == "404" })
        #expect(seen.contains { $0 == ("-", "400", $0.2) })
        #expect(lines.contains { $0.contains(#""https://r.test/" "curl/8 \x22quoted\x22""#) })
    }

    @Test func jsonLinesAndRotationLoseNoLine() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-access-log-json")
        defer { dir.remove() }
        let path = dir.path + "/access.log"
        let h = try EdgeHarness {
            $0.accessLog.path = path
            $0.accessLog.format = .json
            $0.accessLog.flushMs = 50
        }
        defer { h.stop() }
        let c = try TestClient(port: h.port)
        for _ in 0..<10 { #expect(try c.get("/robots.txt").status == 200) }
        #expect(eventually(5) { Self.lines(path).count == 10 })
        // Rotation: rename, then what SIGUSR1 does.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        for _ in 0..<5 { #expect(try c.get("/index.html").status == 200) }
        let log = try #require(h.server.accessLog)
        log.reopen()
        #expect(eventually(5) { log.reopens.load(ordering: .relaxed) == 1 })
        for _ in 0..<5 { #expect(try c.get("/index.html").status == 200) }
        #expect(eventually(5) { Self.lines(path + ".1").count + Self.lines(path).count == 20 })
        #expect(Self.lines(path).count >= 5)
        for line in Self.lines(path + ".1") + Self.lines(path) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(object["client"] as? String == "127.0.0.1")
            #expect(object["app"] as? String == "demo")
            #expect(object["status"] as? Int == 200)
            #expect((object["request_time"] as? Double).map { $0 >= 0 && $0 < 60 } == true)
        }
        #expect(log.linesDropped.load(ordering: .relaxed) == 0)
    }

    @Test func aWriterThatFallsBehindDropsAndCountsNeverBlocks() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-access-log-drop")
        defer { dir.remove() }
        let path = dir.path + "/access.log"
        // 4 KB may wait; the writer writes every 60 s: nearly every batch is dropped.
        let h = try EdgeHarness {
            $0.accessLog.path = path
            $0.accessLog.bufferBytes = 4096
            $0.accessLog.flushMs = 60_000
        }
        let c = try TestClient(port: h.port)
        let total = 500
        for _ in 0..<total { #expect(try c.get("/robots.txt").status == 200) }
        let log = try #require(h.server.accessLog)
        #expect(eventually(5) { log.linesDropped.load(ordering: .relaxed) > 0 })
        h.stop()  // hands over what the loops hold and writes what waits
        let written = log.linesWritten.load(ordering: .relaxed)
        #expect(written + log.linesDropped.load(ordering: .relaxed) == total)
        #expect(Self.lines(path).count == written)
        #expect(written < total)
    }
}

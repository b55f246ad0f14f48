import ArtifactStore
import Foundation
import Glibc
import Synchronization
import Testing
import WharfTestSupport

/// The edge tier with real processes on loopback: an origin (`wharf edge` on its own store) and
/// tier edges (`wharf edge --origin`), each with its own replica store.
@Suite(.serialized) struct EdgeTierTests {
    /// A site with a text page, a compressible bundle, a blob-file-sized binary (served with
    /// sendfile) and a file no test requests before the origin goes away.
    static func site(_ scratch: ScratchDirectory, _ dir: String, version: String) throws -> [String: [UInt8]] {
        let files: [String: [UInt8]] = [
            "index.html": Array("<!doctype html><title>v\(version)</title><script src=app.js></script>".utf8),
            "version.txt": Array("v\(version)".utf8),
            "app.js": Bytes.text(120_000, seed: Int(version) ?? 7),
            "big.bin": Bytes.random(1_500_000, seed: 11),
            "never.bin": Bytes.random(200_000, seed: 12),
            "data.json": Bytes.text(90_000, seed: 13),
        ]
        for (name, bytes) in files { try scratch.write("\(dir)/\(name)", bytes) }
        return files
    }

    static func publish(_ scratch: ScratchDirectory, _ dir: String, store: String, version: String) throws -> String {
        let result = try WharfProcess.run(["publish", "demo", scratch.path + "/" + dir, "--store", store, "--version", version])
        guard result.status == 0, let id = result.stdout.split(separator: "\n").first else {
            throw CommandFailed("publish failed: \(result.stderr)")
        }
        return String(id)
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    /// `curl --http2-prior-knowledge`: "<http version> <status> <body bytes>".
    static func curlHTTP2(_ port: Int, _ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "curl", "-s", "--max-time", "20", "--http2-prior-knowledge", "-o", "/dev/null",
            "-w", "%{http_version} %{http_code} %{size_download}", "http://127.0.0.1:\(port)\(path)",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func deploysReachEveryEdgeWhichKeepServingWhenTheOriginDies() throws {
        let scratch = ScratchDirectory("wharf-tier")
        let files1 = try Self.site(scratch, "v1", version: "1")
        let originStore = scratch.path + "/origin"
        let first = try Self.publish(scratch, "v1", store: originStore, version: "1")
        var origin: TierNode? = try TierNode(scratch, name: "origin")
        let originAdmin = origin!.admin
        // Edge 1 also takes HTTP/2 with prior knowledge, to check the 502 over h2 too.
        var edges = try (0..<3).map {
            try TierNode(
                scratch, name: "edge\($0)", origin: originAdmin,
                environment: $0 == 1 ? ["WHARF_EDGE_H2_CLEARTEXT": "true"] : [:])
        }

        // Every edge serves v1, every byte as published (identity), and the br variant the origin built.
        for edge in edges {
            #expect(eventually(20) { (try? RawHTTP.get(edge.port, "/version.txt").text) == "v1" }, "\(edge.daemon.stderr)")
            for (name, bytes) in files1 where name != "never.bin" {
                let response = try RawHTTP.get(edge.port, "/" + name)
                #expect(response.status == 200 && response.body.sha256 == bytes.sha256, "\(name): \(response.status)")
            }
            let br = try RawHTTP.get(edge.port, "/app.js", headers: ["Accept-Encoding": "br"])
            let fromOrigin = try RawHTTP.get(origin!.port, "/app.js", headers: ["Accept-Encoding": "br"])
            #expect(br.headers["content-encoding"] == "br" && br.body == fromOrigin.body && br.headers["etag"] == fromOrigin.headers["etag"])
        }

        // Alias switches on the origin (a publish, then rollbacks back and forth): time until all three edges serve the new one.
        let files2 = try Self.site(scratch, "v2", version: "2")
        let second = try Self.publish(scratch, "v2", store: originStore, version: "2")
        var delays: [Double] = []
        for i in 0..<20 {
            let (target, text) = i % 2 == 0 ? (first, "v1") : (second, "v2")
            let started = Date()
            let switched = try CurlResponse.send(
                "POST", "http://127.0.0.1:\(originAdmin)/_wharf/api/apps/demo/rollback",
                token: TierNode.adminToken, body: #"{"to":"\#(target)"}"#)
            #expect(switched.status == 200, "\(switched.body)")
            var pending = Set(edges.indices)
            while !pending.isEmpty && Date().timeIntervalSince(started) < 10 {
                for i in pending where (try? RawHTTP.get(edges[i].port, "/version.txt").text) == text { pending.remove(i) }
                usleep(5_000)
            }
            #expect(pending.isEmpty, "switch \(i) did not reach edges \(pending)")
            delays.append(Date().timeIntervalSince(started))
        }
        let p50 = Self.percentile(delays, 0.5)
        let p99 = Self.percentile(delays, 0.99)
        print(
            String(
                format: "edge tier: alias switch reached all 3 edges: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d switches",
                p50 * 1000, p99 * 1000, (delays.max() ?? 0) * 1000, delays.count))
        #expect(p99 < 2.0)

        // Every edge fetches the current deployment (v2 after an odd number of switches), checked byte for byte.
        for edge in edges {
            #expect(try RawHTTP.get(edge.port, "/version.txt").text == "v2")
            for (name, bytes) in files2 where name != "never.bin" {
                let response = try RawHTTP.get(edge.port, "/" + name)
                #expect(response.status == 200 && response.body.sha256 == bytes.sha256, "\(name): \(response.status)")
            }
        }

        // The origin dies: what each edge has is still served, byte for byte; what none fetched is a 502.
        let current = try RawHTTP.get(edges[0].port, "/version.txt").text
        #expect(origin!.daemon.stop(SIGKILL) != nil)
        origin = nil
        for edge in edges {
            for _ in 0..<3 {
                for name in ["index.html", "app.js", "big.bin", "version.txt"] {
                    let response = try RawHTTP.get(edge.port, "/" + name)
                    #expect(response.status == 200, "\(name) with the origin down: \(response.status)")
                }
                #expect(try RawHTTP.get(edge.port, "/big.bin").body.sha256 == files1["big.bin"]!.sha256)
            }
            let never = try RawHTTP.get(edge.port, "/never.bin")
            #expect(never.status == 502, "a blob never fetched: \(never.status)")
            #expect(never.body.count < 100, "an error body, not a part of the blob")
        }
        let h2 = try Self.curlHTTP2(edges[1].port, "/never.bin")
        #expect(h2.hasPrefix("2 502"), "over HTTP/2: \(h2)")
        #expect(try Self.curlHTTP2(edges[1].port, "/big.bin").hasPrefix("2 200"))

        // An edge restarted while the origin is down serves what its disk holds.
        #expect(edges[0].daemon.stop() == 0)
        edges[0] = try TierNode(scratch, name: "edge0", origin: originAdmin)
        #expect(try RawHTTP.get(edges[0].port, "/version.txt").text == current)
        let big = try RawHTTP.get(edges[0].port, "/big.bin")
        #expect(big.status == 200 && big.body.sha256 == files1["big.bin"]!.sha256)
        #expect(try RawHTTP.get(edges[0].port, "/never.bin").status == 502)

        // The origin returns (same store, same admin port): the edges catch up and fetch what they lacked.
        origin = try TierNode(scratch, name: "origin", adminPort: originAdmin)
        let files3 = try Self.site(scratch, "v3", version: "3")
        _ = try Self.publish(scratch, "v3", store: originStore, version: "3")
        let entry3 = files3["index.html"]!.sha256
        for edge in edges {
            // The new entry point is fetched before anyone asks for it.
            #expect(
                eventually(20) { FileManager.default.fileExists(atPath: edge.store + "/blobs/\(entry3.prefix(2))/\(entry3.dropFirst(2))") },
                "the v3 entry point was not prefetched")
            #expect(eventually(20) { (try? RawHTTP.get(edge.port, "/version.txt").text) == "v3" }, "edge did not catch up")
            #expect(eventually(10) { (try? RawHTTP.get(edge.port, "/never.bin"))?.status == 200 })
            #expect(try RawHTTP.get(edge.port, "/never.bin").body.sha256 == files1["never.bin"]!.sha256)
        }
        for edge in edges { _ = edge.daemon.stop() }
        _ = origin?.daemon.stop()
    }

    @Test func anHTTPSOriginIsVerifiedBeforeAnythingIsTrusted() throws {
        let scratch = ScratchDirectory("wharf-tier-tls")
        let files = try Self.site(scratch, "v1", version: "1")
        _ = try Self.publish(scratch, "v1", store: scratch.path + "/origin", version: "1")
        // The origin's admin API over TLS with its development certificate (localhost, 127.0.0.1, ::1).
        let origin = try TierNode(
            scratch, name: "origin",
            environment: [
                "WHARF_EDGE_TLS_ENABLED": "true", "WHARF_EDGE_TLS_LISTEN": "127.0.0.1:0", "WHARF_EDGE_ADMIN_TLS": "true",
            ])
        let ca = origin.store + "/tls/ca.pem"
        #expect(FileManager.default.fileExists(atPath: ca))
        let edge = try TierNode(
            scratch, name: "edge", originURL: "https://localhost:\(origin.admin)",
            environment: ["WHARF_EDGE_TIER_CA_FILE": ca])
        #expect(eventually(20) { (try? RawHTTP.get(edge.port, "/version.txt").text) == "v1" }, "\(edge.daemon.stderr)")
        for name in ["big.bin", "app.js", "never.bin"] {
            let response = try RawHTTP.get(edge.port, "/" + name)
            #expect(response.status == 200 && response.body.sha256 == files[name]!.sha256, "\(name): \(response.status)")
        }
        // An edge that does not trust the origin's CA gets nothing from it (and sends no token).
        let untrusting = try TierNode(scratch, name: "untrusting", originURL: "https://localhost:\(origin.admin)")
        #expect(eventually(10) { ((try? untrusting.metric("wharf_tier_sync_failures_total")) ?? 0) >= 1 })
        #expect(try RawHTTP.get(untrusting.port, "/version.txt").status == 404)
        #expect(untrusting.daemon.stderr.contains("TLS handshake"), "\(untrusting.daemon.stderr)")
        _ = untrusting.daemon.stop()
        _ = edge.daemon.stop()
        _ = origin.daemon.stop()
    }

    @Test func twoHundredClientsOnAColdEdgeCauseOneOriginFetchPerBlob() throws {
        let scratch = ScratchDirectory("wharf-tier-cold")
        _ = try Self.site(scratch, "v1", version: "1")
        _ = try Self.publish(scratch, "v1", store: scratch.path + "/origin", version: "1")
        let origin = try TierNode(scratch, name: "origin")
        let edge = try TierNode(scratch, name: "edge", origin: origin.admin)
        #expect(eventually(20) { (try? edge.metric("wharf_tier_origin_generation")) ?? -1 >= 0 })
        // The entry point and what it preloads are prefetched after the import: let that finish.
        var settled = -1.0
        #expect(
            eventually(10, every: 0.5) {
                let now = (try? edge.metric("wharf_tier_fetches_total")) ?? -1
                defer { settled = now }
                return now > 0 && now == settled
            })
        let before = try origin.metric("wharf_replica_blob_requests_total")
        let fetchesBefore = try edge.metric("wharf_tier_fetches_total")

        // 200 connections open at once, then 200 requests sent back to back, then read (files the
        // entry point does not name, so nothing prefetched them).
        let asks: [(String, String)] = [
            ("/big.bin", "identity"), ("/data.json", "br"), ("/data.json", "gzip"), ("/data.json", "identity"), ("/never.bin", "identity"),
        ]
        var sockets: [(Int32, Int)] = []
        for i in 0..<200 { sockets.append((try RawHTTP.connect(edge.port), i % asks.count)) }
        for (fd, ask) in sockets { RawHTTP.send(fd, RawHTTP.request(asks[ask].0, headers: ["Accept-Encoding": asks[ask].1])) }
        var served = Set<String>()
        var bodies: [String: String] = [:]
        for (fd, ask) in sockets {
            let response = try RawHTTP.read(fd)
            #expect(response.status == 200)
            let key = "\(asks[ask].0) \(response.headers["content-encoding"] ?? "identity")"
            served.insert(key)
            if let seen = bodies[key] { #expect(seen == response.body.sha256, "\(key): two different bodies") }
            bodies[key] = response.body.sha256
        }
        // Each distinct representation is one blob, fetched once.
        let fetched = try origin.metric("wharf_replica_blob_requests_total") - before
        #expect(Int(fetched) == served.count, "origin served \(fetched) blobs for \(served.sorted())")
        #expect(try edge.metric("wharf_tier_fetches_total") - fetchesBefore == Double(served.count))
        #expect(served.count == 5, "\(served.sorted())")
        // And every body is the origin's own.
        for key in served {
            let parts = key.split(separator: " ")
            let direct = try RawHTTP.get(origin.port, String(parts[0]), headers: ["Accept-Encoding": String(parts[1])])
            #expect(direct.body.sha256 == bodies[key], "\(key)")
        }
        _ = edge.daemon.stop()
        _ = origin.daemon.stop()
    }

    @Test func aBlobCorruptedInFlightIsRefusedAndFetchedAgainCleanly() throws {
        let scratch = ScratchDirectory("wharf-tier-proxy")
        var files = try Self.site(scratch, "v1", version: "1")
        for i in 0..<30 {
            files["s\(i).bin"] = Bytes.random(5000, seed: 900 + UInt64(i))
            try scratch.write("v1/s\(i).bin", files["s\(i).bin"]!)
        }
        _ = try Self.publish(scratch, "v1", store: scratch.path + "/origin", version: "1")
        let origin = try TierNode(scratch, name: "origin")
        let proxy = try TierProxy(upstream: origin.admin)
        defer { proxy.stop() }
        // A response cache too small for app.js: each of its requests reads the disk on the thread pool.
        let edge = try TierNode(
            scratch, name: "edge", origin: proxy.port, cacheBytes: 65536,
            environment: ["WHARF_EDGE_TIER_FETCH_TIMEOUT_MS": "3000"])
        #expect(eventually(20) { (try? RawHTTP.get(edge.port, "/version.txt").text) == "v1" })

        // (Files the entry point does not name: app.js may already be on disk, prefetched.)
        proxy.set(.corrupt)
        for name in ["big.bin", "data.json", "big.bin"] {
            let response = try RawHTTP.get(edge.port, "/" + name)
            #expect(response.status == 502, "\(name) corrupted in flight: \(response.status)")
            #expect(response.body.sha256 != files[name]!.sha256 && response.body.count < 100)
        }
        #expect(proxy.corrupted.load(ordering: .relaxed) >= 3)
        #expect(try edge.metric("wharf_tier_fetch_failures_total", label: #"{reason="mismatch"}"#) >= 3)
        #expect(
            !FileManager.default.fileExists(
                atPath: edge.store + "/blobs/" + String(files["big.bin"]!.sha256.prefix(2)) + "/" + String(files["big.bin"]!.sha256.dropFirst(2))))

        // A stalled origin: 504 within the fetch timeout, and what the edge holds on disk is still
        // served while 30 requests for blobs it lacks wait or are turned away.
        proxy.set(.stall)
        let started = Date()
        #expect(try RawHTTP.get(edge.port, "/never.bin").status == 504)
        #expect(Date().timeIntervalSince(started) < 4.5)
        proxy.set(.pass)
        #expect(eventually(5) { (try? RawHTTP.get(edge.port, "/app.js"))?.status == 200 })
        proxy.set(.stall)
        var waiting: [Int32] = []
        for i in 0..<30 {
            let fd = try RawHTTP.connect(edge.port)
            RawHTTP.send(fd, RawHTTP.request("/s\(i).bin"))
            waiting.append(fd)
        }
        usleep(100_000)
        let diskStarted = Date()
        let onDisk = try RawHTTP.get(edge.port, "/app.js")
        let diskSeconds = Date().timeIntervalSince(diskStarted)
        #expect(onDisk.status == 200 && onDisk.body.sha256 == files["app.js"]!.sha256)
        print(String(format: "edge tier: a disk-held body while 30 fetches stall: %.0f ms", diskSeconds * 1000))
        // Blocked behind the stalled fetches it would take about the 3 s fetch timeout.
        #expect(diskSeconds < 1.5, "a disk-held body took \(diskSeconds) s while the origin stalled")
        for fd in waiting {
            let response = try RawHTTP.read(fd)
            #expect(response.status == 504 || response.status == 502, "\(response.status)")
        }

        // Healed: the next fetch after the short backoff a timeout starts (100 ms up to 1.6 s) is clean.
        proxy.set(.pass)
        #expect(eventually(5) { (try? RawHTTP.get(edge.port, "/big.bin"))?.status == 200 })
        for name in ["big.bin", "data.json", "never.bin"] {
            let response = try RawHTTP.get(edge.port, "/" + name)
            #expect(response.status == 200 && response.body.sha256 == files[name]!.sha256, "\(name) after the proxy healed: \(response.status)")
        }
        _ = edge.daemon.stop()
        _ = origin.daemon.stop()
    }

    @Test func theDiskBudgetHoldsUnderAWorkingSetThreeTimesItsSize() throws {
        let scratch = ScratchDirectory("wharf-tier-disk")
        var files: [String: [UInt8]] = [:]
        for i in 0..<30 {
            files["f\(i).bin"] = Bytes.random(100_000, seed: 500 + UInt64(i))
            try scratch.write("site/f\(i).bin", files["f\(i).bin"]!)
        }
        _ = try WharfProcess.run(["publish", "demo", scratch.path + "/site", "--store", scratch.path + "/origin"])
        let origin = try TierNode(scratch, name: "origin")
        let budget = 1 << 20
        // A response cache too small for these bodies: every request reads the disk or fetches.
        let edge = try TierNode(
            scratch, name: "edge", origin: origin.admin, cacheBytes: 65536,
            environment: ["WHARF_EDGE_TIER_DISK_BYTES": String(budget)])
        #expect(eventually(20) { (try? RawHTTP.get(edge.port, "/f0.bin").status) == 200 })
        func onDisk() throws -> Int {
            var total = 0
            let root = edge.store + "/blobs"
            for prefix in try FileManager.default.contentsOfDirectory(atPath: root) {
                for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix) {
                    total += (try FileManager.default.attributesOfItem(atPath: root + "/" + prefix + "/" + name)[.size] as? Int) ?? 0
                }
            }
            return total
        }
        for round in 0..<2 {
            for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
                let response = try RawHTTP.get(edge.port, "/" + name)
                #expect(response.status == 200 && response.body.sha256 == bytes.sha256, "round \(round) \(name)")
                #expect(try onDisk() <= budget)
            }
        }
        #expect(try edge.metric("wharf_tier_disk_evictions_total") >= 40)
        #expect(try edge.metric("wharf_tier_disk_bytes") <= Double(budget))
        _ = edge.daemon.stop()
        _ = origin.daemon.stop()
    }
}

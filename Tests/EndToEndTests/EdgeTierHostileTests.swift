import ArtifactStore
import Foundation
import Glibc
import Synchronization
import Testing
import WharfTestSupport

/// Hostile input on both sides of the edge tier: bad hashes and tokens on the origin's replica
/// routes, and a malicious origin (malformed or inconsistent state documents, oversized and
/// wrong-hash blobs) that a tier edge refuses while it stays up and keeps its state.
@Suite(.serialized) struct EdgeTierHostileTests {
    @Test func theReplicaRoutesCheckTokensAndHashes() throws {
        let scratch = ScratchDirectory("wharf-tier-routes")
        let files = try EdgeTierTests.site(scratch, "v1", version: "1")
        _ = try EdgeTierTests.publish(scratch, "v1", store: scratch.path + "/origin", version: "1")
        let origin = try TierNode(scratch, name: "origin")
        defer { _ = origin.daemon.stop() }
        let api = "http://127.0.0.1:\(origin.admin)/_wharf/api/replica"
        let hash = files["big.bin"]!.sha256
        for path in ["/state", "/events", "/blobs/\(hash)"] {
            for token in [nil, "", "wrong", TierNode.readToken + "x", String(TierNode.readToken.dropLast()), "Bearer " + TierNode.readToken] {
                let response = try CurlResponse.send("GET", api + path, token: token)
                #expect(response.status == 401, "\(path) with \(token ?? "no token"): \(response.status)")
            }
        }
        // The read token and the admin token both read.
        for token in [TierNode.readToken, TierNode.adminToken] {
            let state = try CurlResponse.send("GET", api + "/state", token: token)
            #expect(state.status == 200)
            let document = try JSONDecoder().decode(ReplicaState.self, from: Data(state.body.utf8))
            #expect(document.aliases.map(\.app) == ["demo"] && document.blobs.contains { $0.hash == hash })
        }
        let blob = try RawHTTPAuth.get(origin.admin, "/_wharf/api/replica/blobs/\(hash)", token: TierNode.readToken)
        #expect(blob.status == 200 && blob.body.sha256 == hash)
        // Inline (small) blobs are served too.
        let small = files["version.txt"]!.sha256
        #expect(try RawHTTPAuth.get(origin.admin, "/_wharf/api/replica/blobs/\(small)", token: TierNode.readToken).body == files["version.txt"]!)

        for bad in [
            String(hash.prefix(63)), hash + "0", hash.uppercased(), String(repeating: "g", count: 64), "..%2F..%2Fstore.sqlite",
            "%00" + String(hash.dropFirst(3)), String(repeating: "a", count: 5000),
        ] {
            let response = try RawHTTPAuth.get(origin.admin, "/_wharf/api/replica/blobs/\(bad)", token: TierNode.readToken)
            #expect([400, 404, 414].contains(response.status), "\(bad.prefix(80)): \(response.status)")
            #expect(response.status != 404 || !ContentHash.isValidHex(bad))
        }
        let unknown = try RawHTTPAuth.get(origin.admin, "/_wharf/api/replica/blobs/" + String(repeating: "0", count: 64), token: TierNode.readToken)
        #expect(unknown.status == 404)
        // Read-only: the read token changes nothing.
        let rollback = try CurlResponse.send(
            "POST", "http://127.0.0.1:\(origin.admin)/_wharf/api/apps/demo/rollback", token: TierNode.readToken, body: "{}")
        #expect(rollback.status == 401)
        #expect(
            try origin.metric("wharf_replica_refused_total") == 12,
            "4 wrong bearer tokens on 3 routes (no token at all is refused before the handler)")
    }

    @Test func badTierSettingsAreRefusedBeforeAnythingStarts() throws {
        let scratch = ScratchDirectory("wharf-tier-config")
        let checked = try WharfProcess.run(
            ["check-config", "--store", scratch.path + "/s"],
            environment: [
                "WHARF_EDGE_TIER_ORIGIN": "ftp://origin:8081", "WHARF_EDGE_TIER_DISK_BYTES": "5",
                "WHARF_EDGE_TIER_CA_FILE": scratch.path + "/missing-ca.pem",
                "WHARF_EDGE_TIER_FETCH_TIMEOUT_MS": "0", "WHARF_EDGE_TIER_MAX_FETCHES": "100000", "WHARF_EDGE_TIER_FULL_CHECK_MS": "1",
            ])
        #expect(checked.status != 0)
        for key in [
            "edge.tier.origin", "edge.tier.ca_file", "edge.tier.disk_bytes", "edge.tier.fetch_timeout_ms", "edge.tier.max_fetches",
            "edge.tier.full_check_ms",
        ] {
            #expect(checked.stderr.contains(key + ":") || checked.stdout.contains(key + ":"), "\(key) not reported: \(checked.stderr)")
        }
        for origin in ["http://x:1/a b", "http://user@origin:1", "http://origin:70000", "file:///etc/passwd"] {
            let edge = try WharfProcess.run(
                [
                    "edge", "--origin", origin, "--store", scratch.path + "/s", "--listen", "127.0.0.1:0",
                    "--admin-listen", "127.0.0.1:0",
                ], environment: ["WHARF_ORIGIN_TOKEN": "t"])
            #expect(edge.status != 0 && edge.stderr.contains("edge.tier.origin"), "\(origin): \(edge.stderr)")
        }
        // An origin's own store given to a tier edge by mistake is refused and left as it was.
        try scratch.write("site/index.html", "<p>mine</p>")
        let published = try WharfProcess.run(["publish", "demo", scratch.path + "/site", "--store", scratch.path + "/mine"])
        #expect(published.status == 0)
        let misplaced = try WharfProcess.run(
            [
                "edge", "--origin", "http://127.0.0.1:1", "--store", scratch.path + "/mine", "--listen", "127.0.0.1:0",
                "--admin-listen", "127.0.0.1:0",
            ], environment: ["WHARF_ORIGIN_TOKEN": "t"])
        #expect(misplaced.status != 0 && misplaced.stderr.contains("did not make"), "\(misplaced.stderr)")
        let listed = try WharfProcess.run(["deployments", "demo", "--store", scratch.path + "/mine"])
        #expect(listed.status == 0 && listed.stdout.contains("*"), "\(listed.stdout)")

        // No token for the origin: refused with where to put one, and nothing listens.
        let tokenless = try WharfProcess.run(
            [
                "edge", "--origin", "http://127.0.0.1:1", "--store", scratch.path + "/s",
                "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            ], environment: ["WHARF_ORIGIN_TOKEN": ""])
        #expect(tokenless.status != 0 && tokenless.stderr.contains("WHARF_ORIGIN_TOKEN"), "\(tokenless.stderr)")
        #expect(!tokenless.stderr.contains("edge listening"))
    }

    /// A malicious origin built from a real store's state: it can be switched to answer the edge
    /// with a malformed document, an inconsistent one, a huge one, or blobs of the wrong bytes.
    final class MaliciousOrigin: Sendable {
        enum Mode: Int { case honest, malformedJSON, inconsistent, hugeLength, badEvent, endlessEventLine, wrongBlob, oversizedBlob }
        final class ModeBox: Sendable { let value = Atomic<Int>(Mode.honest.rawValue) }
        let store: Store
        let mode = ModeBox()
        let server: ScriptedOrigin

        init(store: Store) throws {
            self.store = store
            let mode = self.mode
            server = try ScriptedOrigin { path in
                let current = Mode(rawValue: mode.value.load(ordering: .relaxed)) ?? .honest
                if path.hasSuffix("/replica/events") {
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                    if current == .badEvent { return .init(bytes: Array((head + "event: generation\ndata: 12abc\n\n").utf8), hang: true) }
                    if current == .endlessEventLine {
                        return .init(bytes: Array((head + "data: " + String(repeating: "9", count: 10_000)).utf8), hang: true)
                    }
                    let generation = (try? store.aliasGeneration()) ?? 0
                    let bump = current == .honest ? 0 : 1000 + Int64(mode.value.load(ordering: .relaxed))
                    return .init(
                        bytes: Array(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nevent: generation\ndata: \(generation + bump)\n\n".utf8),
                        hang: true)
                }
                if path.hasSuffix("/replica/state") {
                    guard var state = try? store.replicaState() else { return .init(bytes: []) }
                    switch current {
                    case .malformedJSON:
                        return .init(bytes: ScriptedOrigin.ok(Array(#"{"format":1,"generation":5,"aliases":[{"app":"demo""#.utf8)))
                    case .inconsistent:
                        state.generation += 1000
                        state.aliases = [ReplicaState.Alias(app: "demo", deployment: "not-listed")]
                        return .init(bytes: ScriptedOrigin.ok(Array((try? JSONEncoder().encode(state)) ?? Data())))
                    case .hugeLength:
                        return .init(bytes: Array("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{".utf8))
                    default:
                        return .init(bytes: ScriptedOrigin.ok(Array((try? JSONEncoder().encode(state)) ?? Data())))
                    }
                }
                let hash = String(path.split(separator: "/").last ?? "")
                guard ContentHash.isValidHex(hash), let body = try? store.body(hash: hash) else {
                    return .init(bytes: Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8))
                }
                var bytes: [UInt8]
                switch body {
                case .bytes(let b): bytes = b
                case .file(let p, _, _): bytes = Array(FileManager.default.contents(atPath: p) ?? Data())
                }
                if current == .wrongBlob { bytes[bytes.count / 2] ^= 1 }
                if current == .oversizedBlob { bytes += Array(repeating: 0, count: 4 << 20) }
                return .init(bytes: ScriptedOrigin.chunked(bytes, piece: 16384))
            }
        }

        func set(_ m: Mode) { mode.value.store(m.rawValue, ordering: .relaxed) }
    }

    @Test func anEdgeRefusesAMaliciousOriginStaysUpAndKeepsItsState() throws {
        let scratch = ScratchDirectory("wharf-tier-malicious")
        let files = try EdgeTierTests.site(scratch, "v1", version: "1")
        let store = try Store.open(at: scratch.path + "/origin")
        try store.publish(PublishRequest(app: "demo", directory: scratch.path + "/v1", version: "1"))
        let origin = try MaliciousOrigin(store: store)
        defer { origin.server.stop() }
        let edge = try TierNode(scratch, name: "edge", origin: origin.server.port)
        defer { _ = edge.daemon.stop() }
        #expect(eventually(20) { (try? RawHTTP.get(edge.port, "/version.txt").text) == "v1" })
        #expect(try RawHTTP.get(edge.port, "/app.js").body.sha256 == files["app.js"]!.sha256)

        for mode in [MaliciousOrigin.Mode.malformedJSON, .inconsistent, .hugeLength, .badEvent, .endlessEventLine] {
            let failures = try edge.metric("wharf_tier_sync_failures_total")
            origin.set(mode)
            #expect(eventually(15) { ((try? edge.metric("wharf_tier_sync_failures_total")) ?? 0) > failures }, "\(mode)")
            #expect(edge.daemon.process.isRunning)
            #expect(try RawHTTP.get(edge.port, "/version.txt").text == "v1", "\(mode): the old state is kept")
            #expect(try RawHTTP.get(edge.port, "/index.html").status == 200)
            origin.set(.honest)
        }
        #expect(try edge.metric("wharf_tier_refused_states_total") >= 2)

        // Blobs of the wrong bytes or over their size: 502, never served, fetched correctly later.
        for mode in [MaliciousOrigin.Mode.wrongBlob, .oversizedBlob] {
            origin.set(mode)
            let response = try RawHTTP.get(edge.port, "/never.bin")
            #expect(response.status == 502, "\(mode): \(response.status)")
            #expect(response.body.count < 100)
        }
        origin.set(.honest)
        let healed = try RawHTTP.get(edge.port, "/never.bin")
        #expect(healed.status == 200 && healed.body.sha256 == files["never.bin"]!.sha256)
        #expect(edge.daemon.process.isRunning)
    }
}

/// `RawHTTP.get` with a bearer token (the replica routes).
enum RawHTTPAuth {
    static func get(_ port: Int, _ path: String, token: String) throws -> RawHTTP.Response {
        try RawHTTP.get(port, path, headers: ["Authorization": "Bearer \(token)"])
    }
}

import Compression
import Crypto
import Dispatch
import Foundation
import Synchronization
import Testing
import UVLoop

@testable import WharfLoad

/// A small HTTP/1.1 peer on loopback serving a TestFixture: ETags, 304, ranges, gzip, 103 Early
/// Hints before HTML. `corrupt` flips one byte of every JS body.
private final class PeerServer: @unchecked Sendable {
    let listener: TCPListener
    init(loop: EventLoop, fixture: TestFixture, corrupt: Bool) throws {
        let contents = fixture.contents
        listener = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
            var pending: [UInt8] = []
            connection.startReading(
                onData: { bytes in
                    pending.append(contentsOf: bytes)
                    while let end = Self.headEnd(pending) {
                        let head = String(decoding: pending[..<end], as: UTF8.self)
                        pending.removeFirst(end)
                        connection.write(Self.answer(head, contents: contents, corrupt: corrupt).map { WriteBuffer($0) })
                    }
                }, onEnd: { _ in connection.close() })
        }
    }

    var port: Int { listener.localAddress.port }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count where bytes[i - 3] == 13 && bytes[i - 2] == 10 && bytes[i - 1] == 13 && bytes[i] == 10 { return i + 1 }
        return nil
    }

    static func answer(_ head: String, contents: [String: [UInt8]], corrupt: Bool) -> [[UInt8]] {
        let lines = head.components(separatedBy: "\r\n")
        let path = lines[0].split(separator: " ")[1]
        func header(_ name: String) -> String? {
            lines.first { $0.lowercased().hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)).trimmingSpaces() }
        }
        guard var body = contents[String(path)] else { return [Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8)] }
        var out: [[UInt8]] = []
        if path.hasSuffix(".html") { out.append(Array("HTTP/1.1 103 Early Hints\r\nLink: </x.js>; rel=preload\r\n\r\n".utf8)) }
        var status = "200 OK"
        var extra = ""
        let gzip = !path.hasSuffix(".wasm") && (header("accept-encoding") ?? "").contains("gzip")
        let etag = "\"" + RequestCatalog.hex(SHA256.hash(data: body)).prefix(12) + (gzip ? "-gz" : "") + "\""
        if header("if-none-match") == etag {
            out.append(Array("HTTP/1.1 304 Not Modified\r\nETag: \(etag)\r\n\r\n".utf8))
            return out
        }
        if let range = header("range"), range.hasPrefix("bytes=") {
            let parts = range.dropFirst(6).split(separator: "-").compactMap { Int($0) }
            body = Array(body[parts[0]...parts[1]])
            status = "206 Partial Content"
            extra = "Content-Range: bytes \(parts[0])-\(parts[1])/\(contents[String(path)]!.count)\r\n"
        } else if gzip {
            body = try! Codec.gzip().encode(body)
            extra = "Content-Encoding: gzip\r\n"
        }
        if corrupt && path.hasSuffix(".js") && !body.isEmpty { body[body.count / 2] ^= 0xFF }
        out.append(Array("HTTP/1.1 \(status)\r\nContent-Length: \(body.count)\r\nETag: \(etag)\r\n\(extra)\r\n".utf8))
        out.append(body)
        return out
    }
}

private let browserishMix = Scenario.Mix(
    apps: nil, appExponent: 1, files: [.init(role: "entry", weight: 2), .init(role: "js", weight: 2), .init(role: "wasm", weight: 1)],
    fileExponent: nil, encodings: ["gzip": 3, "identity": 1], revalidateFraction: 0.3, rangeFraction: 0.3, rangeRoles: ["wasm"],
    rangeBytes: 4096, headFraction: nil)

/// Runs LoadRun against a server started by `makeServer` on the same loop; returns the result.
private func run(
    scenario: Scenario, fixture: TestFixture, mode: RunOptions.Mode, rate: Double? = nil, duration: Double = 0.6,
    timeout: Double = 5, makeServer: @escaping @Sendable (EventLoop) throws -> Int
) throws -> RunResult {
    let thread = try LoopThread(name: "load-test")
    defer { try? thread.stopAndJoin() }
    let port = try thread.loop.executeAndWait { try makeServer(thread.loop) }
    let options = RunOptions(
        mode: mode, host: "127.0.0.1", port: port, label: "peer", connections: 4, rate: rate,
        durationS: duration, maxRequests: 100_000, verifyFraction: 1, requestTimeoutS: timeout, seed: 3)
    let catalog = try RequestCatalog(mix: scenario.mix, fixture: fixture.fixture)
    let outcome = Mutex<RunResult?>(nil)
    let done = DispatchSemaphore(value: 0)
    let loadRun = LoadRun(loop: thread.loop, scenario: scenario, catalog: catalog, options: options)
    thread.loop.execute {
        loadRun.start { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
    }
    #expect(done.wait(timeout: .now() + 30) == .success)
    return try #require(outcome.withLock { $0 })
}

@Test func anOpenLoopRunAgainstACorrectServerSendsAtTheRateAndVerifiesEverything() throws {
    let fx = try TestFixture.make()
    defer { fx.remove() }
    let scenario = Scenario(name: "peer", mix: browserishMix)
    let result = try run(scenario: scenario, fixture: fx, mode: .open, rate: 400, duration: 1) { loop in
        try PeerServer(loop: loop, fixture: fx, corrupt: false).port
    }
    #expect(result.discovery.failures == [])
    #expect(result.discovery.verified == result.discovery.variants)
    #expect(result.sent == 400)
    #expect(result.completed == 400)
    #expect(result.errors == [:])
    #expect(result.unfinished == 0)
    #expect(result.statuses["200", default: 0] > 0)
    #expect(result.statuses["304", default: 0] > 0)
    #expect(result.statuses["206", default: 0] > 0)
    #expect(result.interimResponses > 0)
    #expect(result.verifiedOk > 100)
    #expect(result.verifyFailed == 0)
    #expect(result.latencyMs.p50 > 0 && result.latencyMs.p50 < 100)
    #expect(result.achievedRate > 300 && result.achievedRate < 500)
}

@Test func aServerThatCorruptsBodiesIsCaught() throws {
    let fx = try TestFixture.make(apps: ["a"])
    defer { fx.remove() }
    let scenario = Scenario(name: "peer", mix: browserishMix)
    let result = try run(scenario: scenario, fixture: fx, mode: .open, rate: 200, duration: 0.5) { loop in
        try PeerServer(loop: loop, fixture: fx, corrupt: true).port
    }
    #expect(result.discovery.failures.contains { $0.contains("main.js") })
    #expect(result.verifyFailed > 0)
    // Flipped bytes inside gzip either fail to decode or decode to other content.
    #expect(result.errors["body-mismatch", default: 0] + result.errors["body-undecodable", default: 0] == result.verifyFailed)
}

@Test func aClosedLoopRunKeepsEveryConnectionBusyUntilTheDuration() throws {
    let fx = try TestFixture.make(apps: ["a"])
    defer { fx.remove() }
    var scenario = Scenario(name: "trivial", mix: browserishMix)
    scenario.checkContent = false
    let result = try run(scenario: scenario, fixture: fx, mode: .closed, duration: 0.5) { loop in
        try TrivialServer(loop: loop, host: "127.0.0.1", port: 0).port
    }
    #expect(result.completed > 200)
    #expect(result.completed == result.sent)
    #expect(result.errors == [:])
    #expect(result.statuses == ["200": result.completed])
    #expect(result.targetRate == nil && result.sendLagMs == nil)
}

@Test func requestsToAClosedPortAreCountedAsErrorsAndTheRunStillEnds() throws {
    let fx = try TestFixture.make(apps: ["a"])
    defer { fx.remove() }
    var scenario = Scenario(name: "refused", mix: browserishMix)
    scenario.checkContent = false
    let result = try run(scenario: scenario, fixture: fx, mode: .open, rate: 100, duration: 0.3, timeout: 0.5) { loop in
        // Bind, read the port, close: nothing listens there any more.
        let listener = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { $0.close() }
        let port = listener.localAddress.port
        listener.close()
        return port
    }
    #expect(result.completed == 0)
    #expect(result.errors.keys.contains { $0.hasPrefix("connect") })
    #expect(result.unfinished == result.sent)
}

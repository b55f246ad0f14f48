import Foundation
import Testing

@testable import Edge

/// The cache-hit path (a whole cached representation answered without a `Plan`) against the full
/// planner: the first request of a URL goes through the planner (route memo and cache both miss),
/// the next ones through the cache-hit path; their responses must be the same apart from Date.
@Suite(.serialized) struct CacheHitPathTests {
    /// One loop, so every request of a test meets the same route memo. Shared: publishing the
    /// fixture is the slow part.
    /// Both listeners: every case runs over plain TCP and over TLS.
    static let shared: EdgeHarness = try! EdgeHarness(tls: true) { $0.workers = 1 }
    var h: EdgeHarness { CacheHitPathTests.shared }

    /// Status, headers except Date (in order), body.
    private func comparable(_ r: TestClient.Response) -> [String] {
        ["\(r.status)"] + r.headers.filter { $0.0.lowercased() != "date" }.map { "\($0.0): \($0.1)" }
            + [String(decoding: r.body, as: UTF8.self)]
    }

    @Test(
        arguments: [
            ("/assets/app.1a2b3c4d.js", "gzip, br"), ("/assets/app.1a2b3c4d.js", "identity"),
            ("/assets/logo.9c8d7e6f.png", "br"), ("/downloads/app-release.apk", "gzip"),
        ], EdgeHarness.Listener.allCases)
    func aRepeatedRequestGetsTheSameResponseFromTheCacheHitPath(request: (path: String, encoding: String), via: EdgeHarness.Listener) throws {
        let (path, encoding) = request
        let c = try h.client(via)
        let first = try c.get(path, headers: ["Accept-Encoding": encoding])
        #expect(first.status == 200)
        let before = h.server.cache.statistics()
        let second = try c.get(path, headers: ["Accept-Encoding": encoding])
        let third = try c.get(path, headers: ["Accept-Encoding": encoding])
        #expect(comparable(second) == comparable(first))
        #expect(comparable(third) == comparable(first))
        if encoding == "identity" || path.hasSuffix(".png") || path.hasSuffix(".apk") {
            #expect(second.body == h.files[path])
        }
        let after = h.server.cache.statistics()
        #expect(after.hits == before.hits + 2)
        #expect(after.misses == before.misses, "a cache hit is not also counted as a miss")
        #expect(after.loads == before.loads)
    }

    @Test(arguments: EdgeHarness.Listener.allCases) func requestsTheCacheHitPathDoesNotTakeStillGetTheirOwnAnswers(_ via: EdgeHarness.Listener) throws
    {
        let c = try h.client(via)
        let path = "/assets/style.5e6f7a8b.css"
        let full = try c.get(path, headers: ["Accept-Encoding": "br"])
        let etag = try #require(full.header("ETag"))
        _ = try c.get(path, headers: ["Accept-Encoding": "br"])  // now remembered and cached
        #expect(try c.get(path, headers: ["Accept-Encoding": "br", "If-None-Match": etag]).status == 304)
        let range = try c.get(path, headers: ["Range": "bytes=0-9"])
        #expect(range.status == 206)
        #expect(range.body == Array(h.files[path]![0...9]))
        let head = try c.get(path, headers: ["Accept-Encoding": "br"], method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(head.header("Content-Length") == full.header("Content-Length"))
        let http10 = try h.client(via).get(path, headers: ["Accept-Encoding": "br"], version: "1.0")
        #expect(http10.status == 200)
        #expect(http10.header("Connection")?.lowercased() == "close" || http10.header("Connection") == nil)
        #expect(http10.body == full.body)
        #expect(try c.get(path, headers: ["Accept-Encoding": "compress;q=1, identity;q=0"]).status == 406)
    }
}

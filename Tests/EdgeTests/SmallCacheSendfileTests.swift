import Foundation
import Testing

@testable import Edge

/// With a response cache far below the working set, a blob file larger than a sixteenth of the
/// cache is sent from disk (its cache entry an open file) instead of being read in and evicting
/// its neighbours on every miss; bodies, ranges and HTTP/2 stay exactly the stored bytes.
@Suite(.serialized) struct SmallCacheSendfileTests {
    @Test func theThresholdIsASixteenthOfTheCacheWithinTheConfiguredOne() {
        #expect(BodyLoader.sendfileThreshold(configured: 1 << 20, cacheBytes: 256 << 20) == 1 << 20)
        #expect(BodyLoader.sendfileThreshold(configured: 1 << 20, cacheBytes: 4 << 20) == 256 << 10)
        #expect(BodyLoader.sendfileThreshold(configured: 1 << 20, cacheBytes: 1 << 20) == 64 << 10)
        #expect(BodyLoader.sendfileThreshold(configured: 1 << 20, cacheBytes: 0) == 64 << 10)
        #expect(BodyLoader.sendfileThreshold(configured: 4096, cacheBytes: 0) == 4096)
    }

    @Test func aSmallCacheSendsLargerBlobFilesFromDiskWithTheSameBytes() throws {
        let h = try EdgeHarness(tls: true) { $0.cacheBytes = 1 << 20 }
        defer { h.stop() }
        // The JS fixture is about 90 KB: a blob file, over 64 KiB (a sixteenth of this cache)
        // and under the configured 1 MiB threshold.
        let js = "/assets/app.1a2b3c4d.js"
        let png = "/assets/logo.9c8d7e6f.png"
        #expect(h.files[js]!.count > 64 << 10 && h.files[js]!.count < 1 << 20)
        let r = try h.client(.plain).get(js, headers: ["Accept-Encoding": "identity"])
        #expect(r.status == 200)
        #expect(r.body == h.files[js])
        // What the cache holds: the JS as an open file (a few KB of cost), not its bytes.
        let held = h.server.cache.statistics().bytesHeld
        #expect(held > 0 && held < 16 << 10, "\(held) bytes held")

        let ranged = try h.client(.tls).get(js, headers: ["Accept-Encoding": "identity", "Range": "bytes=10000-19999"])
        #expect(ranged.status == 206)
        #expect(ranged.body == Array(h.files[js]![10_000..<20_000]))
        let overH2 = try h.client(.h2).get(js, headers: ["Accept-Encoding": "identity"])
        #expect(overH2.body == h.files[js])
        let small = try h.client(.plain).get(png, headers: ["Accept-Encoding": "identity"])
        #expect(small.body == h.files[png])
        #expect(h.server.cache.statistics().bytesHeld >= held + h.files[png]!.count)
    }
}

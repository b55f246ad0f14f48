import ArtifactStore
import Testing

@testable import Edge

/// The per-loop URL → file memo: hits only for identical bytes, emptied when the snapshot or the
/// router changes, and bounded.
@Suite struct RouteMemoTests {
    func key(_ host: String, _ target: String) -> RouteMemo.Key {
        .init(host: ArraySlice(host.utf8), target: ArraySlice(target.utf8))
    }

    func file(_ path: String) -> ServedFile {
        ServedFile(
            deploymentID: "d1",
            entry: ManifestEntry(
                path: path, blobHash: "h", size: 1, contentType: "text/plain",
                lastModified: 0, cacheControl: "no-cache", etag: "\"e\"", variants: [], preloadHints: []))
    }

    @Test func aRememberedResolutionIsFoundOnlyForTheSameHostAndTarget() {
        let memo = RouteMemo()
        memo.validate(snapshotGeneration: 1, routerGeneration: 0)
        memo.remember(key("a.test", "/x"), .init(app: "a", file: file("/x")))
        #expect(memo.lookup(key("a.test", "/x"))?.app == "a")
        #expect(memo.lookup(key("a.test", "/x?")) == nil)
        #expect(memo.lookup(key("b.test", "/x")) == nil)
        #expect(memo.lookup(key("a.tes", "t/x")) == nil, "the split between host and target is part of the key")
        #expect(memo.hits == 1 && memo.misses == 3)
    }

    @Test func aKeyFromASliceOfALargerBufferMatchesAndIsStoredCompacted() {
        let memo = RouteMemo()
        let request = Array("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
        let sliced = RouteMemo.Key(host: request[23..<29], target: request[4..<6])
        memo.remember(sliced, .init(app: "a", file: nil))
        #expect(memo.lookup(key("a.test", "/x"))?.app == "a")
        #expect(sliced.compacted.host.startIndex == 0 && sliced.compacted.host.count == 6)
    }

    @Test func aNewSnapshotOrRouterEmptiesTheMemo() {
        let memo = RouteMemo()
        memo.validate(snapshotGeneration: 1, routerGeneration: 0)
        memo.remember(key("a.test", "/x"), .init(app: "a", file: nil))
        memo.validate(snapshotGeneration: 1, routerGeneration: 0)
        #expect(memo.count == 1)
        memo.validate(snapshotGeneration: 2, routerGeneration: 0)
        #expect(memo.count == 0)
        memo.remember(key("a.test", "/x"), .init(app: "a", file: nil))
        memo.validate(snapshotGeneration: 2, routerGeneration: 1)
        #expect(memo.lookup(key("a.test", "/x")) == nil)
    }

    @Test func endlesslyDistinctURLsNeverGrowItPastItsCapacity() {
        let memo = RouteMemo(capacity: 64)
        memo.validate(snapshotGeneration: 1, routerGeneration: 0)
        for i in 0..<1000 {
            memo.remember(key("a.test", "/random-\(i)"), .init(app: nil, file: nil))
            #expect(memo.count <= 64)
        }
        #expect(memo.lookup(key("a.test", "/random-999")) != nil, "the newest entry survives the reset")
    }
}

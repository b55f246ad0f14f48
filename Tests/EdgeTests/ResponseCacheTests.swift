import Synchronization
import Testing

@testable import Edge

@Suite struct ResponseCacheTests {
    func key(_ path: String, _ coding: UInt8 = 0) -> ResponseCache.Key {
        .init(deployment: "d1", path: path, coding: coding)
    }
    func entry(_ size: Int, _ byte: UInt8 = 1) -> ResponseCache.Entry {
        .init(fixedHeaders: [], body: [UInt8](repeating: byte, count: size))
    }

    @Test func aHitReturnsTheStoredEntryAndIsCounted() {
        let cache = ResponseCache(budget: 1 << 20, shardCount: 1)
        #expect(cache.get(key("/a")) == nil)
        cache.insert(key("/a"), entry(100, 7))
        #expect(cache.get(key("/a"))?.body.first == 7)
        let s = cache.statistics()
        #expect(s.hits == 1 && s.misses == 1 && s.entries == 1)
        #expect(s.bytesHeld == 100 + ResponseCache.entryOverhead)
    }

    @Test func theLeastRecentlyUsedEntryIsEvictedFirst() {
        let per = 1000 + ResponseCache.entryOverhead
        let cache = ResponseCache(budget: per * 3, shardCount: 1)
        cache.insert(key("/a"), entry(1000))
        cache.insert(key("/b"), entry(1000))
        cache.insert(key("/c"), entry(1000))
        _ = cache.get(key("/a"))  // b is now the least recent
        cache.insert(key("/d"), entry(1000))
        #expect(cache.contains(key("/a")))
        #expect(!cache.contains(key("/b")))
        #expect(cache.contains(key("/c")) && cache.contains(key("/d")))
        #expect(cache.statistics().evictions == 1)
    }

    @Test func bytesHeldNeverExceedTheBudget() {
        let budget = 50_000
        let cache = ResponseCache(budget: budget, shardCount: 4)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<2_000 {
            cache.insert(key("/f\(i % 300)"), entry(Int.random(in: 0...9_000, using: &rng)))
            #expect(cache.statistics().bytesHeld <= budget)
        }
        #expect(cache.statistics().evictions > 0)
    }

    @Test func anEntryLargerThanTheBudgetIsNotKept() {
        let cache = ResponseCache(budget: 10_000, shardCount: 1)
        #expect(cache.insert(key("/big"), entry(20_000)) == false)
        #expect(cache.statistics().bytesHeld == 0)
    }

    @Test func concurrentMissesForOneKeyLoadOnce() async {
        let cache = ResponseCache(budget: 1 << 20)
        let results = Mutex<[Int]>([])
        var loaders = 0
        for _ in 0..<50 {
            let (hit, mustLoad) = cache.getOrJoinLoad(key("/x")) { r in
                if case .success(let e) = r { results.withLock { $0.append(e.body.count) } }
            }
            #expect(hit == nil)
            if mustLoad { loaders += 1 }
        }
        #expect(loaders == 1)
        cache.finishLoad(key("/x"), result: .success(entry(42)))
        #expect(results.withLock { $0 } == Array(repeating: 42, count: 50))
        #expect(cache.get(key("/x"))?.body.count == 42)
        #expect(cache.statistics().loads == 1)
    }

    @Test func aWarmInsertRespectsItsEvictionAllowance() {
        let per = 1000 + ResponseCache.entryOverhead
        let cache = ResponseCache(budget: per * 2, shardCount: 1)
        cache.insert(key("/a"), entry(1000))
        cache.insert(key("/b"), entry(1000))
        #expect(cache.insert(key("/c"), entry(1000), maxEvictedBytes: 0) == false)
        #expect(cache.contains(key("/a")) && cache.contains(key("/b")))
        #expect(cache.insert(key("/c"), entry(1000), maxEvictedBytes: per) == true)
    }

    @Test func purgeDropsOnlyMatchingEntries() {
        let cache = ResponseCache(budget: 1 << 20, shardCount: 2)
        cache.insert(.init(deployment: "d1", path: "/a", coding: 0), entry(10))
        cache.insert(.init(deployment: "d2", path: "/a", coding: 0), entry(10))
        #expect(cache.purge { $0.deployment == "d1" } == 1)
        #expect(cache.statistics().entries == 1)
    }
}

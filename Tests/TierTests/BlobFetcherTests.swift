import ArtifactStore
import Foundation
import Glibc
import Synchronization
import Testing
import WharfTestSupport

@testable import Tier

/// `BlobFetcher` against a real (fake) origin on loopback: one fetch per blob however many ask,
/// verification before anything is stored or served, 502/504 for what cannot be had, and the
/// disk budget.
@Suite struct BlobFetcherTests {
    static func blob(_ size: Int, seed: UInt64) -> (bytes: [UInt8], hash: String) {
        var random = SeededRandom(seed: seed)
        let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        return (bytes, ContentHash.of(bytes))
    }

    struct Fixture {
        let dir: TemporaryDirectory
        let store: Store
        let fetcher: BlobFetcher
        func remove() { dir.remove() }
    }

    static func fixture(origin: ScriptedOrigin, budget: Int64 = 1 << 30, timeout: Duration = .seconds(5), maxConcurrent: Int = 8) throws -> Fixture {
        let dir = try TemporaryDirectory(prefix: "wharf-fetcher")
        let store = try Store.open(at: dir.path + "/replica")
        var limits = BlobFetcher.Limits()
        limits.timeout = timeout
        limits.maxConcurrent = maxConcurrent
        let client = OriginClient(origin: try OriginURL("http://127.0.0.1:\(origin.port)"), token: "t")
        let fetcher = BlobFetcher(store: store, client: client, disk: try TierDiskCache(store: store, budget: budget), limits: limits)
        return Fixture(dir: dir, store: store, fetcher: fetcher)
    }

    static func read(_ fd: Int32) -> [UInt8] {
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            guard n > 0 else { return out }
            out += buffer[0..<n]
            offset += off_t(n)
        }
    }

    @Test func manyConcurrentRequestsShareOneFetch() throws {
        let (bytes, hash) = Self.blob(300_000, seed: 1)
        let origin = try ScriptedOrigin { _ in .init(bytes: ScriptedOrigin.chunked(bytes, piece: 7000), delay: .seconds(1)) }
        defer { origin.stop() }
        let f = try Self.fixture(origin: origin, maxConcurrent: 32)  // room for 64 waiters
        defer { f.remove() }
        let results = Mutex<[[UInt8]]>([])
        // 64 threads of their own (concurrentPerform would use one per core).
        let finished = DispatchGroup()
        for _ in 0..<64 {
            finished.enter()
            Thread {
                if let fd = try? f.fetcher.fetch(hash: hash, size: Int64(bytes.count)) { results.withLock { $0.append(Self.read(fd)) } }
                finished.leave()
            }.start()
        }
        #expect(finished.wait(timeout: .now() + 20) == .success)
        #expect(origin.total == 1)
        #expect(results.withLock { $0.count } == 64)
        #expect(results.withLock { $0.allSatisfy { $0 == bytes } })
        #expect(f.fetcher.counters.fetches.load(ordering: .relaxed) == 1)
        #expect(f.fetcher.counters.collapsed.load(ordering: .relaxed) >= 32, "most requests joined the one fetch")
        // Now local: no further fetch.
        close(try f.fetcher.fetch(hash: hash, size: Int64(bytes.count)))
        #expect(origin.total == 1)
    }

    @Test func waitersBeyondTwiceTheFetchLimitAreTurnedAwayAtOnce() throws {
        var blobs: [String: [UInt8]] = [:]
        for i in 0..<12 {
            let (bytes, hash) = Self.blob(1000, seed: 700 + UInt64(i))
            blobs[hash] = bytes
        }
        let origin = try ScriptedOrigin { _ in .init(bytes: [], delay: .seconds(2)) }  // stalls, then closes
        defer { origin.stop() }
        let f = try Self.fixture(origin: origin, timeout: .seconds(1), maxConcurrent: 2)
        defer { f.remove() }
        let outcomes = Mutex<[(status: Int, seconds: Double)]>([])
        let finished = DispatchGroup()
        for (hash, bytes) in blobs {
            finished.enter()
            Thread {
                let started = Date()
                do { close(try f.fetcher.fetch(hash: hash, size: Int64(bytes.count))) } catch let error as BlobUnavailable {
                    outcomes.withLock { $0.append((error.status, Date().timeIntervalSince(started))) }
                } catch {}
                finished.leave()
            }.start()
        }
        #expect(finished.wait(timeout: .now() + 10) == .success)
        let all = outcomes.withLock { $0 }
        #expect(all.count == 12 && all.allSatisfy { $0.status == 504 || $0.status == 502 })
        // 4 may wait (2 fetching, 2 for a slot); the other 8 are refused without waiting.
        #expect(all.filter { $0.seconds < 0.5 }.count >= 8, "\(all)")
        #expect(origin.total <= 4)
    }

    @Test func wrongBytesAreRefusedNeverStoredAndFetchedAgainNextTime() throws {
        let (bytes, hash) = Self.blob(100_000, seed: 2)
        let corrupt = Atomic<Bool>(true)
        let origin = try ScriptedOrigin { _ in
            var body = bytes
            if corrupt.load(ordering: .relaxed) { body[5000] ^= 0x01 }
            return .init(bytes: ScriptedOrigin.ok(body))
        }
        defer { origin.stop() }
        let f = try Self.fixture(origin: origin)
        defer { f.remove() }
        for _ in 0..<3 {
            #expect(throws: BlobUnavailable.self) { try f.fetcher.fetch(hash: hash, size: Int64(bytes.count)) }
            #expect(f.store.openBlobFile(hash: hash) == nil)
        }
        #expect(f.fetcher.counters.mismatched.load(ordering: .relaxed) == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.store.path + "/tmp").isEmpty, "the refused bytes are deleted")
        corrupt.store(false, ordering: .relaxed)
        #expect(Self.read(try f.fetcher.fetch(hash: hash, size: Int64(bytes.count))) == bytes)
        #expect(origin.total == 4)
    }

    @Test func hostileAnswersGet502AndLeaveNothingBehind() throws {
        let (bytes, hash) = Self.blob(50_000, seed: 3)
        let answers: [(String, [UInt8])] = [
            ("oversized Content-Length", ScriptedOrigin.ok(bytes + [1, 2, 3])),
            ("oversized chunked", ScriptedOrigin.chunked(bytes + Array(repeating: 7, count: 1 << 20))),
            ("short", ScriptedOrigin.ok(Array(bytes.prefix(1000)))),
            ("truncated Content-Length", Array(ScriptedOrigin.ok(bytes).dropLast(10))),
            ("truncated chunked", Array(ScriptedOrigin.chunked(bytes).dropLast(5))),
            ("404", Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8)),
            ("401", Array("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".utf8)),
            ("garbage", Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)),
            ("no head end", Array(repeating: 65, count: 40_000)),
            ("bad chunk", Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)),
            ("closed at once", []),
        ]
        for (what, answer) in answers {
            let origin = try ScriptedOrigin { _ in .init(bytes: answer) }
            defer { origin.stop() }
            let f = try Self.fixture(origin: origin)
            defer { f.remove() }
            do {
                let fd = try f.fetcher.fetch(hash: hash, size: Int64(bytes.count))
                close(fd)
                Issue.record("\(what): served")
            } catch let error as BlobUnavailable {
                #expect(error.status == 502, "\(what): \(error)")
            }
            #expect(f.store.openBlobFile(hash: hash) == nil, "\(what)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: f.store.path + "/tmp").isEmpty, "\(what)")
        }
    }

    @Test func aSilentOriginGets504AndADeadOne502() throws {
        let (bytes, hash) = Self.blob(1000, seed: 4)
        let silent = try ScriptedOrigin { _ in .init(bytes: [], delay: .seconds(3)) }
        defer { silent.stop() }
        let f = try Self.fixture(origin: silent, timeout: .milliseconds(500))
        defer { f.remove() }
        let started = ContinuousClock.now
        do {
            close(try f.fetcher.fetch(hash: hash, size: Int64(bytes.count)))
            Issue.record("served")
        } catch let error as BlobUnavailable {
            #expect(error.status == 504)
        }
        #expect(started.duration(to: .now) < .seconds(2))

        let dead = try ScriptedOrigin { _ in .init(bytes: []) }
        let port = dead.port
        dead.stop()
        let dir = try TemporaryDirectory(prefix: "wharf-fetcher")
        defer { dir.remove() }
        let store = try Store.open(at: dir.path + "/replica")
        let fetcher = BlobFetcher(
            store: store, client: OriginClient(origin: try OriginURL("http://127.0.0.1:\(port)"), token: "t"),
            disk: try TierDiskCache(store: store, budget: 1 << 20))
        do {
            close(try fetcher.fetch(hash: hash, size: Int64(bytes.count)))
            Issue.record("served")
        } catch let error as BlobUnavailable {
            #expect(error.status == 502)
        }
    }

    @Test func theDiskBudgetHoldsUnderAWorkingSetThreeTimesItsSize() throws {
        var blobs: [String: [UInt8]] = [:]
        for i in 0..<30 {
            let (bytes, hash) = Self.blob(100_000, seed: 100 + UInt64(i))
            blobs["/_wharf/api/replica/blobs/\(hash)"] = bytes
        }
        let served = blobs
        let origin = try ScriptedOrigin { path in .init(bytes: ScriptedOrigin.ok(served[path] ?? [])) }
        defer { origin.stop() }
        let budget: Int64 = 1_000_000  // 10 blobs; the working set is 30
        let f = try Self.fixture(origin: origin, budget: budget)
        defer { f.remove() }
        for round in 0..<2 {
            for (path, bytes) in blobs.sorted(by: { $0.key < $1.key }) {
                let hash = String(path.split(separator: "/").last!)
                #expect(Self.read(try f.fetcher.fetch(hash: hash, size: Int64(bytes.count))) == bytes, "round \(round)")
                let onDisk = try f.store.blobFileInventory().reduce(0) { $0 + $1.size }
                #expect(onDisk <= budget)
                #expect(f.fetcher.disk.bytes == onDisk)
            }
        }
        #expect(f.fetcher.disk.evicted >= 50)
        // A reopened cache finds the files left and the same total.
        let reopened = try TierDiskCache(store: f.store, budget: budget)
        #expect(reopened.bytes == f.fetcher.disk.bytes)
    }
}

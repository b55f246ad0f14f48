import ArtifactStore
import Foundation
import Glibc
import Synchronization

/// Fetches blobs a tier edge's replica does not hold from the origin, by content hash.
///
/// - Collapsing: one fetch per blob however many requests want it at once; the others wait for
///   that fetch and share its outcome.
/// - Verification: bytes are hashed while they arrive into a temporary file; a body whose size or
///   SHA-256 differs from the manifest is refused (counted, deleted, never served) and fetched
///   again on the next request. Only a verified file is installed under the blob's name.
/// - Bounds: at most `maxConcurrent` fetches at once and twice that many requests waiting (the
///   rest get 504 at once: each waiter holds a thread-pool thread), each within `timeout`,
///   accepting at most the manifest's size. A fetch that gets no answer in time fails with 504, any other failure
///   with 502; after the origin could not be reached, new fetches fail at once for a backoff
///   that doubles from 100 ms up to 1.6 s, so a dead origin is not hammered.
public final class BlobFetcher: MissingBlobSource {
    public struct Limits: Sendable {
        public var timeout: Duration = .seconds(10)
        public var maxConcurrent = 8
        public init() {}
    }

    /// Counters for `/_wharf/metrics`.
    public final class Counters: Sendable {
        public let fetches = Atomic<Int>(0)
        public let fetchedBytes = Atomic<Int>(0)
        public let collapsed = Atomic<Int>(0)
        public let unreachable = Atomic<Int>(0)
        public let timedOut = Atomic<Int>(0)
        public let refused = Atomic<Int>(0)
        public let mismatched = Atomic<Int>(0)
        init() {}
    }

    private final class Flight: Sendable {
        let condition = NSCondition()
        let outcome = Mutex<Result<Void, BlobUnavailable>?>(nil)
        func finish(_ result: Result<Void, BlobUnavailable>) {
            condition.lock()
            outcome.withLock { $0 = result }
            condition.broadcast()
            condition.unlock()
        }
        func wait(until deadline: Date) -> Result<Void, BlobUnavailable>? {
            condition.lock()
            defer { condition.unlock() }
            while outcome.withLock({ $0 }) == nil {
                if !condition.wait(until: deadline) { break }
            }
            return outcome.withLock { $0 }
        }
    }

    private struct Backoff {
        var until: ContinuousClock.Instant?
        var streak = 0
    }

    private let store: Store
    private let client: OriginClient
    public let disk: TierDiskCache
    public let limits: Limits
    public let counters = Counters()
    private let flights = Mutex<[String: Flight]>([:])
    private let waiting = Atomic<Int>(0)
    private let slots: DispatchSemaphore
    private let backoff = Mutex(Backoff())
    private let log: @Sendable (String) -> Void

    public init(
        store: Store, client: OriginClient, disk: TierDiskCache, limits: Limits = Limits(),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.store = store
        self.client = client
        self.disk = disk
        self.limits = limits
        self.slots = DispatchSemaphore(value: max(1, limits.maxConcurrent))
        self.log = log
    }

    public func used(hash: String) { disk.used(hash) }

    public func fetch(hash: String, size: Int64) throws -> Int32 {
        if let (fd, _) = store.openBlobFile(hash: hash) { return fd }
        // Each caller holds a thread-pool thread while it waits; past twice the fetch limit the rest
        // are turned away at once, so a slow origin never takes every thread the disk loads need.
        defer { waiting.subtract(1, ordering: .relaxed) }
        guard waiting.add(1, ordering: .relaxed).newValue <= 2 * max(1, limits.maxConcurrent) else {
            counters.timedOut.add(1, ordering: .relaxed)
            throw BlobUnavailable(status: 504, reason: "too many blob fetches waiting for the origin")
        }
        let deadline = ContinuousClock.now + limits.timeout
        // Twice at most: a blob evicted between its fetch and a waiter's open is fetched again.
        for _ in 0..<2 {
            if let (fd, _) = store.openBlobFile(hash: hash) { return fd }
            let (flight, leads) = flights.withLock { table -> (Flight, Bool) in
                if let existing = table[hash] { return (existing, false) }
                let fresh = Flight()
                table[hash] = fresh
                return (fresh, true)
            }
            if leads {
                let result = lead(hash: hash, size: size, deadline: deadline)
                flights.withLock { $0[hash] = nil }
                flight.finish(result.map { _ in () })
                return try result.get()
            }
            counters.collapsed.add(1, ordering: .relaxed)
            let left = ContinuousClock.now.duration(to: deadline)
            let wallDeadline = Date().addingTimeInterval(Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)
            guard let outcome = flight.wait(until: wallDeadline) else {
                throw BlobUnavailable(status: 504, reason: "timed out waiting for the origin's copy of \(hash)")
            }
            try outcome.get()
        }
        throw BlobUnavailable(status: 502, reason: "blob \(hash) was evicted as fast as it was fetched (disk budget too small)")
    }

    /// The one fetch of a blob: returns an open descriptor of the installed, verified file.
    private func lead(hash: String, size: Int64, deadline: ContinuousClock.Instant) -> Result<Int32, BlobUnavailable> {
        if let until = backoff.withLock({ $0.until }), ContinuousClock.now < until {
            counters.unreachable.add(1, ordering: .relaxed)
            return .failure(BlobUnavailable(status: 502, reason: "origin unreachable (retrying after a backoff)"))
        }
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero,
            slots.wait(timeout: .now() + .milliseconds(Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
                == .success
        else {
            counters.timedOut.add(1, ordering: .relaxed)
            return .failure(BlobUnavailable(status: 504, reason: "no fetch slot free in time for \(hash)"))
        }
        defer { slots.signal() }
        counters.fetches.add(1, ordering: .relaxed)
        let temporary = store.temporaryBlobPath()
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            return .failure(BlobUnavailable(status: 502, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))"))
        }
        var hasher = ContentHash()
        var received: Int64 = 0
        do {
            defer { Glibc.close(fd) }
            try client.get(
                "/_wharf/api/replica/blobs/\(hash)", deadline: deadline, idle: limits.timeout, maxBodyBytes: size,
                onHead: { head in if head.status != 200 { throw OriginError.status(head.status) } },
                onBody: { piece in
                    hasher.update(piece)
                    received += Int64(piece.count)
                    var done = 0
                    while done < piece.count {
                        let n = Glibc.write(fd, piece.baseAddress! + done, piece.count - done)
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { throw OriginError.unreachable("writing \(temporary): \(String(cString: strerror(errno)))") }
                        done += n
                    }
                })
            guard received == size else { throw TierRefusal.size(received) }
            guard hasher.finalizeHex() == hash else { throw TierRefusal.hash }
            guard fsync(fd) == 0 else { throw OriginError.unreachable("fsync \(temporary): \(String(cString: strerror(errno)))") }
        } catch {
            unlink(temporary)
            return .failure(failure(error, hash: hash))
        }
        backoff.withLock { $0 = Backoff() }
        do {
            try store.installBlobFile(temporary: temporary, hash: hash)
        } catch {
            return .failure(BlobUnavailable(status: 502, reason: "cannot install blob \(hash): \(error)"))
        }
        guard let (opened, _) = store.openBlobFile(hash: hash) else {
            return .failure(BlobUnavailable(status: 502, reason: "blob \(hash) vanished after its install"))
        }
        counters.fetchedBytes.add(Int(size), ordering: .relaxed)
        disk.added(hash, size: size)
        return .success(opened)
    }

    private enum TierRefusal: Error {
        case size(Int64)
        case hash
    }

    /// Counts and logs a failed fetch; maps it to 502 or 504.
    private func failure(_ error: any Error, hash: String) -> BlobUnavailable {
        switch error {
        case TierRefusal.hash:
            counters.mismatched.add(1, ordering: .relaxed)
            log("tier: refused blob \(hash) from the origin: its bytes do not hash to its name")
            return BlobUnavailable(status: 502, reason: "origin sent bytes that do not match \(hash)")
        case TierRefusal.size(let received):
            counters.mismatched.add(1, ordering: .relaxed)
            log("tier: refused blob \(hash) from the origin: \(received) bytes, the manifest says otherwise")
            return BlobUnavailable(status: 502, reason: "origin sent \(received) bytes for \(hash)")
        case OriginError.timedOut(let what):
            counters.timedOut.add(1, ordering: .relaxed)
            noteUnreachable()
            return BlobUnavailable(status: 504, reason: "origin timed out (\(what)) fetching \(hash)")
        case OriginError.unreachable(let why):
            counters.unreachable.add(1, ordering: .relaxed)
            noteUnreachable()
            return BlobUnavailable(status: 502, reason: "origin unreachable fetching \(hash): \(why)")
        case let other as OriginError:
            counters.refused.add(1, ordering: .relaxed)
            log("tier: refused blob \(hash) from the origin: \(other)")
            return BlobUnavailable(status: 502, reason: "\(other) fetching \(hash)")
        default:
            counters.refused.add(1, ordering: .relaxed)
            return BlobUnavailable(status: 502, reason: "\(error) fetching \(hash)")
        }
    }

    private func noteUnreachable() {
        backoff.withLock { b in
            b.streak = min(b.streak + 1, 5)
            b.until = .now + .milliseconds(100 << (b.streak - 1))
        }
    }
}

extension BlobFetcher {
    /// The blobs a browser asks for first after a switch: the entry point's identity bytes and
    /// variants, and those of the files it preloads (at most `limit` blobs).
    public static func entryPointBlobs(of manifest: DeploymentManifest, limit: Int = 32) -> [(hash: String, size: Int64)] {
        guard let entryPath = manifest.entryPoint, let entry = manifest.files[entryPath] else { return [] }
        var out: [(hash: String, size: Int64)] = []
        for file in [entry] + entry.preloadHints.compactMap({ manifest.files[$0.href] }) {
            out.append((file.blobHash, file.size))
            out += file.variants.map { ($0.hash, $0.size) }
        }
        return Array(out.prefix(limit))
    }

    /// Fetches `blobs` one after another on a thread of its own (those already on disk cost an
    /// open), so the first visitor after an alias switch does not wait for the origin. Failures are
    /// left for the requests that need the blob.
    public func prefetch(_ blobs: [(hash: String, size: Int64)]) {
        guard !blobs.isEmpty else { return }
        let thread = Thread { [self] in
            for blob in blobs {
                if let fd = try? fetch(hash: blob.hash, size: blob.size) { Glibc.close(fd) }
            }
        }
        thread.name = "wharf-tier-prefetch"
        thread.start()
    }
}

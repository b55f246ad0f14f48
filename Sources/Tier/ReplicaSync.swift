import ArtifactStore
import Foundation
import Synchronization

/// Keeps a tier edge's replica store in step with its origin, on a thread of its own.
///
/// It reads the origin's state (`GET …/replica/state`) and imports it (`Store.importReplica`:
/// one transaction, so the edge's catalogue swaps to the new aliases whole), then follows the
/// origin's change stream (`GET …/replica/events`, Server-Sent Events of the alias generation)
/// and reads the state again whenever the generation moves. Every `fullCheckInterval` it reads
/// the state regardless (the fallback when an event was missed). A failure — origin down, a
/// malformed or refused document — keeps the state the edge has, is counted and logged, and is
/// retried after a backoff doubling from 250 ms to 5 s; the edge keeps serving meanwhile.
public final class ReplicaSync: Sendable {
    public struct Settings: Sendable {
        public var fullCheckInterval: Duration = .seconds(30)
        public var requestTimeout: Duration = .seconds(10)
        /// The largest state document accepted.
        var maxStateBytes: Int64 = 64 << 20
        public init() {}
    }

    /// Counters for `/_wharf/metrics`.
    public final class Counters: Sendable {
        public let imports = Atomic<Int>(0)
        public let failures = Atomic<Int>(0)
        public let refusedStates = Atomic<Int>(0)
        /// The origin generation last imported (-1 before the first).
        public let originGeneration = Atomic<Int64>(-1)
        init() {}
    }

    private let store: Store
    private let client: OriginClient
    public let settings: Settings
    public let counters = Counters()
    private let imported: @Sendable () -> Void
    private let log: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)

    /// `imported` runs after every import that changed an alias (the wiring refreshes the catalog).
    public init(
        store: Store, client: OriginClient, settings: Settings = Settings(),
        imported: @escaping @Sendable () -> Void, log: @escaping @Sendable (String) -> Void
    ) {
        self.store = store
        self.client = client
        self.settings = settings
        self.imported = imported
        self.log = log
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "wharf-tier-sync"
        thread.start()
    }

    /// Ends the thread after its current request (at most one request timeout later).
    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Reads the origin's state and imports it if its generation is new. Throws on any failure.
    func syncOnce() throws {
        let body = try client.getBytes("/_wharf/api/replica/state", timeout: settings.requestTimeout, maxBodyBytes: settings.maxStateBytes)
        let state: ReplicaState
        do {
            state = try JSONDecoder().decode(ReplicaState.self, from: Data(body))
        } catch {
            counters.refusedStates.add(1, ordering: .relaxed)
            throw ReplicaState.Invalid("not a replica state document (\(error))")
        }
        if state.generation == counters.originGeneration.load(ordering: .relaxed) { return }
        do {
            if try store.importReplica(state) { imported() }
        } catch let invalid as ReplicaState.Invalid {
            counters.refusedStates.add(1, ordering: .relaxed)
            throw invalid
        }
        counters.imports.add(1, ordering: .relaxed)
        counters.originGeneration.store(state.generation, ordering: .relaxed)
    }

    private func run() {
        var backoff = Duration.milliseconds(250)
        var lastFailure = ""
        while !stopping.load(ordering: .relaxed) {
            do {
                try syncOnce()
                if !lastFailure.isEmpty {
                    log("tier: in step with the origin again (generation \(counters.originGeneration.load(ordering: .relaxed)))")
                }
                lastFailure = ""
                let opened = ContinuousClock.now
                try follow(until: .now + settings.fullCheckInterval)
                // A stream that ends at once (an origin closing it) must not turn into a busy loop.
                if opened.duration(to: .now) < .seconds(1) {
                    sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                } else {
                    backoff = .milliseconds(250)
                }
            } catch {
                counters.failures.add(1, ordering: .relaxed)
                let text = "\(error)"
                if text != lastFailure { log("tier: cannot sync with the origin (\(text)); serving what this edge holds, retrying") }
                lastFailure = text
                sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Follows the change stream until `deadline` (then returns: time for a full check) or the
    /// stream ends; reads the state whenever the announced generation differs from the imported one.
    private func follow(until deadline: ContinuousClock.Instant) throws {
        do {
            try followStream(until: deadline)
        } catch OriginError.timedOut where ContinuousClock.now >= deadline {
            return
        }
    }

    private func followStream(until deadline: ContinuousClock.Instant) throws {
        var line: [UInt8] = []
        try client.get(
            "/_wharf/api/replica/events", deadline: deadline, idle: .seconds(25), maxBodyBytes: .max,
            onHead: { head in if head.status != 200 { throw OriginError.status(head.status) } },
            onBody: { piece in
                for byte in piece {
                    if stopping.load(ordering: .relaxed) { throw OriginError.unreachable("stopping") }
                    guard byte == 0x0A else {
                        line.append(byte)
                        if line.count > 4096 { throw OriginError.malformed("event line over 4 KiB") }
                        continue
                    }
                    let text = String(decoding: line, as: UTF8.self)
                    line.removeAll(keepingCapacity: true)
                    guard text.hasPrefix("data: ") else { continue }
                    guard let generation = Int64(text.dropFirst(6)) else { throw OriginError.malformed("event data '\(text.prefix(40))'") }
                    if generation != counters.originGeneration.load(ordering: .relaxed) { try syncOnce() }
                }
            })
    }

    private func sleep(for duration: Duration) {
        let end = ContinuousClock.now + duration
        while !stopping.load(ordering: .relaxed) && ContinuousClock.now < end { usleep(50_000) }
    }
}

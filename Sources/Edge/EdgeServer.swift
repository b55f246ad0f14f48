import ArtifactStore
import Foundation
import Synchronization
import TLS
import UVLoop

/// The edge: N event loops (one per core by default), each with its own listening socket on the
/// same port (SO_REUSEPORT), its own connections and timers; one shared deployment catalog and
/// response cache. `start()` returns once every loop listens; `shutdown()` drains gracefully.
public final class EdgeServer: Sendable {
    /// ALPN protocols in preference order: `h2` first when HTTP/2 is on (RFC 9113 §3.2).
    static func alpn(_ configuration: EdgeConfiguration) -> [String] {
        configuration.http2.enabled ? ["h2", "http/1.1"] : ["http/1.1"]
    }

    public let configuration: EdgeConfiguration
    public let store: Store
    public let catalog: DeploymentCatalog
    public let cache: ResponseCache
    public let metrics = EdgeMetrics()
    public let accessStats: AccessStats
    /// Per-client request and connection limits, shared by the loops.
    public let clientLimits: ClientLimits
    /// The access log (`edge.access_log.path`), nil when off.
    public let accessLog: AccessLog?
    private let group: EventLoopGroup
    private let workers: Mutex<[WorkerRef]>
    private let boundPort = Atomic<Int>(0)
    private let boundTLSPort = Atomic<Int>(0)
    /// The certificates new TLS handshakes use (replaced by `reloadCertificates`).
    private let tlsContext: Mutex<TLSServerContext?>
    private let logger: @Sendable (String) -> Void
    /// A tier edge's source of blobs its replica store does not hold yet (nil: every blob is local).
    public let missingBlobs: (any MissingBlobSource)?

    public init(
        configuration: EdgeConfiguration, store: Store, missingBlobs: (any MissingBlobSource)? = nil,
        logger: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.store = store
        self.missingBlobs = missingBlobs
        self.logger = logger
        let count = configuration.workers > 0 ? configuration.workers : max(1, ProcessInfo.processInfo.activeProcessorCount)
        self.catalog = try DeploymentCatalog(store: store, pollIntervalMs: configuration.aliasPollMs)
        self.cache = ResponseCache(budget: configuration.cacheBytes)
        self.accessStats = AccessStats(workers: count)
        self.clientLimits = ClientLimits(configuration.clientLimits)
        self.accessLog = configuration.accessLog.enabled ? try AccessLog(configuration.accessLog, logger: logger) : nil
        self.group = try EventLoopGroup(loopCount: count, namePrefix: "wharf-edge")
        self.workers = Mutex([])
        if let tls = configuration.tls {
            do {
                self.tlsContext = Mutex(
                    try TLSServerContext(
                        certificates: tls.certificates, alpn: EdgeServer.alpn(configuration),
                        ticketKeyRotationSeconds: tls.ticketKeyRotationSeconds,
                        rejectUnknownServerNames: tls.strictServerNames))
            } catch {
                try? group.shutdown()
                throw error
            }
        } else {
            self.tlsContext = Mutex(nil)
        }
        // A switched alias makes the old deployment's cached bodies unreachable: drop them.
        catalog.observe { [cache] old, new in
            let retired = Set(old.apps.values.map(\.id)).subtracting(new.apps.values.map(\.id))
            if !retired.isEmpty { cache.purge { retired.contains($0.deployment) } }
        }
    }

    /// When the server was created (uptime in the admin status).
    public let createdAt = ContinuousClock.now

    /// Event-loop threads serving requests.
    public var workerCount: Int { group.threads.count }

    /// The port every loop listens on (the real one when 0 was configured).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// The HTTPS port every loop listens on (0 when TLS is off).
    public var tlsPort: Int { boundTLSPort.load(ordering: .acquiring) }

    /// The certificates new handshakes use (the admin listener makes an http/1.1-only sibling of
    /// them), nil when TLS is off.
    public var currentTLSContext: TLSServerContext? { tlsContext.withLock { $0 } }

    /// What the current TLS certificates say about themselves (empty when TLS is off).
    public var tlsCertificates: [TLSCertificateSummary] { tlsContext.withLock { $0?.certificates ?? [] } }

    /// Binds every loop's listener and starts polling for alias changes.
    public func start() throws {
        var port = configuration.listenPort
        var tlsPort = configuration.tls?.listenPort ?? 0
        let context = TLSContextRef(tlsContext.withLock { $0 })
        let threshold = BodyLoader.sendfileThreshold(configured: configuration.sendfileThresholdBytes, cacheBytes: configuration.cacheBytes)
        let loader = BodyLoader(store: store, sendfileThreshold: threshold, missingBlobs: missingBlobs)
        for (index, loop) in group.loops.enumerated() {
            let requested = port
            let requestedTLS = tlsPort
            let (ref, bound, boundTLS) = try loop.executeAndWait { [self] () throws -> (WorkerRef, Int, Int) in
                let worker = EdgeWorker(
                    index: index, loop: loop, configuration: configuration, catalog: catalog,
                    cache: cache, bodyLoader: loader, metrics: metrics, stats: accessStats,
                    logger: logger)
                worker.tlsContext = context.value
                worker.clientLimits = clientLimits
                worker.accessLog = accessLog.map(LoopAccessLog.init)
                let bound = try worker.start(port: requested, tlsPort: requestedTLS)
                return (WorkerRef(worker), bound, worker.boundTLSPort)
            }
            port = bound
            tlsPort = boundTLS
            workers.withLock { $0.append(ref) }
        }
        boundPort.store(port, ordering: .releasing)
        boundTLSPort.store(tlsPort, ordering: .releasing)
        catalog.startPolling()
    }

    /// Applies what can change without a restart (routing, early hints) on every loop.
    public func reload(_ fresh: EdgeConfiguration) {
        let responder = ArtifactResponder(router: EdgeWorker.router(fresh), earlyHints: fresh.earlyHints)
        for ref in workers.withLock({ $0 }) {
            _ = ref.worker.loop.execute { ref.worker.responder = responder }
        }
    }

    /// Loads `certificates` afresh (files may have been replaced) and hands the new context to
    /// every loop: new handshakes use it, open connections keep theirs, the ticket key carries
    /// over. On any error nothing changes and the error says which file and why.
    public func reloadCertificates(_ certificates: [TLSCertificateFiles]) throws(TLSError) {
        let previous = tlsContext.withLock { $0 }
        guard let previous else { return }
        let fresh = try TLSServerContext(
            certificates: certificates, alpn: previous.alpnProtocols, previous: previous,
            rejectUnknownServerNames: previous.rejectsUnknownServerNames)
        tlsContext.withLock { $0 = fresh }
        let ref = TLSContextRef(fresh)
        for worker in workers.withLock({ $0 }) {
            _ = worker.worker.loop.execute { worker.worker.tlsContext = ref.value }
        }
    }

    /// Open connections across all loops.
    public func connectionCount() -> Int {
        workers.withLock { $0 }.reduce(0) { total, ref in
            total + ((try? ref.worker.loop.executeAndWait { ref.worker.connectionCount }) ?? 0)
        }
    }

    /// Graceful stop: no new connections; in-flight responses finish within the drain timeout;
    /// then every loop closes its handles and its thread ends.
    public func shutdown() {
        let refs = workers.withLock { $0 }
        let remaining = Atomic<Int>(refs.count)
        for ref in refs {
            _ = ref.worker.loop.execute {
                ref.worker.beginDrain { remaining.subtract(1, ordering: .relaxed) }
            }
        }
        let deadline = Date().addingTimeInterval(Double(configuration.drainTimeoutMs) / 1000)
        while remaining.load(ordering: .relaxed) > 0 && Date() < deadline {
            usleep(10_000)
        }
        for ref in refs {
            try? ref.worker.loop.executeAndWait { ref.worker.closeAll() }
        }
        catalog.stop()
        accessLog?.stop()
        do { try group.shutdown() } catch { logger("event loops did not close cleanly: \(error)") }
    }
}

/// Carries a TLS context (thread-safe once built) into loop closures.
final class TLSContextRef: @unchecked Sendable {
    let value: TLSServerContext?
    init(_ value: TLSServerContext?) { self.value = value }
}

/// Hands a loop-confined worker across threads; it is only touched on its own loop.
final class WorkerRef: @unchecked Sendable {
    let worker: EdgeWorker
    init(_ worker: EdgeWorker) { self.worker = worker }
}

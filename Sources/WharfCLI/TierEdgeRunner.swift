import ArtifactStore
import Edge
import Foundation
import Glibc
import Synchronization
import TLS
import Tier
import UVLoop

/// `wharf edge --origin URL`: an edge with no local publishing. Its store is a replica: the
/// origin's deployments and aliases imported by `ReplicaSync`, blobs fetched on first request by
/// `BlobFetcher` (collapsed, verified, kept on disk within `edge.tier.disk_bytes`). The edge
/// itself — catalogue, planner, caches, admin API — is the one `wharf edge` runs on a local store.
/// No scheduler, deploy, hook or warm routes: nothing is published here.
struct TierEdgeRunner {
    var options: ServerOptions
    var settings: ConfigurationLoader.Settings
    var tier: TierSettings

    func run() async throws {
        ServerSignals.install()
        let log: @Sendable (String) -> Void = { line in
            let text = "wharf: \(line)\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
        let origin = try OriginURL(tier.origin)
        let tls = origin.isSecure ? try TLSClientContext(trustedCAFile: tier.caFile.isEmpty ? nil : tier.caFile) : nil
        let client = OriginClient(origin: origin, token: try tier.token(store: settings.store), tls: tls)
        let store = try Store.open(at: settings.store)
        try Self.claimReplica(store, origin: origin)
        _ = OpenFileLimit.raiseToHardLimit()
        // Blob fetches wait on libuv's thread pool (up to twice edge.tier.max_fetches of them): give
        // it room beyond them for the disk loads of what the edge holds (unless the operator set it).
        if getenv("UV_THREADPOOL_SIZE") == nil {
            setenv("UV_THREADPOOL_SIZE", String(min(128, 4 + 2 * tier.maxFetches)), 1)
        }
        let disk = try TierDiskCache(store: store, budget: tier.diskBytes)
        var limits = BlobFetcher.Limits()
        limits.timeout = .milliseconds(tier.fetchTimeoutMs)
        limits.maxConcurrent = tier.maxFetches
        let fetcher = BlobFetcher(store: store, client: client, disk: disk, limits: limits, log: log)

        var edgeConfiguration = settings.edge
        edgeConfiguration.tls = try TLSWiring.withCertificates(settings.edge.tls, store: settings.store, log: log)
        let edge = try EdgeServer(configuration: edgeConfiguration, store: store, missingBlobs: fetcher, logger: log)
        try edge.start()
        log(
            "edge listening on http://\(settings.edge.listenHost):\(edge.port)/ (tier edge of \(origin), store \(settings.store), "
                + "\(disk.count) blobs / \(disk.bytes) bytes on disk, budget \(disk.budget))")

        var syncSettings = ReplicaSync.Settings()
        syncSettings.fullCheckInterval = .milliseconds(tier.fullCheckMs)
        syncSettings.requestTimeout = .milliseconds(max(tier.fetchTimeoutMs, 1000))
        let sync = ReplicaSync(
            store: store, client: client, settings: syncSettings,
            imported: { [edge, store, fetcher] in
                _ = try? edge.catalog.refresh()
                // The new deployments' entry points and their preloads, before anyone asks.
                let blobs = edge.catalog.snapshot.apps.values.flatMap { served in
                    (try? store.deployment(id: served.id)).flatMap { $0.map { BlobFetcher.entryPointBlobs(of: $0) } } ?? []
                }
                fetcher.prefetch(Array(blobs.prefix(1024)))
            }, log: log)
        sync.start()

        let admin: AdminServer
        do {
            let token = try AdminToken.resolve(storePath: store.path)
            admin = AdminServer(edge: edge, token: token, logger: log)
            if settings.edge.adminTLS, let context = edge.currentTLSContext { admin.useTLS(context) }
            admin.addMetrics { text in TierMetrics.render(fetcher: fetcher, sync: sync, &text) }
            admin.addStatusSection("tier") { TierMetrics.Status(fetcher: fetcher, sync: sync, origin: "\(origin)") }
            try admin.start()
            log(
                "admin API on \(admin.usesTLS ? "https" : "http")://\(settings.edge.adminHost):\(admin.port)/_wharf/ (bearer token from \(token.source))"
            )
        } catch {
            log("admin API could not start: \(error)")
            sync.stop()
            edge.shutdown()
            throw error
        }

        while true {
            let received = await SignalWait.next()
            if received == SIGUSR1 {
                edge.accessLog?.reopen()
                continue
            }
            if received == SIGHUP {
                do {
                    let fresh = try await options.resolve()
                    edge.reload(fresh.edge)
                    log("configuration reloaded (edge routing and early hints; edge.tier keys apply at restart)")
                } catch {
                    log("reload refused, keeping the running configuration: \(error)")
                }
                continue
            }
            log("signal \(received): draining (up to \(settings.edge.drainTimeoutMs) ms)")
            sync.stop()
            admin.shutdown()
            edge.shutdown()
            log("stopped")
            return
        }
    }
}

extension TierEdgeRunner {
    /// The file that marks a store as a tier edge's replica (it names the origin).
    static let replicaMarker = "replica-of"

    /// A replica keeps only what its origin serves and drops everything else at each import, so a
    /// tier edge refuses a store it did not make itself (an origin's store given by mistake would
    /// lose its deployment history): the store must be new (no apps, no blob files) or marked.
    static func claimReplica(_ store: Store, origin: OriginURL) throws {
        let marker = store.path + "/" + replicaMarker
        if FileManager.default.fileExists(atPath: marker) { return }
        guard try store.apps().isEmpty, try store.blobFileInventory().isEmpty else {
            throw NotAReplica(path: store.path)
        }
        guard FileManager.default.createFile(atPath: marker, contents: Data("\(origin)\n".utf8)) else {
            throw NotAReplica(path: store.path)
        }
    }

    struct NotAReplica: Error, CustomStringConvertible {
        var path: String
        var description: String {
            "\(path) holds a store this tier edge did not make (no \(TierEdgeRunner.replicaMarker) file): a tier edge replaces a store's "
                + "deployments with its origin's, so give it an empty directory"
        }
    }
}

/// The tier edge's families on `/_wharf/metrics` and its `tier` status section.
enum TierMetrics {
    static func render(fetcher: BlobFetcher, sync: ReplicaSync, _ text: inout PrometheusText) {
        let c = fetcher.counters
        text.counter(
            "wharf_tier_fetches_total", help: "Blob fetches from the origin (one per blob however many requests waited).",
            c.fetches.load(ordering: .relaxed))
        text.counter("wharf_tier_fetched_bytes_total", help: "Verified blob bytes fetched from the origin.", c.fetchedBytes.load(ordering: .relaxed))
        text.counter(
            "wharf_tier_collapsed_total", help: "Requests that waited for another request's fetch of the same blob.",
            c.collapsed.load(ordering: .relaxed))
        text.counter(
            "wharf_tier_fetch_failures_total", help: "Blob fetches that failed, by reason.", label: "reason",
            [
                ("unreachable", c.unreachable.load(ordering: .relaxed)), ("timeout", c.timedOut.load(ordering: .relaxed)),
                ("refused", c.refused.load(ordering: .relaxed)), ("mismatch", c.mismatched.load(ordering: .relaxed)),
            ])
        text.gauge("wharf_tier_disk_bytes", help: "Bytes of fetched blob files on disk.", Double(fetcher.disk.bytes))
        text.gauge("wharf_tier_disk_budget_bytes", help: "edge.tier.disk_bytes.", Double(fetcher.disk.budget))
        text.counter("wharf_tier_disk_evictions_total", help: "Blob files removed to stay within the disk budget.", fetcher.disk.evicted)
        let s = sync.counters
        text.counter("wharf_tier_syncs_total", help: "Origin states imported.", s.imports.load(ordering: .relaxed))
        text.counter(
            "wharf_tier_sync_failures_total", help: "Failed attempts to read or import the origin's state.", s.failures.load(ordering: .relaxed))
        text.counter(
            "wharf_tier_refused_states_total", help: "Origin state documents refused as malformed or inconsistent.",
            s.refusedStates.load(ordering: .relaxed))
        text.gauge(
            "wharf_tier_origin_generation", help: "The origin alias generation last imported (-1: none yet).",
            Double(s.originGeneration.load(ordering: .relaxed)))
    }

    struct Status: Encodable {
        var origin: String
        var originGeneration: Int64
        var syncs: Int
        var syncFailures: Int
        var fetches: Int
        var diskBytes: Int64
        var diskBudgetBytes: Int64
        var diskBlobs: Int

        init(fetcher: BlobFetcher, sync: ReplicaSync, origin: String) {
            self.origin = origin
            originGeneration = sync.counters.originGeneration.load(ordering: .relaxed)
            syncs = sync.counters.imports.load(ordering: .relaxed)
            syncFailures = sync.counters.failures.load(ordering: .relaxed)
            fetches = fetcher.counters.fetches.load(ordering: .relaxed)
            diskBytes = fetcher.disk.bytes
            diskBudgetBytes = fetcher.disk.budget
            diskBlobs = fetcher.disk.count
        }
    }
}

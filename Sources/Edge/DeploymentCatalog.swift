import ArtifactStore
import Foundation
import Synchronization

/// The set of deployments the edge serves right now: one immutable snapshot, swapped whole when
/// an alias changes, so a request plans its response from one deployment and never a mix.
///
/// A dedicated thread polls the store's alias generation (cheap) every `pollInterval` and
/// rebuilds the snapshot when it moved — publishes and rollbacks made by other processes show
/// up within one poll. Loop threads only read the current snapshot reference.
public final class DeploymentCatalog: Sendable {
    /// An immutable view: app name → its current deployment.
    public final class Snapshot: Sendable {
        public let generation: Int64
        public let apps: [String: ServedDeployment]
        /// The served apps and the registry's host names, for the router.
        public let appNames: KnownApps
        init(generation: Int64, apps: [String: ServedDeployment], hostnames: [String: String] = [:]) {
            self.generation = generation
            self.apps = apps
            self.appNames = KnownApps(names: Set(apps.keys), hostnames: hostnames)
        }
    }

    private let store: Store
    private let current: Mutex<Snapshot>
    /// Bumped after every swap, so a loop can keep its own reference and re-read `snapshot`
    /// (a lock) only when this moved.
    private let swaps = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let pollIntervalMs: Int
    private let onChange: Mutex<[@Sendable (Snapshot, Snapshot) -> Void]>
    private let refreshing = Mutex<Void>(())

    public init(store: Store, pollIntervalMs: Int = 250) throws {
        self.store = store
        self.pollIntervalMs = pollIntervalMs
        self.current = Mutex(Snapshot(generation: -1, apps: [:]))
        self.onChange = Mutex([])
        try refresh()
    }

    /// The snapshot to plan a response from.
    public var snapshot: Snapshot { current.withLock { $0 } }

    /// How many times the snapshot was swapped; read it before `snapshot`.
    public var swapCount: Int { swaps.load(ordering: .acquiring) }

    /// Called (on the polling thread) after every swap with the old and new snapshots.
    public func observe(_ body: @escaping @Sendable (Snapshot, Snapshot) -> Void) {
        onChange.withLock { $0.append(body) }
    }

    /// Reloads from the store if the alias generation moved. Unchanged deployments are reused.
    @discardableResult
    public func refresh() throws -> Bool {
        // One refresh at a time: the poller and an admin rollback must not race a stale
        // snapshot in after a newer one.
        try refreshing.withLock { _ in try refreshLocked() }
    }

    private func refreshLocked() throws -> Bool {
        let generation = try store.aliasGeneration()
        let old = snapshot
        if generation == old.generation { return false }
        var apps: [String: ServedDeployment] = [:]
        // Registry download globs bump the generation too; a deployment is reloaded when they changed.
        let downloadPatterns = try store.registeredDownloadPatterns()
        for app in try store.apps() {
            guard let id = try store.currentDeploymentID(app: app) else { continue }
            let patterns = downloadPatterns[app] ?? []
            if let existing = old.apps[app], existing.id == id, existing.downloadPatterns == patterns {
                apps[app] = existing
            } else if let manifest = try store.deployment(id: id) {
                apps[app] = ServedDeployment(manifest: manifest, downloadPatterns: patterns)
            }
        }
        // Registry host names bump the same generation, so they are read here too.
        let new = Snapshot(generation: generation, apps: apps, hostnames: try store.registeredHostnames())
        current.withLock { $0 = new }
        swaps.add(1, ordering: .releasing)
        for observer in onChange.withLock({ $0 }) { observer(old, new) }
        return true
    }

    /// Starts the polling thread; it ends after `stop()`.
    public func startPolling() {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                usleep(UInt32(pollIntervalMs * 1000))
                do { try refresh() } catch {
                    // The store may be busy (another process publishing); try again next poll.
                }
            }
        }
        thread.name = "wharf-catalog"
        thread.start()
    }

    public func stop() { stopping.store(true, ordering: .relaxed) }
}

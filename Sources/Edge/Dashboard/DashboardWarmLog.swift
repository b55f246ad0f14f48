import Synchronization

/// When the warm batch last preloaded each app into this edge's response cache, and what it
/// loaded: the Apps page's "last warmed". Recorded by the batch's preloader in this process (the
/// wiring hands it this log); kept in memory only (lost on restart), at most `capacity` apps (the
/// app warmed longest ago is forgotten first).
public final class DashboardWarmLog: Sendable {
    /// One preload of one app.
    public struct Record: Sendable, Encodable, Equatable {
        /// When it finished, seconds since the Unix epoch.
        public var at: Double
        /// The deployment it preloaded.
        public var deployment: String
        /// Paths asked for, representations loaded and skipped, body bytes loaded into memory.
        public var paths: Int
        public var loaded: Int
        public var skipped: Int
        public var bytes: Int

        public init(at: Double, deployment: String, paths: Int, loaded: Int, skipped: Int, bytes: Int) {
            self.at = at
            self.deployment = deployment
            self.paths = paths
            self.loaded = loaded
            self.skipped = skipped
            self.bytes = bytes
        }
    }

    public static let capacity = 1000
    private let records = Mutex<[String: Record]>([:])

    public init() {}

    public func record(app: String, _ record: Record) {
        records.withLock { all in
            all[app] = record
            if all.count > Self.capacity, let oldest = all.min(by: { $0.value.at < $1.value.at })?.key {
                all[oldest] = nil
            }
        }
    }

    /// The app's latest record, nil when the batch has not warmed it since start.
    public func last(app: String) -> Record? {
        records.withLock { $0[app] }
    }

    public var count: Int { records.withLock { $0.count } }
}

import Foundation

/// One build slot: a place that runs one build at a time (a local process slot, or a VM in a cloud).
public struct Slot: Sendable, Equatable, Identifiable {
    public enum Phase: String, Sendable, Equatable {
        /// Requested, not usable yet (VM booting); costs money already.
        case provisioning
        case idle
        /// Running `jobID`; never released in this phase.
        case busy
    }

    public let id: String
    public var phase: Phase
    var requestedAt: Date
    /// While provisioning: when it becomes usable; afterwards: when it did.
    var readyAt: Date
    var idleSince: Date?
    public var jobID: Int64?
    var busySince: Date?
    /// Platform tools installed (`node`, `flutter`, `android-sdk`, `xcode`, …).
    var tools: Set<String>
    /// The dependency lock-file hashes this slot has installed, most recent last.
    public var dependencyCache: DependencyCache
    /// Host load in 0...1 (0 for a slot that runs nothing else).
    public var load: Double
    /// Past speed: moving average of expected ÷ actual duration (1 = as expected, 2 = twice as fast).
    public var speed: Double
    /// Builds finished on this slot.
    var buildsRun: Int

    init(id: String, requestedAt: Date, readyAt: Date, tools: Set<String>, cacheCapacity: Int = 20) {
        self.id = id
        self.phase = readyAt <= requestedAt ? .idle : .provisioning
        self.requestedAt = requestedAt
        self.readyAt = readyAt
        self.idleSince = phase == .idle ? readyAt : nil
        self.tools = tools
        self.dependencyCache = DependencyCache(capacity: cacheCapacity)
        self.load = 0
        self.speed = 1
        self.buildsRun = 0
    }
}

/// A small LRU set of dependency hashes (default 20 per slot, as the trace's slot model says).
public struct DependencyCache: Sendable, Equatable {
    let capacity: Int
    /// Least recently used first.
    private(set) var hashes: [String] = []

    init(capacity: Int = 20) { self.capacity = max(1, capacity) }

    func contains(_ hash: String) -> Bool { hashes.contains(hash) }

    /// Marks `hash` as just used, evicting the least recently used beyond capacity.
    mutating func touch(_ hash: String) {
        if let at = hashes.firstIndex(of: hash) { hashes.remove(at: at) }
        hashes.append(hash)
        if hashes.count > capacity { hashes.removeFirst(hashes.count - capacity) }
    }
}

/// Bounds of the slot pool (defaults 1 and 10, the seeds' maxConcurrentBuilds).
public struct SlotLimits: Sendable, Equatable {
    let min: Int
    let max: Int

    public init(min: Int = 1, max: Int = 10) throws(SchedulerError) {
        guard min >= 0, max >= 1, min <= max, max <= 10_000 else {
            throw .invalidConfiguration("slot limits need 0 ≤ min ≤ max, 1 ≤ max ≤ 10000 (got \(min)...\(max))")
        }
        self.min = min
        self.max = max
    }

    public static let `default` = try! SlotLimits()

    func clamp(_ n: Int) -> Int { Swift.min(max, Swift.max(min, n)) }
}

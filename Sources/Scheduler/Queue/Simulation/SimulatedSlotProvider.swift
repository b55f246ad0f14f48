import Foundation
import Synchronization

/// Slots as the trace's slot model describes them: usable `provisioningDelay` seconds after the request,
/// every platform tool installed, an empty dependency cache of `cacheCapacity` hashes, and billed from
/// request until release. It keeps the bill: slot-seconds of released slots, and open slots to close.
final class SimulatedSlotProvider: SlotProvider {
    public let provisioningDelay: Double
    let cacheCapacity: Int
    static let allTools: Set<String> = ["node", "flutter", "android-sdk", "xcode"]

    private struct Books {
        var next = 0
        var open: [String: Date] = [:]
        var closedSeconds = 0.0
        var started = 0
        var peak = 0
        var instant = false
    }
    private let books = Mutex(Books())

    init(provisioningDelay: Double = 45, cacheCapacity: Int = 20) {
        self.provisioningDelay = max(0, provisioningDelay)
        self.cacheCapacity = cacheCapacity
    }

    /// While `true`, new slots are usable at once (the slots a replay starts with).
    func setInstant(_ instant: Bool) { books.withLock { $0.instant = instant } }

    public func requestSlot(now: Date) throws -> Slot {
        let (id, instant) = books.withLock { b -> (String, Bool) in
            b.next += 1
            b.started += 1
            let id = "sim-\(b.next)"
            b.open[id] = now
            b.peak = max(b.peak, b.open.count)
            return (id, b.instant)
        }
        let ready = instant ? now : now.addingTimeInterval(provisioningDelay)
        return Slot(id: id, requestedAt: now, readyAt: ready, tools: Self.allTools, cacheCapacity: cacheCapacity)
    }

    public func releaseSlot(id: String, now: Date) {
        books.withLock { b in
            guard let since = b.open.removeValue(forKey: id) else { return }
            b.closedSeconds += max(0, now.timeIntervalSince(since))
        }
    }

    /// Slot-seconds so far, charging open slots up to `now`.
    func slotSeconds(upTo now: Date) -> Double {
        books.withLock { b in
            b.closedSeconds + b.open.values.reduce(0) { $0 + max(0, now.timeIntervalSince($1)) }
        }
    }

    /// Slots requested so far.
    var slotsStarted: Int { books.withLock { $0.started } }
    /// Most slots open at once.
    var peakSlots: Int { books.withLock { $0.peak } }
}

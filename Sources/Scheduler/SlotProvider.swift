import Foundation
import Synchronization

/// Where slots come from: local processes, or VMs that take a while to boot. The pool asks for slots
/// and gives them back; the provider says how long a new one takes to become usable.
public protocol SlotProvider: AnyObject, Sendable {
    /// Seconds from request until a new slot is usable.
    var provisioningDelay: Double { get }
    /// Starts a new slot; it is usable at its `readyAt`.
    func requestSlot(now: Date) throws -> Slot
    /// Gives a slot back (the pool never releases a busy one).
    func releaseSlot(id: String, now: Date)
}

/// Slots that are process groups on this machine: usable at once, all with the configured tools.
public final class LocalProcessSlotProvider: SlotProvider {
    public let provisioningDelay: Double = 0
    public let tools: Set<String>
    private let counter = Mutex(0)

    public init(tools: Set<String> = ["node", "flutter", "android-sdk"]) { self.tools = tools }

    public func requestSlot(now: Date) throws -> Slot {
        let n = counter.withLock { value in
            value += 1
            return value
        }
        return Slot(id: "local-\(n)", requestedAt: now, readyAt: now, tools: tools)
    }

    public func releaseSlot(id: String, now: Date) {}
}

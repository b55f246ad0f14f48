import Synchronization

/// Token buckets for many keys in a fixed amount of memory, shared by every loop of a process
/// without a lock.
///
/// Each bucket is one 64-bit atomic word: a 24-bit fingerprint of its key and the bucket's
/// "theoretical arrival time" (GCRA, the generic cell rate algorithm: a token bucket stored as the
/// time at which it will be full again) in 40 bits of 100 µs ticks. A request is one load and one
/// compare-and-swap; two loops updating the same key retry the swap, never wait. A key lives in
/// one of two adjacent slots of a power-of-two table; a new key takes the slot whose bucket is
/// full again (its state is then the same as no state), else evicts the one nearest to full —
/// so the table's memory is `slots × 8` bytes whatever the number of addresses, and an eviction
/// can only make a limit more lenient for the evicted key, never stricter for anyone.
/// Two keys with the same slot pair and fingerprint (1 in 2^24 for keys that meet) share a bucket.
///
/// Why atomics rather than per-loop tables with a share of the rate each: SO_REUSEPORT spreads a
/// client's connections over the loops by hash, so one keep-alive connection would get 1/N of its
/// rate on an N-loop edge; one shared table enforces the configured rate exactly.
final class RateTable: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>
    private let mask: Int
    let capacity: Int
    /// Keys that pushed out a bucket that was not yet full (state lost, limit relaxed for it).
    let evictions = Atomic<Int>(0)
    /// Start of the tick clock (monotonic nanoseconds).
    private let epoch: UInt64

    static let tickNanoseconds: UInt64 = 100_000
    static let ticksPerSecond: Double = 10_000
    private static let tatBits: UInt64 = 40
    private static let tatMask: UInt64 = (1 << tatBits) - 1

    /// - Parameter capacity: slots, rounded up to a power of two (at least 2).
    init(capacity: Int) {
        var n = 2
        while n < capacity { n <<= 1 }
        self.capacity = n
        mask = n - 1
        slots = .allocate(capacity: n)
        for i in 0..<n { (slots + i).initialize(to: Atomic(0)) }
        epoch = EdgeClock.monotonicNanoseconds()
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Now in ticks since the table was made (starts at 1 so a zero word is always "full").
    func now() -> UInt64 {
        (EdgeClock.monotonicNanoseconds() &- epoch) / RateTable.tickNanoseconds &+ 1
    }

    /// The outcome of one request against a bucket.
    struct Decision: Equatable {
        var allowed: Bool
        /// Whole tokens left after this request (0 when refused).
        var remaining: Int
        /// Seconds until a request would be allowed (0 when allowed), rounded up.
        var retryAfterSeconds: Int
        /// Seconds until the bucket is full again, rounded up.
        var resetSeconds: Int
    }

    /// Takes one token from the bucket of `key` (`rate` per second, `burst` at most).
    func take(key: UInt64, rate: Double, burst: Int, now: UInt64? = nil) -> Decision {
        let now = now ?? self.now()
        let interval = max(1, UInt64((RateTable.ticksPerSecond / max(rate, 1e-6)).rounded()))
        let tolerance = interval &* UInt64(max(1, burst))
        let fingerprint = key >> RateTable.tatBits
        let first = Int(truncatingIfNeeded: key) & mask
        for _ in 0..<16 {
            // The key's slot, or the one a new key takes.
            var slot = first
            var current = slots[first].load(ordering: .relaxed)
            var matched = current >> RateTable.tatBits == fingerprint
            if !matched {
                let other = first ^ 1
                let second = slots[other].load(ordering: .relaxed)
                if second >> RateTable.tatBits == fingerprint {
                    slot = other
                    current = second
                    matched = true
                } else if (second & RateTable.tatMask) < (current & RateTable.tatMask) {
                    slot = other
                    current = second
                }
            }
            let stored = matched ? current & RateTable.tatMask : 0
            if !matched && current & RateTable.tatMask > now { evictions.add(1, ordering: .relaxed) }
            let tat = max(stored, now)
            let next = tat &+ interval
            if next &- now > tolerance {
                let wait = next &- now &- tolerance
                return Decision(
                    allowed: false, remaining: 0,
                    retryAfterSeconds: RateTable.seconds(wait), resetSeconds: RateTable.seconds(tat &- now))
            }
            let word = fingerprint << RateTable.tatBits | (next & RateTable.tatMask)
            if slots[slot].compareExchange(expected: current, desired: word, ordering: .relaxed).exchanged {
                let remaining = Int((tolerance &- (next &- now)) / interval)
                return Decision(
                    allowed: true, remaining: remaining, retryAfterSeconds: 0,
                    resetSeconds: RateTable.seconds(next &- now))
            }
        }
        // Sixteen lost races on one word: let the request through rather than spin.
        return Decision(allowed: true, remaining: 0, retryAfterSeconds: 0, resetSeconds: 0)
    }

    static func seconds(_ ticks: UInt64) -> Int {
        Int((ticks &+ UInt64(ticksPerSecond) &- 1) / UInt64(ticksPerSecond))
    }
}

/// Open connections per key (client address) in a fixed amount of memory, shared by the loops
/// without a lock: one 64-bit word per slot, a 24-bit fingerprint and a 40-bit count; a key
/// looks at four adjacent slots. A slot is free when its count is 0. If all four hold other
/// live keys the connection is admitted untracked (counted), so memory stays bounded and no
/// address is ever refused because of another's.
final class ConnectionTable: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>
    private let mask: Int
    let capacity: Int
    /// Connections admitted without a slot (the four slots of their key were all taken).
    let untracked = Atomic<Int>(0)
    private static let countBits: UInt64 = 40
    private static let countMask: UInt64 = (1 << countBits) - 1

    init(capacity: Int) {
        var n = 4
        while n < capacity { n <<= 1 }
        self.capacity = n
        mask = n - 1
        slots = .allocate(capacity: n)
        for i in 0..<n { (slots + i).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// What `acquire` decided.
    enum Admission: Equatable {
        /// Admitted and counted in this slot (pass it to `release`).
        case counted(slot: Int)
        /// Admitted without a slot.
        case untracked
        /// The key already has `cap` connections.
        case refused
    }

    func acquire(key: UInt64, cap: Int) -> Admission {
        let fingerprint = key >> ConnectionTable.countBits
        let base = Int(truncatingIfNeeded: key) & mask & ~3
        for _ in 0..<16 {
            var free: (slot: Int, word: UInt64)?
            var mine: (slot: Int, word: UInt64)?
            for i in 0..<4 {
                let word = slots[base + i].load(ordering: .relaxed)
                let count = word & ConnectionTable.countMask
                if count == 0 {
                    if free == nil { free = (base + i, word) }
                } else if word >> ConnectionTable.countBits == fingerprint {
                    mine = (base + i, word)
                    break
                }
            }
            if let mine {
                if Int(mine.word & ConnectionTable.countMask) >= cap { return .refused }
                if slots[mine.slot].compareExchange(expected: mine.word, desired: mine.word &+ 1, ordering: .relaxed).exchanged {
                    return .counted(slot: mine.slot)
                }
                continue
            }
            guard let free else {
                untracked.add(1, ordering: .relaxed)
                return .untracked
            }
            if cap < 1 { return .refused }
            let word = fingerprint << ConnectionTable.countBits | 1
            if slots[free.slot].compareExchange(expected: free.word, desired: word, ordering: .relaxed).exchanged {
                return .counted(slot: free.slot)
            }
        }
        untracked.add(1, ordering: .relaxed)
        return .untracked
    }

    /// Ends a connection counted in `slot`.
    func release(slot: Int) {
        slots[slot].subtract(1, ordering: .relaxed)
    }

    /// The count in the slot of `key`, for tests (0 when none).
    func count(key: UInt64) -> Int {
        let fingerprint = key >> ConnectionTable.countBits
        let base = Int(truncatingIfNeeded: key) & mask & ~3
        for i in 0..<4 {
            let word = slots[base + i].load(ordering: .relaxed)
            if word & ConnectionTable.countMask != 0, word >> ConnectionTable.countBits == fingerprint {
                return Int(word & ConnectionTable.countMask)
            }
        }
        return 0
    }
}

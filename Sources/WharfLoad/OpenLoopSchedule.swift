/// When each request of an open-loop run is *meant* to be sent, and on which connection.
///
/// Request i (0-based) is due at `start + i / rate` and goes to connection `i mod connections`,
/// so each connection carries rate/connections requests per second, evenly interleaved. Latency is
/// measured from this intended time, not from when the request actually left: a server that stalls
/// is charged for the requests that piled up behind the stall (no coordinated omission).
struct OpenLoopSchedule: Sendable, Equatable {
    let startNanos: UInt64
    /// Requests per second over all connections (> 0).
    let rate: Double
    let connections: Int
    /// No request is due at or after `startNanos + durationNanos`.
    let durationNanos: UInt64
    /// Upper bound on the number of requests of the run.
    let maxRequests: Int

    init(startNanos: UInt64, rate: Double, connections: Int, durationNanos: UInt64, maxRequests: Int) {
        precondition(rate > 0 && connections > 0 && maxRequests >= 0)
        self.startNanos = startNanos
        self.rate = rate
        self.connections = connections
        self.durationNanos = durationNanos
        self.maxRequests = maxRequests
    }

    /// The number of requests in the whole run: min(maxRequests, ⌈duration × rate⌉).
    var totalRequests: Int {
        let byTime = (Double(durationNanos) / 1e9 * rate).rounded(.up)
        return Int(min(Double(maxRequests), byTime))
    }

    /// Intended send time of request `index`, in monotonic nanoseconds.
    func intendedNanos(_ index: Int) -> UInt64 {
        startNanos + UInt64((Double(index) * 1e9 / rate).rounded())
    }

    func connection(for index: Int) -> Int { index % connections }

    /// How many requests are due at `now` (those with intendedNanos ≤ now), capped by `totalRequests`.
    func dueCount(at now: UInt64) -> Int {
        guard now >= startNanos else { return 0 }
        let elapsed = Double(now - startNanos)
        let due = Int((elapsed * rate / 1e9).rounded(.down)) + 1
        // Correct the floating-point edge so that dueCount agrees with intendedNanos exactly.
        var n = min(due, totalRequests)
        while n > 0 && intendedNanos(n - 1) > now { n -= 1 }
        while n < totalRequests && intendedNanos(n) <= now { n += 1 }
        return n
    }

    /// Intended time of the first request not yet due at `now`, or nil when the run has no more.
    func nextDueNanos(after now: UInt64) -> UInt64? {
        let n = dueCount(at: now)
        return n < totalRequests ? intendedNanos(n) : nil
    }
}

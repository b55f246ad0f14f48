/// The bookkeeping every listener of this module shares (the edge's workers and the admin
/// server): the connections of one loop by id, the connection cap, the drain on shutdown, and
/// the timeout sweep. It does no I/O and keeps no clock: events come in (an accept asks for
/// admission, a connection closes, a timer tick brings `now`), decisions go out (admit or refuse
/// and why, which connections timed out and how, when the drain has finished), and the listener
/// carries them out with its own sockets, responses and metrics. So the rules are the same for
/// both listeners, and tests drive them on a virtual clock without a socket.
///
/// Not on the request path: it is touched once per accepted and closed connection and once per
/// tick. Loop thread only (a value owned by the loop's listener).
/// `Connection` is a class (or a class-bound existential such as `any EdgeConnection`).
struct ConnectionCore<Connection> {
    /// What an accept gets.
    enum Admission: Equatable {
        case accept
        /// At the cap: the listener answers 503 and closes (or only closes, before a TLS handshake).
        case refuseFull
        /// Shutting down: no new connections.
        case refuseDraining
    }

    let maxConnections: Int
    let timeouts: ConnectionTimeouts
    private var connections: [Int: Connection] = [:]
    private var lastID = 0
    private(set) var isDraining = false
    /// The drain's end has been reported (by `beginDrain` or a sweep); it is reported once.
    private var drainReported = false
    /// The connection ids of the current sweep round, and how far the round has got.
    private var sweepRound: [Int] = []
    private var sweepCursor = 0
    /// Ticks per round: a round lasts at most a fifth of the shortest request/idle/send timeout,
    /// and at most 8 ticks.
    private let sweepSlices: Int

    /// - Parameter tickMs: how often the listener calls `sweep` (sizes the sweep's slices).
    init(maxConnections: Int, timeouts: ConnectionTimeouts, tickMs: Int) {
        self.maxConnections = maxConnections
        self.timeouts = timeouts
        sweepSlices = max(1, min(8, timeouts.shortestMs / 5 / max(1, tickMs)))
    }

    var count: Int { connections.count }
    var isEmpty: Bool { connections.isEmpty }

    subscript(id: Int) -> Connection? { connections[id] }

    /// Every connection, as a copy: closing them while iterating is safe.
    var all: [Connection] { Array(connections.values) }

    /// Whether a new connection may be accepted now.
    func admission() -> Admission {
        if isDraining { return .refuseDraining }
        return connections.count >= maxConnections ? .refuseFull : .accept
    }

    /// The id for the next admitted connection (never reused while the table lives).
    mutating func nextID() -> Int {
        lastID += 1
        return lastID
    }

    /// Adds an admitted connection (or replaces the one under `id`: a protocol switch hands the
    /// same socket to a new connection object).
    mutating func insert(_ connection: Connection, id: Int) {
        connections[id] = connection
    }

    /// Removes `connection` if it is still the one under `id` (a connection replaced by its
    /// successor reports its close too late to take the successor with it). True when removed.
    @discardableResult
    mutating func remove(_ connection: Connection, id: Int) -> Bool {
        guard let current = connections[id], current as AnyObject === connection as AnyObject else { return false }
        connections[id] = nil
        return true
    }

    /// Stops admitting; `drainFinished()` (and each later `sweep`) tells when the last
    /// connection has gone.
    mutating func beginDrain() {
        isDraining = true
    }

    /// True once, the first time it is asked after `beginDrain()` with no connection left.
    mutating func drainFinished() -> Bool {
        guard isDraining, !drainReported, connections.isEmpty else { return false }
        drainReported = true
        return true
    }

    /// The outcome of one tick.
    struct Sweep {
        /// Connections whose timeout fired, with which one, in the order they were looked at.
        var expired: [(connection: Connection, timeout: ConnectionTimeout)] = []
        /// The drain began and the last connection has gone (reported once).
        var drained = false
    }

    /// One tick: looks at the next slice of the connections and says which timed out. A round
    /// takes a snapshot of the ids and each tick looks at the next slice, so 10,000 idle
    /// connections cost a few hundred microseconds per tick instead of one multi-millisecond
    /// stall every tick; with up to 256 connections every tick looks at all of them. A timeout
    /// fires at most two rounds late. `timing` reads a connection's clocks (nil: it has closed).
    mutating func sweep(now: UInt64, timing: (Connection) -> ConnectionTiming?) -> Sweep {
        var result = Sweep()
        if sweepCursor >= sweepRound.count {
            sweepRound = Array(connections.keys)
            sweepCursor = 0
        }
        let end = min(sweepRound.count, sweepCursor + max(256, (sweepRound.count + sweepSlices - 1) / sweepSlices))
        for id in sweepRound[sweepCursor..<end] {
            // Closed connections have left the table; the round holds ids, never the connections.
            guard let connection = connections[id], let clocks = timing(connection) else { continue }
            if let timeout = timeouts.expired(clocks, now: now) { result.expired.append((connection, timeout)) }
        }
        sweepCursor = end
        if sweepCursor >= sweepRound.count { sweepRound = [] }
        result.drained = drainFinished()
        return result
    }
}

/// The limits a `ConnectionCore` enforces, in loop milliseconds.
struct ConnectionTimeouts: Equatable {
    /// A TLS handshake must finish within this (then the connection closes: nothing can be said).
    var handshakeMs: Int
    /// A request must arrive completely within this once its first byte came (then 408).
    var requestMs: Int
    /// An idle keep-alive connection closes after this.
    var idleMs: Int
    /// A busy connection whose output has not moved for this long closes (a client that stopped reading).
    var sendMs: Int

    /// What sizes the sweep's slices (the handshake timeout does not: it is the coarsest check).
    var shortestMs: Int { min(requestMs, idleMs, sendMs) }

    /// Which timeout, if any, `clocks` have passed at `now`. A handshake under way is timed by
    /// the handshake timeout alone; otherwise the request timeout comes first, then idle, then send.
    func expired(_ clocks: ConnectionTiming, now: UInt64) -> ConnectionTimeout? {
        if let started = clocks.handshakeStartedMs {
            return now &- started > UInt64(handshakeMs) ? .handshake : nil
        }
        if let started = clocks.requestStartedMs, now &- started > UInt64(requestMs) { return .request }
        if let since = clocks.idleSinceMs, now &- since > UInt64(idleMs) { return .idle }
        if let since = clocks.stalledSinceMs, now &- since > UInt64(sendMs) { return .send }
        return nil
    }
}

/// Which limit a connection passed.
enum ConnectionTimeout: Equatable {
    /// Its TLS handshake took too long: close (no HTTP can be spoken yet).
    case handshake
    /// Its request did not arrive in time: answer 408, then close.
    case request
    /// Idle too long: close.
    case idle
    /// Its output stalled: close.
    case send
}

/// What a connection reports to the timeout sweep: since when each timeout's clock runs, or nil
/// where that timeout does not apply now (loop milliseconds).
struct ConnectionTiming: Equatable {
    /// A TLS handshake began and has not finished.
    var handshakeStartedMs: UInt64?
    /// A request is partly received (and no answer is being worked on).
    var requestStartedMs: UInt64?
    /// Nothing asked and nothing to send since then.
    var idleSinceMs: UInt64?
    /// Busy, and neither output nor input has moved since then.
    var stalledSinceMs: UInt64?

    init(
        handshakeStartedMs: UInt64? = nil, requestStartedMs: UInt64? = nil, idleSinceMs: UInt64? = nil,
        stalledSinceMs: UInt64? = nil
    ) {
        self.handshakeStartedMs = handshakeStartedMs
        self.requestStartedMs = requestStartedMs
        self.idleSinceMs = idleSinceMs
        self.stalledSinceMs = stalledSinceMs
    }
}

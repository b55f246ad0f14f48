/// One build request of a scheduler trace (`../shared/traces/TRACE-FORMAT.md`): when it arrives, what it
/// builds, and everything random about its attempts fixed in advance, so every policy sees the same demand.
struct TraceRecord: Sendable, Equatable {
    enum Actor: String, Sendable, Equatable {
        case human, bot, system
    }

    var requestID: Int
    /// Seconds from trace start (00:00 of day 0).
    var arrival: Double
    public var app: String
    public var buildType: String
    public var kind: JobKind
    public var hint: PriorityHint
    var sourceHash: String
    var dependencyHash: String
    /// Run time of a successful attempt on a slot that has the dependency hash cached.
    var serviceWarm: Double
    /// Extra time of any attempt on a slot without the dependency hash.
    var coldExtra: Double
    /// Warm run time until a failing attempt fails.
    var failAfter: Double?
    /// Leading attempts that fail (≥ 4 means every attempt fails).
    var failAttempts: Int
    public var popularity: Double
    var actor: Actor
    var parentRequestID: Int?

    init(
        requestID: Int, arrival: Double, app: String, buildType: String, kind: JobKind, hint: PriorityHint = .normal,
        sourceHash: String, dependencyHash: String, serviceWarm: Double, coldExtra: Double, failAfter: Double? = nil,
        failAttempts: Int = 0, popularity: Double = 0.1, actor: Actor = .human, parentRequestID: Int? = nil
    ) {
        self.requestID = requestID
        self.arrival = arrival
        self.app = app
        self.buildType = buildType
        self.kind = kind
        self.hint = hint
        self.sourceHash = sourceHash
        self.dependencyHash = dependencyHash
        self.serviceWarm = serviceWarm
        self.coldExtra = coldExtra
        self.failAfter = failAfter
        self.failAttempts = failAttempts
        self.popularity = popularity
        self.actor = actor
        self.parentRequestID = parentRequestID
    }

    /// How attempt `attempt` (1-based) goes, on a warm or a cold slot: the trace's outcome rule.
    func attemptResult(attempt: Int, cold: Bool, timeout: Double = TraceRecord.attemptTimeout) -> AttemptResult {
        let extra = cold ? coldExtra : 0
        var result: AttemptResult
        if attempt <= failAttempts, let failAfter {
            result = AttemptResult(duration: failAfter + extra, outcome: .failed)
        } else {
            result = AttemptResult(duration: serviceWarm + extra, outcome: .succeeded)
        }
        if result.duration > timeout { result = AttemptResult(duration: timeout, outcome: .timedOut) }
        return result
    }

    /// The trace's attempt timeout (seconds).
    static let attemptTimeout = 1800.0
}

/// The fixed outcome of one attempt in a trace replay.
struct AttemptResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable { case succeeded, failed, timedOut }
    var duration: Double
    public var outcome: Outcome
}

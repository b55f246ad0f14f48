/// The life of a build job. The database enforces the same set with the `state_valid` CHECK constraint.
///
/// ```
///             enqueue
///                │
///                ▼        claim (conditional UPDATE, lease)
///   ┌──────► queued ───────────────────────────► running
///   │          │                                   │ │ │ │
///   │          │ cancel                            │ │ │ └─ finish(.cancelled) ───► cancelled
///   │          ▼                                   │ │ └─── finish(.succeeded) ───► succeeded
///   │      cancelled                               │ └───── finish(.failed), no attempts left ──► failed
///   │                                              └─────── finish(.timedOut), no attempts left ─► timed_out
///   │  retry after backoff (failed / timed out with attempts left) or lease expired (rescuer)
///   └──────────────────────────────────────────────────────────┘
/// ```
public enum JobState: String, Sendable, CaseIterable, Codable {
    /// Waiting for a slot. Exits: `running` (claimed), `cancelled`. A retried job waits here until its
    /// backoff has passed (`availableAt`). Kept until the job finishes.
    case queued
    /// Leased by one owner (a scheduler process), which must heartbeat before the lease expires.
    /// Exits: any final state through `finish`, or back to `queued` (retry, or lease expired).
    case running
    /// Final: the build produced a deployment (or the build cache supplied one).
    case succeeded
    /// Final: the last allowed attempt failed (or the failure was marked not retryable).
    case failed
    /// Final: cancelled by a user while queued or running.
    case cancelled
    /// Final: the last allowed attempt ran past its timeout and its process group was killed.
    case timed_out

    /// True for the four states a job never leaves.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .timed_out: true
        }
    }
}

/// What kind of request created the job; shapes priority (user push > manual > retry > cache warm).
public enum JobKind: String, Sendable, CaseIterable, Codable {
    /// A push by a human or a bot.
    case user_push
    /// A build started by hand (`wharf build submit`).
    case manual
    /// A rebuild of an earlier request's source, asked for by a user.
    case retry
    /// A background build from the nightly cache-warming batch.
    case cache_warm
}

/// The user-facing priority hint: 3 = release/production, 2 = normal, 1 = low (draft branch, dependency bot).
public enum PriorityHint: Int, Sendable, CaseIterable, Codable, Comparable {
    case low = 1
    case normal = 2
    case release = 3

    /// Parses a hint given as a number; anything outside 1...3 is `SchedulerError.invalidPriority`.
    init(validating value: Int) throws(SchedulerError) {
        guard let hint = PriorityHint(rawValue: value) else { throw .invalidPriority(value) }
        self = hint
    }

    public static func < (a: PriorityHint, b: PriorityHint) -> Bool { a.rawValue < b.rawValue }
}

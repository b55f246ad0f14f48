/// How long a failed attempt waits before it is queued again, and how many retries a job gets.
///
/// The delay before retry *n* (1-based) is `baseDelay × multiplier^(n−1)`, capped at `maxDelay`.
/// With the defaults (base 10 s, multiplier 2, cap 600 s, 3 retries = 4 attempts in all):
///
/// | attempt that failed | retry | delay |
/// |---|---|---|
/// | 1 | 1 | 10 s |
/// | 2 | 2 | 20 s |
/// | 3 | 3 | 40 s |
/// | 4 | — | none: the job ends `failed` (or `timed_out`) |
///
/// With base 30 s the delays are 30, 60, 120 s; with base 60 s and 8 retries they reach the cap:
/// 60, 120, 240, 480, 600, 600, 600, 600 s. No jitter: the simulator must replay exactly.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt (default 3, the seeds' limit).
    var maxRetries: Int
    var baseDelay: Double
    var multiplier: Double
    var maxDelay: Double

    public init(maxRetries: Int = 3, baseDelay: Double = 10, multiplier: Double = 2, maxDelay: Double = 600) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
    }

    public static let `default` = RetryPolicy()

    /// Attempts in all: the first one plus the retries.
    public var maxAttempts: Int { maxRetries + 1 }

    /// Seconds to wait before retry number `retry` (1-based), or nil when the limit is reached.
    func delay(beforeRetry retry: Int) -> Double? {
        guard retry >= 1, retry <= maxRetries else { return nil }
        return backoff(afterAttempt: retry)
    }
}

extension RetryPolicy {
    /// Seconds to wait after failed attempt `attempt` (1-based), ignoring the retry limit (a job may
    /// carry its own attempt limit): `baseDelay × multiplier^(attempt−1)`, capped at `maxDelay`.
    func backoff(afterAttempt attempt: Int) -> Double {
        var delay = baseDelay
        var n = 1
        while n < attempt, delay < maxDelay {
            delay *= multiplier
            n += 1
        }
        return max(0, min(delay, maxDelay))
    }
}

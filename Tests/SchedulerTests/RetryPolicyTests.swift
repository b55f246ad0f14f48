import Testing

@testable import Scheduler

@Suite struct RetryPolicyTests {
    @Test func theDefaultWaitsTenTwentyFortySecondsThenGivesUp() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 4)
        #expect((1...4).map { policy.delay(beforeRetry: $0) } == [10, 20, 40, nil])
    }

    @Test func delaysStopGrowingAtTheCap() {
        let policy = RetryPolicy(maxRetries: 8, baseDelay: 60, multiplier: 2, maxDelay: 600)
        #expect((1...8).compactMap { policy.delay(beforeRetry: $0) } == [60, 120, 240, 480, 600, 600, 600, 600])
        #expect(policy.backoff(afterAttempt: 1_000_000) == 600)
    }

    @Test func retryNumbersOutsideTheLimitHaveNoDelay() {
        #expect(RetryPolicy.default.delay(beforeRetry: 0) == nil)
        #expect(RetryPolicy.default.delay(beforeRetry: -3) == nil)
        #expect(RetryPolicy(maxRetries: 0).delay(beforeRetry: 1) == nil)
    }
}

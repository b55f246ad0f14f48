import Testing

@testable import WharfLoad

@Test func intendedTimesAreEvenlySpacedAtTheRate() {
    let s = OpenLoopSchedule(startNanos: 1_000_000_000, rate: 1000, connections: 4, durationNanos: 2_000_000_000, maxRequests: 10_000_000)
    #expect(s.intendedNanos(0) == 1_000_000_000)
    #expect(s.intendedNanos(1) == 1_001_000_000)
    #expect(s.intendedNanos(1500) == 2_500_000_000)
    #expect(s.totalRequests == 2000)
}

@Test func requestsGoRoundRobinOverTheConnections() {
    let s = OpenLoopSchedule(startNanos: 0, rate: 100, connections: 3, durationNanos: 1_000_000_000, maxRequests: 1000)
    #expect((0..<7).map(s.connection(for:)) == [0, 1, 2, 0, 1, 2, 0])
}

@Test func dueCountAgreesWithIntendedTimesAtEveryBoundary() {
    let s = OpenLoopSchedule(startNanos: 5_000, rate: 3333.3, connections: 7, durationNanos: 1_000_000_000, maxRequests: 1_000_000)
    #expect(s.dueCount(at: 0) == 0)
    #expect(s.dueCount(at: 4_999) == 0)
    #expect(s.dueCount(at: 5_000) == 1)
    for i in stride(from: 1, to: s.totalRequests, by: 97) {
        let t = s.intendedNanos(i)
        #expect(s.dueCount(at: t - 1) == i)
        #expect(s.dueCount(at: t) == i + 1)
    }
    #expect(s.dueCount(at: .max / 2) == s.totalRequests)
}

@Test func theRunIsBoundedByMaxRequestsAndByDuration() {
    let byCount = OpenLoopSchedule(startNanos: 0, rate: 10_000, connections: 1, durationNanos: 60_000_000_000, maxRequests: 123)
    #expect(byCount.totalRequests == 123)
    #expect(byCount.dueCount(at: 59_000_000_000) == 123)
    #expect(byCount.nextDueNanos(after: 59_000_000_000) == nil)
    let byTime = OpenLoopSchedule(startNanos: 0, rate: 10, connections: 1, durationNanos: 1_050_000_000, maxRequests: 1_000_000)
    #expect(byTime.totalRequests == 11)
}

@Test func nextDueIsTheFirstRequestNotYetDue() {
    let s = OpenLoopSchedule(startNanos: 100, rate: 1000, connections: 2, durationNanos: 1_000_000_000, maxRequests: 1_000_000)
    #expect(s.nextDueNanos(after: 0) == 100)
    #expect(s.nextDueNanos(after: 100) == 1_000_100)
    #expect(s.nextDueNanos(after: 1_500_000) == 2_000_100)
}

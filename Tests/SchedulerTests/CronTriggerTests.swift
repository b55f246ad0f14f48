import Foundation
import Testing

@testable import Scheduler

@Suite struct CronTriggerTests {
    func fires(_ expression: String, _ zone: String, after: String, count: Int) throws -> [Date] {
        try CronTrigger(expression: expression, zone: zone).nextFires(after: instant(after), count: count)
    }

    @Test func aDailyJobFiresAtItsTimeOnPlainDays() throws {
        #expect(
            try fires("0 2 * * *", "UTC", after: "2026-01-15T01:59:00Z", count: 3)
                == ["2026-01-15T02:00:00Z", "2026-01-16T02:00:00Z", "2026-01-17T02:00:00Z"].map(instant))
        // Exactly at the firing time: the next one is strictly later.
        #expect(try fires("0 2 * * *", "UTC", after: "2026-01-15T02:00:00Z", count: 1) == [instant("2026-01-16T02:00:00Z")])
    }

    @Test func aZoneShiftsTheInstantByItsOffset() throws {
        #expect(try fires("0 2 * * *", "Europe/Berlin", after: "2026-01-15T00:00:00Z", count: 1) == [instant("2026-01-15T02:00:00+01:00")])
        #expect(try fires("0 2 * * *", "America/New_York", after: "2026-07-01T00:00:00Z", count: 1) == [instant("2026-07-01T02:00:00-04:00")])
    }

    @Test func weekdayRangesSkipTheWeekend() throws {
        // 2026-01-16 is a Friday.
        #expect(
            try fires("*/15 9-17 * * MON-FRI", "UTC", after: "2026-01-16T17:50:00Z", count: 2)
                == ["2026-01-19T09:00:00Z", "2026-01-19T09:15:00Z"].map(instant))
    }

    @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
        // The 13th, or any Friday: Fri 2026-02-06, Fri 02-13 (both), Fri 02-20, then Fri 02-27, Fri 03-06, Fri 03-13 …
        #expect(
            try fires("0 0 13 * FRI", "UTC", after: "2026-02-01T00:00:00Z", count: 4)
                == ["2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z"].map(instant))
        #expect(try fires("0 0 13 * *", "UTC", after: "2026-02-01T00:00:00Z", count: 1) == [instant("2026-02-13T00:00:00Z")])
    }

    @Test func theThirtyFirstSkipsShorterMonths() throws {
        #expect(
            try fires("0 0 31 * *", "UTC", after: "2026-01-31T00:00:00Z", count: 3)
                == ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"].map(instant))
        #expect(try fires("0 12 30 * *", "UTC", after: "2026-01-30T12:00:00Z", count: 1) == [instant("2026-03-30T12:00:00Z")])
    }

    @Test func aMonthEndCrossesIntoTheNextYear() throws {
        #expect(
            try fires("59 23 31 12 *", "Europe/Berlin", after: "2026-12-31T23:00:00Z", count: 1)
                == [instant("2027-12-31T23:59:00+01:00")])
    }

    @Test func februaryTheTwentyNinthWaitsForALeapYear() throws {
        #expect(
            try fires("0 0 29 2 *", "UTC", after: "2026-01-01T00:00:00Z", count: 2)
                == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"].map(instant))
        // 2100 is not a leap year: eight years from 2096 to 2104.
        #expect(try fires("0 0 29 2 *", "UTC", after: "2096-03-01T00:00:00Z", count: 1) == [instant("2104-02-29T00:00:00Z")])
        // Leap day as the last day of February with a step over days.
        #expect(
            try fires("0 6 28-29 2 *", "UTC", after: "2028-02-28T07:00:00Z", count: 2)
                == ["2028-02-29T06:00:00Z", "2029-02-28T06:00:00Z"].map(instant))
    }

    @Test func aJobInTheSpringForwardGapRunsOnceAtTheEndOfTheGapInBerlin() throws {
        // 2026-03-29: 02:00 CET → 03:00 CEST; 02:30 does not exist that day.
        let f = try fires("30 2 * * *", "Europe/Berlin", after: "2026-03-28T12:00:00Z", count: 2)
        #expect(f == [instant("2026-03-29T03:00:00+02:00"), instant("2026-03-30T02:30:00+02:00")])
    }

    @Test func aJobInTheFallBackOverlapRunsOnceAtTheFirstOccurrenceInBerlin() throws {
        // 2026-10-25: 03:00 CEST → 02:00 CET; 02:30 happens twice (00:30Z and 01:30Z).
        let f = try fires("30 2 * * *", "Europe/Berlin", after: "2026-10-24T12:00:00Z", count: 2)
        #expect(f == [instant("2026-10-25T02:30:00+02:00"), instant("2026-10-26T02:30:00+01:00")])
        // Started between the two occurrences: the repeated 02:30 is not run again.
        #expect(try fires("30 2 * * *", "Europe/Berlin", after: "2026-10-25T01:00:00Z", count: 1) == [instant("2026-10-26T02:30:00+01:00")])
    }

    @Test func bothNewYorkTransitionsRunAFixedTimeJobOnce() throws {
        // 2026-03-08: 02:00 EST → 03:00 EDT.
        #expect(
            try fires("30 2 * * *", "America/New_York", after: "2026-03-07T12:00:00Z", count: 2)
                == [instant("2026-03-08T03:00:00-04:00"), instant("2026-03-09T02:30:00-04:00")])
        // 2026-11-01: 02:00 EDT → 01:00 EST; 01:30 happens twice.
        #expect(
            try fires("30 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z", count: 2)
                == [instant("2026-11-01T01:30:00-04:00"), instant("2026-11-02T01:30:00-05:00")])
    }

    @Test func anHourlyWildcardJobKeepsItsRealTimeRhythmAcrossBothTransitions() throws {
        // Spring: no 02:30 that day; 01:30 CET then 03:30 CEST, one real hour apart.
        #expect(
            try fires("30 * * * *", "Europe/Berlin", after: "2026-03-29T00:00:00Z", count: 2)
                == ["2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"].map(instant))
        // Autumn: 02:30 CEST and 02:30 CET both fire, an hour apart.
        #expect(
            try fires("30 * * * *", "Europe/Berlin", after: "2026-10-24T23:45:00Z", count: 3)
                == ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z"].map(instant))
    }

    @Test func everyMinuteAcrossTheGapHasNoDuplicates() throws {
        let f = try fires("* * * * *", "Europe/Berlin", after: "2026-03-29T00:58:30Z", count: 4)
        #expect(f == ["2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:01:00Z", "2026-03-29T01:02:00Z"].map(instant))
    }

    @Test func aFixedTimeJobRunsExactlyOncePerLocalDayThroughAYearOfTransitions() throws {
        let trigger = try CronTrigger(expression: "30 2 * * *", zone: "Europe/Berlin")
        let f = trigger.nextFires(after: instant("2026-01-01T00:00:00+01:00"), count: 365)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = trigger.timeZone
        let days = Set(f.map { calendar.dateComponents([.year, .month, .day], from: $0) })
        #expect(days.count == 365)
        #expect(zip(f, f.dropFirst()).allSatisfy { $0 < $1 })
    }
}

import Testing

@testable import Scheduler

@Suite struct CronExpressionTests {
    @Test func starsListsRangesAndStepsExpandToTheRightValues() throws {
        let e = try CronExpression("*/15 9-17/4 1,15,31 */3 1-5")
        #expect(e.minutes == [0, 15, 30, 45])
        #expect(e.hours == [9, 13, 17])
        #expect(e.daysOfMonth == [1, 15, 31])
        #expect(e.months == [1, 4, 7, 10])
        #expect(e.daysOfWeek == [1, 2, 3, 4, 5])
    }

    @Test func monthAndDayNamesAreCaseInsensitiveAndSevenIsSunday() throws {
        let e = try CronExpression("0 0 * jan-Mar,DEC sat-7")
        #expect(e.months == [1, 2, 3, 12])
        #expect(e.daysOfWeek == [6, 0])
        #expect(try CronExpression("0 0 * * 7").daysOfWeek == [0])
    }

    @Test func aStartWithStepRunsToTheEndOfTheField() throws {
        #expect(try CronExpression("50/5 * * * *").minutes == [50, 55])
    }

    @Test func macrosExpandToTheirFiveFields() throws {
        #expect(try CronExpression("@daily").hours == [0])
        #expect(try CronExpression("@hourly").hours.count == 24)
        #expect(try CronExpression("@weekly").daysOfWeek == [0])
    }

    @Test func wrongFieldCountsAreRefused() {
        #expect(throws: CronError.fieldCount(4)) { try CronExpression("0 2 * *") }
        #expect(throws: CronError.fieldCount(6)) { try CronExpression("0 0 2 * * *") }
        #expect(throws: CronError.fieldCount(0)) { try CronExpression("   ") }
    }

    @Test func outOfRangeValuesAreRefused() {
        #expect(throws: CronError.outOfRange(field: "minute", value: 60, range: 0...59)) { try CronExpression("60 * * * *") }
        #expect(throws: CronError.outOfRange(field: "hour", value: 24, range: 0...23)) { try CronExpression("0 24 * * *") }
        #expect(throws: CronError.outOfRange(field: "day-of-month", value: 0, range: 1...31)) { try CronExpression("0 0 0 * *") }
        #expect(throws: CronError.outOfRange(field: "month", value: 13, range: 1...12)) { try CronExpression("0 0 1 13 *") }
        #expect(throws: CronError.outOfRange(field: "day-of-week", value: 8, range: 0...7)) { try CronExpression("0 0 * * 8") }
    }

    @Test func malformedFieldsAreRefusedWithTheirField() {
        #expect(throws: CronError.badRange(field: "hour", text: "5-2")) { try CronExpression("0 5-2 * * *") }
        #expect(throws: CronError.badStep(field: "minute", text: "*/0")) { try CronExpression("*/0 * * * *") }
        #expect(throws: CronError.badStep(field: "minute", text: "*/61")) { try CronExpression("*/61 * * * *") }
        #expect(throws: CronError.badStep(field: "minute", text: "1/2/3")) { try CronExpression("1/2/3 * * * *") }
        #expect(throws: CronError.badValue(field: "minute", text: "1,,2")) { try CronExpression("1,,2 * * * *") }
        #expect(throws: CronError.badValue(field: "month", text: "FOO")) { try CronExpression("0 0 1 FOO *") }
        #expect(throws: CronError.badRange(field: "minute", text: "-1")) { try CronExpression("-1 * * * *") }
        #expect(throws: CronError.badValue(field: "hour", text: "99999999999999999999")) { try CronExpression("0 99999999999999999999 * * *") }
        #expect(throws: CronError.unknownMacro("@sometimes")) { try CronExpression("@sometimes") }
        #expect(throws: (any Error).self) { try CronExpression("0 0 * * \u{0}") }
    }

    @Test func oversizedExpressionsAreRefusedBeforeParsing() {
        let long = String(repeating: "1,", count: 200) + "1 * * * *"
        #expect(throws: CronError.tooLong(long.utf8.count)) { try CronExpression(long) }
    }

    @Test func aDayNoChosenMonthHasIsRefusedAsNeverFiring() {
        #expect(throws: CronError.neverFires("0 0 30 2 *")) { try CronExpression("0 0 30 2 *") }
        #expect(throws: CronError.neverFires("0 0 31 4,6,9,11 *")) { try CronExpression("0 0 31 4,6,9,11 *") }
        // February 29 exists in leap years: accepted.
        #expect(throws: Never.self) { try CronExpression("0 0 29 2 *") }
    }

    @Test func unknownTimeZonesAreRefused() {
        #expect(throws: CronError.unknownTimeZone("Mars/Olympus")) { try CronTrigger(expression: "0 2 * * *", zone: "Mars/Olympus") }
        #expect(throws: CronError.unknownTimeZone("")) { try CronTrigger(expression: "0 2 * * *", zone: "") }
    }
}

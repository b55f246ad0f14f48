/// A proleptic Gregorian calendar day, computed with plain integer arithmetic (Howard Hinnant's
/// days-from-civil algorithm) so the cron search needs no `Calendar` and no time zone for dates.
struct CivilDate: Sendable, Hashable, Comparable {
    var year: Int
    var month: Int
    var day: Int

    /// Days since 1970-01-01.
    var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// 0 = Sunday … 6 = Saturday.
    var weekday: Int { ((dayNumber % 7) + 11) % 7 }

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(dayNumber: Int) {
        let z = dayNumber + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    static func < (a: CivilDate, b: CivilDate) -> Bool { a.dayNumber < b.dayNumber }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// The most days a month can have (29 for February: leap years count).
    static func maxDays(month: Int) -> Int {
        switch month {
        case 2: 29
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func days(year: Int, month: Int) -> Int {
        month == 2 ? (isLeap(year) ? 29 : 28) : maxDays(month: month)
    }
}

/// HTTP dates (RFC 9110 §5.6.7) as seconds since the Unix epoch, by pure calendar arithmetic
/// (proleptic Gregorian, UTC; no Foundation, no time zone database).
///
/// Parsing accepts the three formats a recipient must accept:
/// - IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` (the only one we send),
/// - obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
/// - ANSI C asctime `Sun Nov  6 08:49:37 1994`.
/// Surrounding whitespace is tolerated; anything else invalid gives nil, which every caller
/// treats as "header absent" (RFC 9110 §13.1.3, §13.1.4). Names are case-sensitive as the
/// RFC's grammar says. The day name must be a real day name but is not cross-checked with the
/// date. Second 60 (a leap second) is accepted and counts as the next minute's second 0.
public enum HTTPDate {
    /// Length of an IMF-fixdate.
    public static let imfFixdateLength = 29

    /// Seconds since the epoch, or nil if the bytes are not an HTTP-date.
    ///
    /// - Parameter now: the current time, used only for RFC 850's two-digit years: a year that
    ///   would be more than 50 years in the future means the most recent past year with those
    ///   digits (§5.6.7). Without it, 70–99 mean 19xx and 00–69 mean 20xx.
    public static func parse(_ field: ArraySlice<UInt8>, now: Int64? = nil) -> Int64? {
        field.withUnsafeBufferPointer { p in
            let r = SemanticBytes.trimmedOWS(p)
            guard r.count >= 24, r.count <= 40 else { return nil }
            let s = UnsafeBufferPointer(rebasing: p[r])
            if s[3] == SemanticBytes.comma { return parseIMFFixdate(s) }
            if s[3] == SemanticBytes.space { return parseAsctime(s) }
            return parseRFC850(s, now: now)
        }
    }

    public static func parse(_ string: String, now: Int64? = nil) -> Int64? {
        parse(ArraySlice(string.utf8), now: now)
    }

    // MARK: - Formats

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    private static func parseIMFFixdate(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard s.count == 29, dayName(s, 0, 3) != nil, s[4] == SemanticBytes.space,
            let day = digits(s, 5, 2), s[7] == SemanticBytes.space,
            let month = monthIndex(s, 8), s[11] == SemanticBytes.space,
            let year = digits(s, 12, 4), s[16] == SemanticBytes.space,
            let time = timeOfDay(s, 17), s[25] == SemanticBytes.space, isGMT(s, 26)
        else { return nil }
        return combine(year: year, month: month, day: day, time: time)
    }

    /// `Sun Nov  6 08:49:37 1994` (day is space-padded or two digits).
    private static func parseAsctime(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard s.count == 24, dayName(s, 0, 3) != nil,
            let month = monthIndex(s, 4), s[7] == SemanticBytes.space
        else { return nil }
        let day: Int64
        if s[8] == SemanticBytes.space {
            guard let d = digits(s, 9, 1) else { return nil }
            day = d
        } else {
            guard let d = digits(s, 8, 2) else { return nil }
            day = d
        }
        guard s[10] == SemanticBytes.space, let time = timeOfDay(s, 11), s[19] == SemanticBytes.space,
            let year = digits(s, 20, 4)
        else { return nil }
        return combine(year: year, month: month, day: day, time: time)
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`
    private static func parseRFC850(_ s: UnsafeBufferPointer<UInt8>, now: Int64?) -> Int64? {
        var comma = 0
        while comma < s.count, s[comma] != SemanticBytes.comma { comma += 1 }
        let dash = UInt8(ascii: "-")
        guard comma >= 6, comma <= 9, longDayName(s, comma),
            s.count == comma + 24, s[comma + 1] == SemanticBytes.space
        else { return nil }
        let b = comma + 2
        guard let day = digits(s, b, 2), s[b + 2] == dash, let month = monthIndex(s, b + 3),
            s[b + 6] == dash, let yy = digits(s, b + 7, 2), s[b + 9] == SemanticBytes.space,
            let time = timeOfDay(s, b + 10), s[b + 18] == SemanticBytes.space, isGMT(s, b + 19)
        else { return nil }
        return combine(year: fullYear(twoDigit: yy, now: now), month: month, day: day, time: time)
    }

    static func fullYear(twoDigit yy: Int64, now: Int64?) -> Int64 {
        guard let now else { return yy >= 70 ? 1900 + yy : 2000 + yy }
        let currentYear = civil(fromDays: floorDiv(now, 86_400)).year
        var year = currentYear - currentYear % 100 + yy
        if year > currentYear + 50 { year -= 100 }
        return year
    }

    // MARK: - Fields

    private static let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
    private static let dayNames: StaticString = "SunMonTueWedThuFriSat"
    private static let longDayNames: [StaticString] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    private static func digits(_ s: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for k in start..<(start + count) {
            guard SemanticBytes.isDigit(s[k]) else { return nil }
            value = value * 10 + Int64(s[k] - UInt8(ascii: "0"))
        }
        return value
    }

    /// 1...12 for a three-letter month name at `start`.
    private static func monthIndex(_ s: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int64? {
        let names = monthNames.utf8Start
        for m in 0..<12 where s[start] == names[3 * m] && s[start + 1] == names[3 * m + 1] && s[start + 2] == names[3 * m + 2] {
            return Int64(m + 1)
        }
        return nil
    }

    private static func dayName(_ s: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        let names = dayNames.utf8Start
        for d in 0..<7 where s[start] == names[3 * d] && s[start + 1] == names[3 * d + 1] && s[start + 2] == names[3 * d + 2] {
            return d
        }
        return nil
    }

    private static func longDayName(_ s: UnsafeBufferPointer<UInt8>, _ count: Int) -> Bool {
        longDayNames.contains { name in
            name.utf8CodeUnitCount == count && (0..<count).allSatisfy { s[$0] == name.utf8Start[$0] }
        }
    }

    private static func isGMT(_ s: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
        s[start] == UInt8(ascii: "G") && s[start + 1] == UInt8(ascii: "M") && s[start + 2] == UInt8(ascii: "T")
    }

    /// `HH:MM:SS` at `start` as seconds into the day.
    private static func timeOfDay(_ s: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int64? {
        guard let h = digits(s, start, 2), s[start + 2] == UInt8(ascii: ":"),
            let m = digits(s, start + 3, 2), s[start + 5] == UInt8(ascii: ":"),
            let sec = digits(s, start + 6, 2), h <= 23, m <= 59, sec <= 60
        else { return nil }
        return h * 3600 + m * 60 + sec
    }

    private static func combine(year: Int64, month: Int64, day: Int64, time: Int64) -> Int64? {
        guard day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        return days(fromCivil: year, month, day) * 86_400 + time
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    // MARK: - Calendar (days since 1970-01-01, proleptic Gregorian; eras of 400 years)

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    // MARK: - Formatting

    /// The earliest and latest instants an IMF-fixdate can show (years 0000 and 9999).
    public static let formattableRange: ClosedRange<Int64> =
        days(fromCivil: 0, 1, 1) * 86_400...(days(fromCivil: 9999, 12, 31) * 86_400 + 86_399)

    /// The IMF-fixdate for an instant, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. Instants outside
    /// years 0000–9999 are clamped to that range.
    public static func format(_ seconds: Int64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: imfFixdateLength)
        bytes.withUnsafeMutableBufferPointer { write(seconds, into: $0) }
        return bytes
    }

    public static func formatString(_ seconds: Int64) -> String {
        String(decoding: format(seconds), as: UTF8.self)
    }

    /// Writes the 29 bytes of an IMF-fixdate into `out` (which must hold at least 29 bytes).
    public static func write(_ seconds: Int64, into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count >= imfFixdateLength)
        let t = min(max(seconds, formattableRange.lowerBound), formattableRange.upperBound)
        let dayNumber = floorDiv(t, 86_400)
        let secondOfDay = t - dayNumber * 86_400
        let (year, month, day) = civil(fromDays: dayNumber)
        // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
        let weekday = Int(dayNumber - floorDiv(dayNumber + 4, 7) * 7 + 4)
        let names = dayNames.utf8Start
        let months = monthNames.utf8Start
        func put(_ value: Int64, at start: Int, width: Int) {
            var v = value
            for k in stride(from: start + width - 1, through: start, by: -1) {
                out[k] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
        }
        out[0] = names[3 * weekday]
        out[1] = names[3 * weekday + 1]
        out[2] = names[3 * weekday + 2]
        out[3] = SemanticBytes.comma
        out[4] = SemanticBytes.space
        put(day, at: 5, width: 2)
        out[7] = SemanticBytes.space
        let m = Int(month - 1)
        out[8] = months[3 * m]
        out[9] = months[3 * m + 1]
        out[10] = months[3 * m + 2]
        out[11] = SemanticBytes.space
        put(year, at: 12, width: 4)
        out[16] = SemanticBytes.space
        put(secondOfDay / 3600, at: 17, width: 2)
        out[19] = UInt8(ascii: ":")
        put(secondOfDay / 60 % 60, at: 20, width: 2)
        out[22] = UInt8(ascii: ":")
        put(secondOfDay % 60, at: 23, width: 2)
        out[25] = SemanticBytes.space
        out[26] = UInt8(ascii: "G")
        out[27] = UInt8(ascii: "M")
        out[28] = UInt8(ascii: "T")
    }
}

/// The `Date` header value, reformatted only when the second changes. A value type with no
/// shared state: keep one per loop thread (the edge's loops each own one) and pass it the
/// current Unix time; never share one instance between threads.
public struct HTTPDateCache: Sendable {
    private var second: Int64 = .min
    private var bytes = [UInt8](repeating: 0, count: HTTPDate.imfFixdateLength)
    /// How many times the value was reformatted (for tests and metrics).
    public private(set) var reformatCount = 0

    public init() {}

    /// The IMF-fixdate for `unixSeconds`; formats only if it differs from the previous call's.
    /// The returned array shares storage with the cache until the next second.
    public mutating func imfFixdate(at unixSeconds: Int64) -> [UInt8] {
        if unixSeconds != second {
            second = unixSeconds
            reformatCount += 1
            bytes.withUnsafeMutableBufferPointer { HTTPDate.write(unixSeconds, into: $0) }
        }
        return bytes
    }
}

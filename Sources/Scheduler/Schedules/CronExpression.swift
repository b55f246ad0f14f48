/// A parsed 5-field cron expression (`minute hour day-of-month month day-of-week`), as Vixie cron
/// reads it: `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n` (and `a/n`, meaning
/// `a-max/n`), month names `JAN`–`DEC`, day names `SUN`–`SAT` (0 and 7 are both Sunday), and the
/// macros `@yearly`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. When both day fields
/// are restricted, a day matches if either matches (the classic cron rule); otherwise both must.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written (trimmed).
    let source: String
    /// Allowed minutes (0–59), hours (0–23), days of the month (1–31), months (1–12), weekdays (0–6, 0 = Sunday).
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    /// True when the field was written starting with `*` (unrestricted for the day rule; for hours,
    /// a "wildcard" job keeps its real-time rhythm across a DST change).
    let dayOfMonthIsWildcard: Bool
    let dayOfWeekIsWildcard: Bool
    let hourIsWildcard: Bool
    /// The hours and minutes in ascending order (the next-fire search walks them in order).
    let sortedHours: [Int]
    let sortedMinutes: [Int]

    /// Longest expression accepted: cron lines are short; anything longer is hostile or a mistake.
    static let maxLength = 256

    public var description: String { source }

    public init(_ text: String) throws(CronError) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.utf8.count <= Self.maxLength else { throw .tooLong(trimmed.utf8.count) }
        guard !trimmed.isEmpty else { throw .fieldCount(0) }
        let expanded = try Self.expandMacro(trimmed)
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else { throw .fieldCount(fields.count) }
        source = trimmed
        minutes = try CronField.minute.parse(fields[0])
        hours = try CronField.hour.parse(fields[1])
        daysOfMonth = try CronField.dayOfMonth.parse(fields[2])
        months = try CronField.month.parse(fields[3])
        daysOfWeek = Set(try CronField.dayOfWeek.parse(fields[4]).map { $0 % 7 })
        hourIsWildcard = fields[1].hasPrefix("*")
        sortedHours = hours.sorted()
        sortedMinutes = minutes.sorted()
        dayOfMonthIsWildcard = fields[2].hasPrefix("*")
        dayOfWeekIsWildcard = fields[4].hasPrefix("*")
        // A day-of-month that no chosen month has (`0 0 30 2 *`) would never fire.
        if dayOfWeekIsWildcard || daysOfWeek.isEmpty {
            let longest = months.map { CivilDate.maxDays(month: $0) }.max() ?? 31
            if let first = daysOfMonth.min(), first > longest { throw .neverFires(trimmed) }
        }
    }

    /// Whether a calendar day matches the month and day fields.
    func matchesDay(_ date: CivilDate) -> Bool {
        guard months.contains(date.month) else { return false }
        let domMatch = daysOfMonth.contains(date.day)
        let dowMatch = daysOfWeek.contains(date.weekday)
        if dayOfMonthIsWildcard || dayOfWeekIsWildcard { return domMatch && dowMatch }
        return domMatch || dowMatch
    }

    private static func expandMacro(_ text: String) throws(CronError) -> String {
        guard text.hasPrefix("@") else { return text }
        switch text.lowercased() {
        case "@yearly", "@annually": return "0 0 1 1 *"
        case "@monthly": return "0 0 1 * *"
        case "@weekly": return "0 0 * * 0"
        case "@daily", "@midnight": return "0 0 * * *"
        case "@hourly": return "0 * * * *"
        default: throw .unknownMacro(text)
        }
    }
}

/// Why a cron expression was refused.
public enum CronError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLong(Int)
    case fieldCount(Int)
    case unknownMacro(String)
    case badValue(field: String, text: String)
    case outOfRange(field: String, value: Int, range: ClosedRange<Int>)
    case badRange(field: String, text: String)
    case badStep(field: String, text: String)
    case neverFires(String)
    case unknownTimeZone(String)

    public var description: String {
        switch self {
        case .tooLong(let n): "cron expression is \(n) bytes long (at most \(CronExpression.maxLength))"
        case .fieldCount(let n): "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got \(n)"
        case .unknownMacro(let m): "unknown cron macro \(m) (use @yearly, @monthly, @weekly, @daily, @hourly)"
        case .badValue(let f, let t): "\(f): '\(t)' is not a number or name"
        case .outOfRange(let f, let v, let r): "\(f): \(v) is outside \(r.lowerBound)-\(r.upperBound)"
        case .badRange(let f, let t): "\(f): range '\(t)' runs backwards or is malformed"
        case .badStep(let f, let t): "\(f): step in '\(t)' must be a number from 1 to the field's span"
        case .neverFires(let e): "cron expression '\(e)' names a day no chosen month has: it would never fire"
        case .unknownTimeZone(let z): "unknown time zone '\(z)' (use an IANA name such as Europe/Berlin)"
        }
    }
}

/// One of the five fields: its name, range and names.
struct CronField: Sendable {
    let name: String
    let range: ClosedRange<Int>
    let names: [String: Int]

    static let minute = CronField(name: "minute", range: 0...59, names: [:])
    static let hour = CronField(name: "hour", range: 0...23, names: [:])
    static let dayOfMonth = CronField(name: "day-of-month", range: 1...31, names: [:])
    static let month = CronField(
        name: "month", range: 1...12,
        names: Dictionary(
            uniqueKeysWithValues: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].enumerated().map {
                ($1, $0 + 1)
            }))
    static let dayOfWeek = CronField(
        name: "day-of-week", range: 0...7,
        names: Dictionary(uniqueKeysWithValues: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].enumerated().map { ($1, $0) }))

    /// The set of values a field text allows.
    func parse(_ text: String) throws(CronError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = String(part)
            guard !item.isEmpty else { throw .badValue(field: name, text: text) }
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw .badStep(field: name, text: item) }
            var step = 1
            if pieces.count == 2 {
                guard let n = Int(pieces[1]), n >= 1, n <= range.count else { throw .badStep(field: name, text: item) }
                step = n
            }
            let base = String(pieces[0])
            let lower: Int
            let upper: Int
            if base == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else if base.contains("-") {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count == 2, !ends[0].isEmpty, !ends[1].isEmpty else { throw .badRange(field: name, text: item) }
                lower = try value(String(ends[0]))
                upper = try value(String(ends[1]))
                guard lower <= upper else { throw .badRange(field: name, text: item) }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }

    private func value(_ text: String) throws(CronError) -> Int {
        if let name = names[text.uppercased()] { return name }
        guard !text.isEmpty, text.utf8.count <= 4, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(text) else {
            throw .badValue(field: name, text: text)
        }
        guard range.contains(n) else { throw .outOfRange(field: name, value: n, range: range) }
        return n
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

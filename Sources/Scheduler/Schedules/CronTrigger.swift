import Foundation

/// A cron expression bound to an IANA time zone: computes when it next fires. Wall-clock times are
/// turned into instants with the zone's own offsets, so daylight-saving changes behave as cron users
/// expect (Vixie/ISC cron's rules):
/// - a wall time skipped by a spring-forward change (02:30 when clocks jump 02:00 → 03:00) fires
///   once, at the end of the gap (03:00 local); a job whose hour field is `*` simply has no runs in
///   the missing hour;
/// - a wall time that occurs twice on a fall-back day fires once, at its first occurrence; a job whose
///   hour field is `*` fires at both, keeping its real-time rhythm.
public struct CronTrigger: Sendable, Hashable {
    public let expression: CronExpression
    let timeZone: TimeZone

    /// How far ahead the search looks before deciding an expression never fires (covers the 8-year
    /// gap between leap days around 2100).
    static let searchDays = 366 * 9

    init(expression: CronExpression, timeZone: TimeZone) {
        self.expression = expression
        self.timeZone = timeZone
    }

    /// Parses the expression and looks up the zone by IANA name.
    init(expression: String, zone: String) throws(CronError) {
        self.init(expression: try CronExpression(expression), timeZone: try Self.zone(named: zone))
    }

    /// The IANA zone `name`, or `.unknownTimeZone`.
    public static func zone(named name: String) throws(CronError) -> TimeZone {
        guard !name.isEmpty, name.utf8.count <= 64, let zone = TimeZone(identifier: name) else { throw .unknownTimeZone(name) }
        return zone
    }

    /// The first firing strictly after `date`, or nil if none within nine years.
    func nextFire(after date: Date) -> Date? {
        let after = date.timeIntervalSince1970
        let wallAfter = Int((after + Double(offset(at: after))).rounded(.down))
        let firstDay = Self.floorDiv(wallAfter, 86400) - 1
        var day = firstDay
        while day < firstDay + Self.searchDays {
            if let found = earliest(onDay: day, after: after) {
                // Instants of the next day can only be earlier in pathological zones; check it too.
                if let next = earliest(onDay: day + 1, after: after), next < found { return Date(timeIntervalSince1970: next) }
                return Date(timeIntervalSince1970: found)
            }
            day += 1
        }
        return nil
    }

    /// The next `count` firings after `date` (for `wharf cron list` and tests).
    func nextFires(after date: Date, count: Int) -> [Date] {
        var out: [Date] = []
        var cursor = date
        while out.count < max(0, count), let next = nextFire(after: cursor) {
            out.append(next)
            cursor = next
        }
        return out
    }

    private func earliest(onDay day: Int, after: Double) -> Double? {
        let civil = CivilDate(dayNumber: day)
        guard expression.matchesDay(civil) else { return nil }
        let offsets = offsetsAround(day: day)
        // Every instant of wall time W lies in [W − max offset, W − min offset]: skip wall times that
        // cannot be after `after`, and stop once no later wall time can beat the best found.
        let minOffset = Double(offsets.min() ?? 0)
        let maxOffset = Double(offsets.max() ?? 0)
        var best: Double?
        for hour in expression.sortedHours {
            for minute in expression.sortedMinutes {
                let wall = day * 86400 + hour * 3600 + minute * 60
                if Double(wall) - minOffset <= after { continue }
                if let best, Double(wall) - maxOffset > best { return best }
                for instant in instants(wall: wall, offsets: offsets) where Double(instant) > after {
                    if best == nil || Double(instant) < best! { best = Double(instant) }
                }
            }
        }
        return best
    }

    /// The instants at which wall time `wall` (seconds since 1970 on the local clock) fires.
    private func instants(wall: Int, offsets: [Int]) -> [Int] {
        let exact = offsets.map { wall - $0 }.filter { offset(at: Double($0)) == wall - $0 }.sorted()
        if exact.isEmpty {
            // Skipped by a spring-forward change: fixed-hour jobs run once at the end of the gap.
            if expression.hourIsWildcard { return [] }
            guard let lo = offsets.map({ wall - $0 }).min(), let hi = offsets.map({ wall - $0 }).max(), lo < hi else { return [] }
            return [firstChange(from: lo, to: hi)]
        }
        if exact.count > 1, !expression.hourIsWildcard { return [exact[0]] }
        return exact
    }

    /// The first instant in (lo, hi] whose offset differs from lo's (a zone transition).
    private func firstChange(from lo: Int, to hi: Int) -> Int {
        let base = offset(at: Double(lo))
        var (low, high) = (lo, hi)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if offset(at: Double(mid)) == base { low = mid } else { high = mid }
        }
        return high
    }

    /// Every UTC offset the zone uses from 16 h before the day to 40 h after its start: wide enough
    /// for any wall time of the day under any offset (−12 h … +14 h).
    private func offsetsAround(day: Int) -> [Int] {
        var seen: [Int] = []
        for k in -4...10 {
            let o = offset(at: Double(day * 86400 + k * 4 * 3600))
            if !seen.contains(o) { seen.append(o) }
        }
        return seen
    }

    private func offset(at instant: Double) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: instant))
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
}

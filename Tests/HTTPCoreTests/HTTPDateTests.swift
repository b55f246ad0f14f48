import HTTPCore
import Testing

@Suite("HTTP dates (RFC 9110 §5.6.7)")
struct HTTPDateTests {
    /// Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example instant.
    static let rfcExample: Int64 = 784_111_777

    @Test func imfFixdateParses() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Self.rfcExample)
    }

    @Test func obsoleteRFC850DateParses() {
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == Self.rfcExample)
    }

    @Test func asctimeDateParses() {
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == Self.rfcExample)
        #expect(HTTPDate.parse("Sun Nov 06 08:49:37 1994") == Self.rfcExample)
    }

    @Test func theEpochAndSurroundingWhitespace() {
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("  Thu, 01 Jan 1970 00:00:00 GMT\t") == 0)
    }

    @Test func rfc850TwoDigitYearsUseAPivotWithoutAClock() {
        #expect(HTTPDate.parse("Thursday, 01-Jan-70 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Saturday, 01-Jan-00 00:00:00 GMT") == 946_684_800)
        #expect(HTTPDate.parse("Monday, 31-Dec-69 00:00:00 GMT") == HTTPDate.parse("Mon, 31 Dec 2069 00:00:00 GMT"))
    }

    @Test func rfc850TwoDigitYearsMoreThanFiftyYearsAheadMeanThePast() {
        let now = HTTPDate.parse("Sun, 22 Nov 2026 00:00:00 GMT")!
        // 2076 is exactly 50 years ahead: kept. 2077 would be 51: means 1977.
        #expect(HTTPDate.parse("Sunday, 01-Nov-76 00:00:00 GMT", now: now) == HTTPDate.parse("Sun, 01 Nov 2076 00:00:00 GMT"))
        #expect(HTTPDate.parse("Saturday, 01-Jan-77 00:00:00 GMT", now: now) == HTTPDate.parse("Sat, 01 Jan 1977 00:00:00 GMT"))
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == Self.rfcExample)
    }

    @Test func leapDaysFollowTheGregorianRules() {
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 00:00:00 GMT") == 951_782_400)
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 12:00:00 GMT") == 1_709_208_000)
        #expect(HTTPDate.parse("Thu, 29 Feb 1900 00:00:00 GMT") == nil)
        #expect(HTTPDate.parse("Fri, 29 Feb 2023 00:00:00 GMT") == nil)
    }

    @Test func aLeapSecondCountsAsTheNextMinute() {
        #expect(HTTPDate.parse("Sat, 31 Dec 2016 23:59:60 GMT") == HTTPDate.parse("Sun, 01 Jan 2017 00:00:00 GMT"))
    }

    @Test func invalidDatesAreNil() {
        for bad in [
            "", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 gmt",
            "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 32 Jan 1994 08:49:37 GMT", "Sun, 00 Jan 1994 08:49:37 GMT", "Sun, 31 Apr 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT", "Funday, 06-Nov-94 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94", "Sun Nov 6 08:49:37 1994", "Sun Nov  x 08:49:37 1994",
            "1994-11-06T08:49:37Z", "784111777",
        ] {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func overflowingNumbersAndGarbageBytesAreNil() {
        #expect(HTTPDate.parse("Sun, 99 Nov 9999999999999999999 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 99999999999999999999:49 GMT") == nil)
        #expect(HTTPDate.parse(ArraySlice<UInt8>(repeating: 0xFF, count: 29)) == nil)
        #expect(HTTPDate.parse(ArraySlice<UInt8>(repeating: UInt8(ascii: ","), count: 29)) == nil)
        #expect(HTTPDate.parse(ArraySlice<UInt8>(repeating: UInt8(ascii: "9"), count: 100_000)) == nil)
        var state: UInt32 = 7
        for _ in 0..<2_000 {
            var bytes = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
            state = state &* 1_103_515_245 &+ 12345
            bytes[Int(state >> 16) % bytes.count] = UInt8(truncatingIfNeeded: state >> 8)
            if let parsed = HTTPDate.parse(bytes[...]) {
                #expect(HTTPDate.parse(HTTPDate.format(parsed)[...]) == parsed)
            }
        }
    }

    @Test func formattingWritesIMFFixdate() {
        #expect(HTTPDate.formatString(Self.rfcExample) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.formatString(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.formatString(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.formatString(-1) == "Wed, 31 Dec 1969 23:59:59 GMT")
        #expect(HTTPDate.formatString(4_102_444_800) == "Fri, 01 Jan 2100 00:00:00 GMT")
    }

    @Test func formattingClampsToFourDigitYears() {
        #expect(HTTPDate.formatString(.max) == "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(HTTPDate.formatString(.min) == "Sat, 01 Jan 0000 00:00:00 GMT")
    }

    @Test func formatThenParseIsTheIdentityAcrossCenturies() {
        var t: Int64 = -2_208_988_800  // 1900-01-01
        let end: Int64 = 7_258_118_400  // 2200-01-01
        while t < end {
            let text = HTTPDate.format(t)
            #expect(text.count == HTTPDate.imfFixdateLength)
            #expect(HTTPDate.parse(text[...]) == t, "\(String(decoding: text, as: UTF8.self))")
            t += 86_400 * 37 + 3_671  // walks through every month, weekday and many times of day
        }
    }

    @Test func theCacheReformatsOnlyWhenTheSecondChanges() {
        var cache = HTTPDateCache()
        let first = cache.imfFixdate(at: Self.rfcExample)
        let again = cache.imfFixdate(at: Self.rfcExample)
        #expect(first == again)
        #expect(cache.reformatCount == 1)
        let next = cache.imfFixdate(at: Self.rfcExample + 1)
        #expect(String(decoding: next, as: UTF8.self) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(cache.reformatCount == 2)
        // The value handed out earlier is not changed by the reformat.
        #expect(String(decoding: first, as: UTF8.self) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}

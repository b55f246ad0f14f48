import Foundation
import HTTPCore
import Testing

/// RFC 9842 fields: `Available-Dictionary` (parsed, hostile input ignored), `dcz` in
/// Accept-Encoding, and `Use-As-Dictionary` (written).
@Suite struct CompressionDictionaryTests {
    static let hash = (0..<32).map { UInt8($0 * 7 % 256) }
    static var encoded: String { ":" + Data(hash).base64EncodedString() + ":" }

    @Test func aWellFormedHashParsesToItsThirtyTwoBytes() {
        #expect(AvailableDictionary.parse(Self.encoded) == Self.hash)
        #expect(AvailableDictionary.parse("  \t" + Self.encoded + " ") == Self.hash)
        let zeros = ":" + Data(repeating: 0, count: 32).base64EncodedString() + ":"
        #expect(AvailableDictionary.parse(zeros) == [UInt8](repeating: 0, count: 32))
        let ones = ":" + Data(repeating: 0xFF, count: 32).base64EncodedString() + ":"
        #expect(AvailableDictionary.parse(ones) == [UInt8](repeating: 0xFF, count: 32))
    }

    @Test func malformedValuesAreUnknownDictionariesNotErrors() {
        let body = Data(Self.hash).base64EncodedString()
        let bad: [String] = [
            "", ":", "::", body, ":" + body, body + ":",
            ":" + String(body.dropLast()) + ":",  // no padding
            ":" + body + "=:",  // extra padding
            ":" + Data(Self.hash.dropLast()).base64EncodedString() + ":",  // 31 bytes
            ":" + Data(Self.hash + [1]).base64EncodedString() + ":",  // 33 bytes
            ":" + body.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") + "x:",
            ":" + String(body.dropFirst()) + "!:",  // a character outside the alphabet
            Self.encoded + ", " + Self.encoded,  // a list
            Self.encoded + ";sha=1",  // a parameter
            "\"" + body + "\"",  // a string, not bytes
            ":" + String(body.dropLast(2)) + "B=:",  // non-zero padding bits
            String(repeating: "A", count: 10_000),  // oversized
            ":" + String(repeating: "A", count: 43) + "=:" + String(repeating: " ", count: 200),
            ":\u{0}" + String(body.dropFirst()) + ":",
        ]
        for value in bad {
            #expect(AvailableDictionary.parse(value) == nil, "\(value.prefix(60))")
        }
        // Arbitrary bytes, including non-ASCII, never crash and never parse by accident.
        var state: UInt64 = 42
        for length in 0..<200 {
            var bytes: [UInt8] = []
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 33))
            }
            #expect(AvailableDictionary.parse(ArraySlice(bytes)) == nil)
        }
    }

    @Test func dczCountsOnlyWhenNamedWithAPositiveWeight() {
        #expect(ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "gzip, deflate, br, zstd, dcb, dcz"))
        #expect(ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "DCZ;q=0.5"))
        #expect(!ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "dcz;q=0"))
        #expect(!ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "*"))
        #expect(!ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "br, zstd"))
        #expect(!ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: nil as String?))
        #expect(!ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "dcz;q=2"))
        #expect(!ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "dczz, xdcz"))
        #expect(ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: "dcz;q=garbage, dcz"), "a malformed member is skipped; the next counts")
        // dcz never wins the normal negotiation: it needs a dictionary.
        #expect(ContentNegotiation.select(acceptEncoding: "dcz", available: .all) == .identity)
        #expect(ContentNegotiation.select(acceptEncoding: "dcz, br", available: .all) == .br)
        #expect(!AvailableCodings.all.offers(.dcz))
    }

    @Test func useAsDictionaryIsAStructuredFieldDictionary() throws {
        let value = try #require(UseAsDictionary(match: "app.*.js", matchDestinations: ["script"]))
        #expect(value.fieldValue == #"match="app.*.js", match-dest=("script")"#)
        #expect(UseAsDictionary(match: "/a/*")?.fieldValue == #"match="/a/*""#)
        let escaped = try #require(UseAsDictionary(match: #"a"b\c"#, id: "v1"))
        #expect(escaped.fieldValue == #"match="a\"b\\c", id="v1""#)
    }

    @Test func valuesAStructuredStringCannotHoldAreRefused() {
        #expect(UseAsDictionary(match: "") == nil)
        #expect(UseAsDictionary(match: "a\r\nSet-Cookie: x") == nil)
        #expect(UseAsDictionary(match: "caf\u{E9}.*.js") == nil)
        #expect(UseAsDictionary(match: String(repeating: "a", count: 2000)) == nil)
        #expect(UseAsDictionary(match: "a.*.js", matchDestinations: ["Script"]) == nil)
        #expect(UseAsDictionary(match: "a.*.js", matchDestinations: ["script\")"]) == nil)
        #expect(UseAsDictionary(match: "a.*.js", id: "\t") == nil)
    }
}

import HTTPCore
import Testing

@Suite("Accept-Encoding negotiation (RFC 9110 §12.5.3)")
struct ContentNegotiationTests {
    private func pick(_ field: String?, _ available: AvailableCodings = .all) -> ContentCoding? {
        ContentNegotiation.select(acceptEncoding: field, available: available)
    }

    @Test func anAbsentHeaderGetsIdentity() {
        #expect(pick(nil) == .identity)
    }

    @Test func anEmptyHeaderGetsIdentityOnly() {
        #expect(pick("") == .identity)
        #expect(pick("   ") == .identity)
        #expect(ContentNegotiation.select(acceptEncoding: ArraySlice<UInt8>(), available: .all) == .identity)
    }

    @Test func aBrowserListWithEqualWeightsPrefersBrThenZstdThenGzip() {
        #expect(pick("gzip, deflate, br, zstd") == .br)
        #expect(pick("gzip, deflate, br, zstd", [.gzip, .zstd]) == .zstd)
        #expect(pick("gzip, deflate, br, zstd", [.gzip]) == .gzip)
        #expect(pick("gzip, deflate, br, zstd", .identityOnly) == .identity)
    }

    @Test func aHigherQValueBeatsThePreferenceOrder() {
        #expect(pick("br;q=0.5, gzip;q=0.8") == .gzip)
        #expect(pick("br;q=0.5, gzip") == .gzip)
        #expect(pick("zstd;q=0.001, br;q=0") == .zstd)
    }

    @Test func qValueSpellingsOfOneAndZeroAreEquivalent() {
        #expect(pick("gzip;q=1, br;q=1.000") == .br)
        #expect(pick("gzip;q=1., br;q=0.") == .gzip)
        #expect(pick("gzip;q=0.000, br;q=0") == .identity)
    }

    @Test func qZeroRefusesACoding() {
        #expect(pick("br;q=0, gzip") == .gzip)
        #expect(pick("br;q=0", [.br]) == .identity)
    }

    @Test func tokensAndParameterNamesAreCaseInsensitive() {
        #expect(pick("GZIP;Q=0.5, BR;Q=0.4") == .gzip)
        #expect(pick("Br") == .br)
        #expect(pick("ZsTd", [.zstd]) == .zstd)
    }

    @Test func whitespaceAroundMembersAndParametersIsTolerated() {
        #expect(pick("  gzip ;  q=0.9 ,\tbr ; q=0.1  ") == .gzip)
        #expect(pick(",,, ,br,,") == .br)
    }

    @Test func xGzipCountsAsGzip() {
        #expect(pick("x-gzip", [.gzip]) == .gzip)
        #expect(pick("x-gzip;q=0.5, br;q=0.4") == .gzip)
    }

    @Test func theWildcardCoversEveryCodingNotListedByName() {
        #expect(pick("*") == .br)
        #expect(pick("*;q=0.5, gzip") == .gzip)
        #expect(pick("gzip;q=0.2, *;q=0.5", [.gzip, .zstd]) == .zstd)
        #expect(pick("br;q=0, *", [.br]) == .identity)
    }

    @Test func theWildcardAlsoWeighsIdentity() {
        // *;q=0.5 gives identity 0.5, more than gzip's 0.2.
        #expect(pick("gzip;q=0.2, *;q=0.5", [.gzip]) == .identity)
    }

    @Test func unlistedIdentityRanksBelowAnyListedCoding() {
        #expect(pick("gzip;q=0.001", [.gzip]) == .gzip)
        #expect(pick("br;q=0.1", [.gzip]) == .identity)
    }

    @Test func identityRefusedWithNothingElseAcceptableIsNotAcceptable() {
        #expect(pick("identity;q=0", .identityOnly) == nil)
        #expect(pick("*;q=0", .identityOnly) == nil)
        #expect(pick("*;q=0", .all) == nil)
        #expect(pick("br, identity;q=0", [.gzip]) == nil)
        #expect(pick("identity;q=0, *;q=0", [.gzip]) == nil)
    }

    @Test func identityRefusedButAnotherCodingAcceptableSendsThatCoding() {
        #expect(pick("gzip, identity;q=0", [.gzip]) == .gzip)
        #expect(pick("*;q=0, br", [.br, .gzip]) == .br)
        #expect(pick("identity;q=0, *", [.zstd]) == .zstd)
    }

    @Test func aNamedIdentityOverridesTheWildcard() {
        #expect(pick("*;q=0, identity", .identityOnly) == .identity)
        #expect(pick("*;q=0, identity;q=0.5", [.gzip]) == .identity)
    }

    @Test func nothingListedAvailableFallsBackToIdentity() {
        #expect(pick("deflate, compress", .all) == .identity)
        #expect(pick("br", [.gzip]) == .identity)
    }

    @Test func aMemberWithAnInvalidQValueIsIgnored() {
        #expect(pick("br;q=2, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=1.001, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=0.5555, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=abc, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=.5, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=-1, gzip;q=0.1") == .gzip)
        // An ignored identity;q=garbage does not refuse identity.
        #expect(pick("identity;q=zero", .identityOnly) == .identity)
    }

    @Test func aHugeQValueIsIgnoredNotOverflowed() {
        #expect(pick("br;q=99999999999999999999999999999999, gzip;q=0.1") == .gzip)
        #expect(pick("br;q=1.00000000000000000000000000000001", [.br]) == .identity)
    }

    @Test func malformedParametersInvalidateOnlyTheirMember() {
        #expect(pick("br;, gzip;q=0.3") == .gzip)
        #expect(pick("br;q, gzip;q=0.3") == .gzip)
        #expect(pick("br junk, gzip;q=0.3") == .gzip)
        // An unterminated quoted value spoils its member; scanning resumes at the next comma.
        #expect(pick("br;q=\"0.5, gzip", [.br, .gzip]) == .gzip)
    }

    @Test func otherParametersAreSkippedIncludingQuotedOnes() {
        #expect(pick("br;level=\"a, b\";q=0.2, gzip;q=0.1") == .br)
        #expect(pick("br;foo=bar, gzip;q=0.9") == .br)
    }

    @Test func theFirstMemberForACodingWins() {
        #expect(pick("br;q=0, br;q=1, gzip;q=0.1") == .gzip)
        #expect(pick("gzip;q=0.9, x-gzip;q=0", [.gzip]) == .gzip)
    }

    @Test func unknownCodingsAndGarbageBytesAreIgnored() {
        #expect(pick("\u{7f}\u{1}\u{fe}, gzip", [.gzip]) == .gzip)
        let garbage: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let choice = ContentNegotiation.select(acceptEncoding: garbage[...], available: .all)
        #expect(choice != nil)
    }

    @Test func aTenThousandMemberFieldIsScannedInFull() {
        var field = Array(repeating: "deflate;q=0.5", count: 10_000).joined(separator: ", ")
        field += ", zstd;q=0.9"
        #expect(pick(field, [.zstd, .gzip]) == .zstd)
        let refusals = Array(repeating: "br;q=0", count: 10_000).joined(separator: ",") + ",identity;q=0"
        #expect(pick(refusals, [.br]) == nil)
    }

    @Test func aSliceInsideALargerBufferIsReadOnlyWithinItsBounds() {
        let request = Array("Accept-Encoding: gzip\r\nX: br\r\n".utf8)
        let value = request[17..<21]
        #expect(ContentNegotiation.select(acceptEncoding: value, available: .all) == .gzip)
    }

    @Test func codingTokensAreTheRegisteredNames() {
        #expect(ContentCoding.allCases.map(\.token) == ["identity", "gzip", "zstd", "br", "dcz"])
        #expect(ContentCoding.br.staticToken.description == "br")
        #expect(AvailableCodings(.identity).isEmpty)
        #expect(AvailableCodings.identityOnly.offers(.identity))
        #expect(!AvailableCodings([.gzip]).offers(.br))
    }
}

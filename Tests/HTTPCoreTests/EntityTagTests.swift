import HTTPCore
import Testing

@Suite("Entity tags (RFC 9110 §8.8.3)")
struct EntityTagTests {
    private func tag(_ s: String) -> EntityTag {
        guard let t = EntityTag(s) else {
            Issue.record("expected a valid entity tag: \(s)")
            return EntityTag(opaque: [])
        }
        return t
    }

    private func members(_ s: String) -> [EntityTagListMember] {
        Array(EntityTagListScanner(ArraySlice(s.utf8)))
    }

    @Test func aStrongTagParsesWithItsOpaquePart() {
        let t = tag("\"xyzzy\"")
        #expect(!t.isWeak)
        #expect(Array(t.opaque) == Array("xyzzy".utf8))
    }

    @Test func aWeakTagParsesWithThePrefix() {
        let t = tag("W/\"xyzzy\"")
        #expect(t.isWeak)
        #expect(Array(t.opaque) == Array("xyzzy".utf8))
    }

    @Test func anEmptyOpaqueTagIsValid() {
        #expect(tag("\"\"").opaque.isEmpty)
    }

    @Test func surroundingWhitespaceIsAllowed() {
        #expect(EntityTag("  \"a\"\t") != nil)
    }

    @Test func malformedSingleTagsAreRejected() {
        for bad in [
            "", "abc", "\"abc", "abc\"", "w/\"a\"", "W\"a\"", "W/a", "\"a\"x", "\"a\", \"b\"",
            "*", "\"a b\"", "\"a\u{7f}\"", "\"a\"\"b\"", ",\"a\"",
        ] {
            #expect(EntityTag(bad) == nil, "\(bad)")
        }
    }

    @Test func obsTextAndCommasAreAllowedInsideTheQuotes() {
        #expect(EntityTag("\"caf\u{e9}\"") != nil)
        #expect(tag("\"a,b\"").opaque.count == 3)
    }

    @Test func headerValueRoundTrips() {
        #expect(tag("W/\"v1\"").headerValue == Array("W/\"v1\"".utf8))
        #expect(tag("\"v1\"").headerValue == Array("\"v1\"".utf8))
        #expect(EntityTag(parsing: tag("W/\"v1\"").headerValue[...]) == tag("W/\"v1\""))
    }

    /// The comparison table of RFC 9110 §8.8.3.2.
    @Test(arguments: [
        ("W/\"1\"", "W/\"1\"", false, true),
        ("W/\"1\"", "W/\"2\"", false, false),
        ("W/\"1\"", "\"1\"", false, true),
        ("\"1\"", "\"1\"", true, true),
    ])
    func rfcComparisonTable(a: String, b: String, strong: Bool, weak: Bool) {
        #expect(tag(a).matches(tag(b), using: .strong) == strong)
        #expect(tag(b).matches(tag(a), using: .strong) == strong)
        #expect(tag(a).matches(tag(b), using: .weak) == weak)
        #expect(tag(b).matches(tag(a), using: .weak) == weak)
    }

    @Test func aListYieldsEachMemberInOrder() {
        #expect(members("\"a\", W/\"b\" ,\"c\"") == [.tag(tag("\"a\"")), .tag(tag("W/\"b\"")), .tag(tag("\"c\""))])
    }

    @Test func theWildcardIsAMember() {
        #expect(members("*") == [.any])
        #expect(EntityTagListScanner.containsWildcard(ArraySlice(" * ".utf8)))
        #expect(!EntityTagListScanner.containsWildcard(ArraySlice("\"*\"".utf8)))
    }

    @Test func aQuotedCommaDoesNotSplitTheList() {
        #expect(members("\"a,b\", \"c\"").count == 2)
    }

    @Test func malformedMembersAreSkippedAndTheRestKept() {
        #expect(members("abc, \"ok\", W/x, \"unterminated") == [.tag(tag("\"ok\""))])
        #expect(members(",,, ,") == [])
        #expect(members("\"a\" \"b\", \"c\"") == [.tag(tag("\"c\""))])
    }

    @Test func listContainmentUsesTheRequestedComparison() {
        let field = ArraySlice("\"x\", W/\"y\"".utf8)
        #expect(EntityTagListScanner.contains(tag("\"y\""), in: field, using: .weak))
        #expect(!EntityTagListScanner.contains(tag("\"y\""), in: field, using: .strong))
        #expect(EntityTagListScanner.contains(tag("\"x\""), in: field, using: .strong))
        #expect(!EntityTagListScanner.contains(tag("\"z\""), in: field, using: .weak))
    }

    @Test func aHugeListOfGarbageIsScannedWithoutMatching() {
        let junk = Array(repeating: "W/\"", count: 5_000).joined(separator: ",") + ", nope"
        #expect(!EntityTagListScanner.contains(tag("\"x\""), in: ArraySlice(junk.utf8), using: .weak))
        let many = (0..<10_000).map { "\"t\($0)\"" }.joined(separator: ", ")
        #expect(EntityTagListScanner.contains(tag("\"t9999\""), in: ArraySlice(many.utf8), using: .strong))
    }

    @Test func arbitraryBytesNeverCrashTheScanner() {
        var state: UInt32 = 12345
        for _ in 0..<500 {
            var bytes: [UInt8] = []
            for _ in 0..<64 {
                state = state &* 1_103_515_245 &+ 12345
                let pick = Int(state >> 16) % 8
                bytes.append(
                    [
                        UInt8(ascii: "\""), UInt8(ascii: "W"), UInt8(ascii: "/"), UInt8(ascii: ","),
                        UInt8(ascii: " "), UInt8(ascii: "*"), UInt8(ascii: "a"), 0x7F,
                    ][pick])
            }
            for member in EntityTagListScanner(bytes[...]) {
                if case .tag(let t) = member { #expect(!t.opaque.contains(UInt8(ascii: "\""))) }
            }
        }
    }
}

import Testing
import WharfTestSupport

@testable import HTTPCore

/// The field-parser invariants that `make fuzz` checks with libFuzzer (HeaderInvariants.swift),
/// here over a fixed budget of seeded mutations of the seeds, so every test run fuzzes a little.
@Suite struct HeaderFuzzTests {
    static let tokens: [[UInt8]] = [
        "bytes=", "-", ",", "0", "9999999999999999999", "\"", "W/", "*", ";q=", "0.5",
        "br", "gzip", "zstd", "identity", " GMT", "Sun, 06 Nov 1994 ", "\n", "\t", "\r",
    ]
    .map { Array($0.utf8) }

    /// One mutation: flip, insert a token, delete a range, or duplicate a range.
    static func mutate(_ input: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var out = input
        let kind = random.next() % 4
        let at = out.isEmpty ? 0 : Int(random.next() % UInt64(out.count))
        switch kind {
        case 0 where !out.isEmpty: out[at] = UInt8(truncatingIfNeeded: random.next())
        case 1: out.insert(contentsOf: tokens[Int(random.next() % UInt64(tokens.count))], at: at)
        case 2 where !out.isEmpty: out.removeSubrange(at..<min(out.count, at + 1 + Int(random.next() % 8)))
        default:
            let end = min(out.count, at + 1 + Int(random.next() % 16))
            out.insert(contentsOf: out[at..<end], at: at)
        }
        return out.count > 2048 ? Array(out.prefix(2048)) : out
    }

    @Test func seedsAndTwentyThousandMutationsKeepTheInvariants() {
        var random = SeededRandom(seed: 19)
        var corpus = headerSeeds.map { Array($0.utf8) }
        for seed in corpus { #expect(headerInvariantViolation(seed) == nil) }
        var checked = 0
        for _ in 0..<20_000 {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            for _ in 0...(random.next() % 4) { input = Self.mutate(input, &random) }
            if let violation = headerInvariantViolation(input) {
                Issue.record("\(violation) for \(input)")
                break
            }
            checked += 1
            if corpus.count < 256 && random.next() % 8 == 0 { corpus.append(input) }
        }
        #expect(checked == 20_000)
    }
}

/// What the fuzz smoke test found: a Range field ending in whitespace read past the field
/// (its OWS skip ran to the end of the buffer instead of the trimmed end).
@Suite struct RangeTrailingWhitespaceTests {
    @Test(arguments: ["bytes=0-1 ", "bytes=0-1\t", "bytes=5- \t ", "bytes=-3 ,  "])
    func aRangeFieldEndingInWhitespaceParses(field: String) {
        #expect(ByteRange.parse(ArraySlice(field.utf8)) != nil)
    }
}

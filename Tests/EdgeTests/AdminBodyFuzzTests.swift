import Foundation
import Testing
import WharfTestSupport

@testable import Edge

/// The admin body invariants `make fuzz` checks with libFuzzer (AdminBodyInvariants.swift), over
/// a fixed budget of seeded mutations here, plus the bodies the fuzzer should never stop finding.
@Suite struct AdminBodyFuzzTests {
    static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e999", "-0", "\\u0000",
        "\"app\"", "\"paths\"", "\"to\"", "\"encodings\"", "\"/x\"", "\\ud800",
    ]
    .map { Array($0.utf8) }

    @Test func seedsAndTenThousandMutationsKeepTheInvariants() {
        var random = SeededRandom(seed: 1907)
        var corpus = adminBodySeeds.map { Array($0.utf8) }
        for seed in corpus { #expect(adminBodyInvariantViolation(seed) == nil, "\(String(decoding: seed, as: UTF8.self))") }
        for _ in 0..<10_000 {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            for _ in 0...(random.next() % 3) {
                let at = input.isEmpty ? 0 : Int(random.next() % UInt64(input.count))
                switch random.next() % 3 {
                case 0 where !input.isEmpty: input[at] = UInt8(truncatingIfNeeded: random.next())
                case 1 where !input.isEmpty: input.removeSubrange(at..<min(input.count, at + 1 + Int(random.next() % 6)))
                default: input.insert(contentsOf: Self.tokens[Int(random.next() % UInt64(Self.tokens.count))], at: at)
                }
            }
            if let violation = adminBodyInvariantViolation(input) {
                Issue.record("\(violation) for \(String(decoding: input, as: UTF8.self))")
                return
            }
            if corpus.count < 128 && random.next() % 8 == 0 { corpus.append(input) }
        }
    }

    @Test func deeplyNestedAndHugeBodiesAreRefusedNotFatal() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000)
        #expect(adminBodyInvariantViolation(deep) == nil)
        let manyPaths = Array(("{\"app\":\"a\",\"paths\":[" + Array(repeating: "\"/p\"", count: 20_000).joined(separator: ",") + "]}").utf8)
        #expect(throws: AdminError.self) { try AdminBodies.warm(manyPaths) }
    }
}

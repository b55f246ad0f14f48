import Testing
import WharfTestSupport

@testable import WharfLoad

@Test func zipfProbabilitiesFollowOneOverRankToTheExponent() throws {
    let z = try WeightedSampler.zipf(count: 4, exponent: 1)
    let h = 1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4
    for k in 1...4 {
        #expect(abs(z.probability(k - 1) - (1 / Double(k)) / h) < 1e-12)
    }
    let uniform = try WeightedSampler.zipf(count: 5, exponent: 0)
    #expect((0..<5).allSatisfy { abs(uniform.probability($0) - 0.2) < 1e-12 })
}

@Test func samplingMatchesTheDistribution() throws {
    let z = try WeightedSampler.zipf(count: 20, exponent: 1)
    var random = SeededRandom(seed: 42)
    var counts = [Int](repeating: 0, count: 20)
    let n = 200_000
    for _ in 0..<n { counts[z.sample(&random)] += 1 }
    for i in 0..<20 {
        let expected = z.probability(i) * Double(n)
        // Within 5 standard deviations of a binomial count.
        let sigma = (expected * (1 - z.probability(i))).squareRoot()
        #expect(abs(Double(counts[i]) - expected) < 5 * sigma + 1, "rank \(i + 1): \(counts[i]) vs \(expected)")
    }
}

@Test func zeroWeightsAreNeverDrawn() throws {
    let s = try WeightedSampler(weights: [0, 1, 0, 3, 0])
    #expect(s.index(forUnit: 0) == 1)
    #expect(s.index(forUnit: 0.2499) == 1)
    #expect(s.index(forUnit: 0.25) == 3)
    #expect(s.index(forUnit: 0.999999) == 3)
    var random = SeededRandom(seed: 7)
    for _ in 0..<10_000 { #expect([1, 3].contains(s.sample(&random))) }
}

@Test func theSameSeedGivesTheSameSequence() {
    var a = SeededRandom(seed: 99)
    var b = SeededRandom(seed: 99)
    var c = SeededRandom(seed: 100)
    let x = (0..<5).map { _ in a.next() }
    #expect(x == (0..<5).map { _ in b.next() })
    #expect(x != (0..<5).map { _ in c.next() })
    #expect((0..<1000).allSatisfy { _ in (0..<1).contains(a.nextUnit()) })
}

@Test func invalidWeightsAreRejected() {
    #expect(throws: WeightedSampler.Failure.empty) { try WeightedSampler(weights: []) }
    #expect(throws: WeightedSampler.Failure.negativeWeight) { try WeightedSampler(weights: [1, -1]) }
    #expect(throws: WeightedSampler.Failure.negativeWeight) { try WeightedSampler(weights: [.nan]) }
    #expect(throws: WeightedSampler.Failure.zeroTotal) { try WeightedSampler(weights: [0, 0]) }
    #expect(throws: WeightedSampler.Failure.empty) { try WeightedSampler.zipf(count: 0, exponent: 1) }
}

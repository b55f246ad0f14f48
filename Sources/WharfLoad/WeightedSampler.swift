/// Draws indexes 0..<n with given (non-negative) weights, by binary search over the cumulative
import WharfTestSupport

/// distribution: O(log n) per draw, no allocation. `zipf(count:exponent:)` builds the Zipf law
/// used for "popular apps and files": P(rank k) ∝ 1 / k^s (k = 1 is the most popular).
struct WeightedSampler: Sendable {
    /// cumulative[i] = P(index ≤ i); the last element is exactly 1.
    let cumulative: [Double]

    enum Failure: Error, Equatable { case empty, negativeWeight, zeroTotal }

    init(weights: [Double]) throws(Failure) {
        guard !weights.isEmpty else { throw .empty }
        guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw .negativeWeight }
        let total = weights.reduce(0, +)
        guard total > 0 else { throw .zeroTotal }
        var running = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(weights.count)
        for weight in weights {
            running += weight
            cumulative.append(running / total)
        }
        cumulative[cumulative.count - 1] = 1
        self.cumulative = cumulative
    }

    /// The Zipf distribution over ranks 1...count with exponent `s` (s = 0 is uniform).
    static func zipf(count: Int, exponent s: Double) throws(Failure) -> WeightedSampler {
        guard count > 0 else { throw .empty }
        return try WeightedSampler(weights: (1...count).map { 1 / pow(Double($0), s) })
    }

    var count: Int { cumulative.count }

    /// The probability of index `i`.
    func probability(_ i: Int) -> Double {
        i == 0 ? cumulative[0] : cumulative[i] - cumulative[i - 1]
    }

    /// The index for a uniform `u` in [0, 1): the first i with cumulative[i] > u, skipping zero-weight indexes.
    func index(forUnit u: Double) -> Int {
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > u { high = mid } else { low = mid + 1 }
        }
        return low
    }

    func sample(_ random: inout SeededRandom) -> Int {
        index(forUnit: random.nextUnit())
    }
}

#if canImport(Glibc)
    import Glibc
#endif

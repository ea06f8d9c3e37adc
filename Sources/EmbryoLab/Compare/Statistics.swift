// The statistics of a comparison across seeds: mean and sample standard deviation, a percentile bootstrap
// interval for the mean, and a two-sided permutation test of a difference in means. With the few seeds a
// CPU suite has, both are exact (every resample, every split of the pooled values) up to a limit, and
// seeded Monte Carlo beyond it, so the same values always give the same numbers.

import EmbryoCore
import EmbryoRun
import Foundation

public enum SeedStatistics {
    public static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// Sample standard deviation (n - 1); 0 for a single value.
    public static func sd(_ x: [Double]) -> Double {
        guard x.count > 1 else { return x.isEmpty ? .nan : 0 }
        let m = mean(x)
        return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot()
    }

    /// Exact enumeration up to this many resamples or splits; seeded Monte Carlo beyond.
    public static let exactLimit = 200_000
    public static let monteCarloDraws = 20_000

    public struct Interval: Equatable, Sendable {
        public var low: Double
        public var high: Double
        /// Whether every resample was enumerated (otherwise `monteCarloDraws` seeded ones).
        public var exact: Bool

        public init(low: Double, high: Double, exact: Bool) { (self.low, self.high, self.exact) = (low, high, exact) }
    }

    /// Percentile bootstrap interval of the mean at `level` (0.95): the means of resamples of `x` with
    /// replacement, their (1-level)/2 and (1+level)/2 quantiles (lower empirical quantile: the smallest
    /// mean with at least that share of resamples at or below it).
    public static func bootstrapMean(_ x: [Double], level: Double = 0.95, seed: UInt64 = 1) -> Interval {
        let n = x.count
        guard n > 1 else { return Interval(low: x.first ?? .nan, high: x.first ?? .nan, exact: true) }
        var means: [Double] = []
        let total = pow(Double(n), Double(n))
        let exact = total <= Double(exactLimit)
        if exact {
            // every sequence of n indices, as a counter in base n
            var idx = [Int](repeating: 0, count: n)
            means.reserveCapacity(Int(total))
            while true {
                means.append(idx.reduce(0) { $0 + x[$1] } / Double(n))
                var k = 0
                while k < n && idx[k] == n - 1 {
                    idx[k] = 0
                    k += 1
                }
                if k == n { break }
                idx[k] += 1
            }
        } else {
            var rng = Rng(seed: seed)
            for _ in 0..<monteCarloDraws {
                var s = 0.0
                for _ in 0..<n { s += x[rng.below(n)] }
                means.append(s / Double(n))
            }
        }
        means.sort()
        return Interval(
            low: quantile(means, (1 - level) / 2), high: quantile(means, (1 + level) / 2), exact: exact)
    }

    /// The smallest value with at least share `q` of the sorted values at or below it.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let k = max(0, Int((q * Double(sorted.count) - 1e-9).rounded(.up)) - 1)
        return sorted[min(k, sorted.count - 1)]
    }

    public struct Permutation: Equatable, Sendable {
        /// mean(a) - mean(b)
        public var difference: Double
        /// Two-sided: the share of splits of the pooled values whose |difference| is at least the observed one.
        public var p: Double
        public var splits: Int
        public var exact: Bool
    }

    /// Two-sided permutation test of mean(a) - mean(b) over every split of the pooled values into groups of
    /// the same sizes (the observed split included).
    public static func permutationTest(_ a: [Double], _ b: [Double], seed: UInt64 = 1) -> Permutation {
        let pooled = a + b, na = a.count, n = pooled.count
        let observed = mean(a) - mean(b)
        guard na > 0 && b.count > 0 else { return Permutation(difference: .nan, p: .nan, splits: 0, exact: true) }
        let total = pooled.reduce(0, +)
        func diff(_ sumA: Double) -> Double { sumA / Double(na) - (total - sumA) / Double(n - na) }
        // a tolerance so that splits equal to the observed one up to rounding count as at least as extreme
        let threshold = abs(observed) - 1e-12 * max(1, abs(observed))
        let count = binomial(n, na)
        if count <= Double(exactLimit) {
            var hits = 0, splits = 0
            var chosen = Array(0..<na)
            while true {
                splits += 1
                if abs(diff(chosen.reduce(0) { $0 + pooled[$1] })) >= threshold { hits += 1 }
                // next combination in lexicographic order
                var i = na - 1
                while i >= 0 && chosen[i] == n - na + i { i -= 1 }
                if i < 0 { break }
                chosen[i] += 1
                for j in (i + 1)..<na { chosen[j] = chosen[j - 1] + 1 }
            }
            return Permutation(difference: observed, p: Double(hits) / Double(splits), splits: splits, exact: true)
        }
        var rng = Rng(seed: seed)
        var hits = 1  // the observed split
        var order = Array(0..<n)
        for _ in 0..<monteCarloDraws {
            for i in 0..<na {
                let j = i + rng.below(n - i)
                order.swapAt(i, j)
            }
            if abs(diff(order[..<na].reduce(0) { $0 + pooled[$1] })) >= threshold { hits += 1 }
        }
        return Permutation(
            difference: observed, p: Double(hits) / Double(monteCarloDraws + 1), splits: monteCarloDraws + 1,
            exact: false)
    }

    /// The quantile `q` of sorted values by linear interpolation between order statistics (numpy's default);
    /// +infinity stands for a value beyond every finite one (a run that never escaped). NaN for no values.
    public static func interpolatedQuantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let h = q * Double(sorted.count - 1)
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        let w = h - Double(lo)
        if w == 0 || sorted[lo] == sorted[hi] { return sorted[lo] }
        if sorted[hi].isInfinite { return .infinity }
        return sorted[lo] + w * (sorted[hi] - sorted[lo])
    }

    public static func median(_ sorted: [Double]) -> Double { interpolatedQuantile(sorted, 0.5) }

    /// Percentile bootstrap interval of the median (lower empirical quantiles of the resamples' medians, as
    /// `bootstrapMean`), over `monteCarloDraws` seeded resamples; exact for a single value.
    public static func bootstrapMedian(_ x: [Double], level: Double = 0.95, seed: UInt64 = 1) -> Interval {
        let n = x.count
        guard n > 1 else { return Interval(low: x.first ?? .nan, high: x.first ?? .nan, exact: true) }
        var rng = Rng(seed: seed)
        var medians: [Double] = []
        medians.reserveCapacity(monteCarloDraws)
        var sample = [Double](repeating: 0, count: n)
        for _ in 0..<monteCarloDraws {
            for i in 0..<n { sample[i] = x[rng.below(n)] }
            sample.sort()
            medians.append(median(sample))
        }
        medians.sort()
        return Interval(
            low: quantile(medians, (1 - level) / 2), high: quantile(medians, (1 + level) / 2), exact: false)
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        var r = 1.0
        for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
        return r
    }

    /// The first step at which a curve has come 90% of the way to its final value: value >= 0.9 x final
    /// for a curve that rises (as the run report's summary), value <= final + 0.1 x (first - final) for one
    /// that falls (losses).
    public static func stepReaching90(_ points: [(step: Int, value: Double)]) -> Int? {
        guard let first = points.first?.value, let last = points.last?.value else { return nil }
        if last >= first { return points.first { $0.value >= 0.9 * last }?.step }
        return points.first { $0.value <= last + 0.1 * (first - last) }?.step
    }
}

// The statistics behind `embryo compare`, on cases small enough to work out by hand, and a comparison of
// runs whose metrics differ in what they measured.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation
import XCTest

final class CompareTests: XCTestCase {
    func testNamesStayOneMarkdownCell() {
        XCTAssertEqual(CompareReport.cell("born|in\nnext\\"), "born\\|in next\\\\")
        XCTAssertEqual(CompareReport.cell("plain/name"), "plain/name")
    }

    func testMeanAndSampleStandardDeviation() {
        XCTAssertEqual(SeedStatistics.mean([1, 2, 3, 6]), 3)
        // deviations -2,-1,0,3: squares 4+1+0+9 = 14, / 3
        XCTAssertEqual(SeedStatistics.sd([1, 2, 3, 6]), (14.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(SeedStatistics.sd([5]), 0)
    }

    func testBootstrapIntervalOfTwoValuesIsTheirRange() {
        // resamples of {1, 3}: (1,1) (1,3) (3,1) (3,3): means 1, 2, 2, 3; 2.5% and 97.5% quantiles: 1 and 3
        let ci = SeedStatistics.bootstrapMean([1, 3])
        XCTAssertEqual(ci, SeedStatistics.Interval(low: 1, high: 3, exact: true))
    }

    func testBootstrapIntervalOfThreeValuesByEnumeration() {
        // 27 resamples of {0, 0, 3}: the mean is 3k/3 = k with k threes among 3 draws, k ~ Binomial(3, 1/3):
        // P(k=0) = 8/27, P(1) = 12/27, P(2) = 6/27, P(3) = 1/27. The 2.5% quantile is 0; the 97.5% quantile is
        // the smallest mean with at least 26.325 of 27 resamples at or below it: k = 3 (26 at or below k = 2).
        let ci = SeedStatistics.bootstrapMean([0, 0, 3])
        XCTAssertEqual(ci.low, 0)
        XCTAssertEqual(ci.high, 3)
        // at 50%: 6.75 of 27 at or below -> k = 0 (8 are); 20.25 of 27 -> k = 2 (only 20 at or below k = 1)
        let mid = SeedStatistics.bootstrapMean([0, 0, 3], level: 0.5)
        XCTAssertEqual(mid.low, 0)
        XCTAssertEqual(mid.high, 2)
        // past the enumeration limit: seeded Monte Carlo, the same numbers each time
        let many = (0..<12).map(Double.init)
        let a = SeedStatistics.bootstrapMean(many), b = SeedStatistics.bootstrapMean(many)
        XCTAssertFalse(a.exact)
        XCTAssertEqual(a, b)
        XCTAssertLessThan(a.low, 5.5)
        XCTAssertGreaterThan(a.high, 5.5)
    }

    func testPermutationTestByHand() {
        // a = {1, 2}, b = {3, 4}: the 6 splits give |difference| 2, 1, 0, 0, 1, 2; observed 2: p = 2/6
        let t = SeedStatistics.permutationTest([1, 2], [3, 4])
        XCTAssertEqual(t.difference, -2)
        XCTAssertEqual(t.splits, 6)
        XCTAssertEqual(t.p, 1.0 / 3, accuracy: 1e-12)
        XCTAssertTrue(t.exact)
        // five against five, fully separated: only the observed split and its mirror are as extreme: 2/252
        let s = SeedStatistics.permutationTest([1, 2, 3, 4, 5], [11, 12, 13, 14, 15])
        XCTAssertEqual(s.splits, 252)
        XCTAssertEqual(s.p, 2.0 / 252, accuracy: 1e-12)
        // equal groups: every split is at least as extreme as a zero difference
        XCTAssertEqual(SeedStatistics.permutationTest([1, 1], [1, 1]).p, 1)
    }

    func testStepReaching90RisingAndFalling() {
        XCTAssertEqual(SeedStatistics.stepReaching90([(0, 0), (10, 0.5), (20, 0.95), (40, 1.0)]), 20)
        // a loss from 8 to 3: 90% of the way is 3.5
        XCTAssertEqual(SeedStatistics.stepReaching90([(0, 8), (10, 4), (20, 3.4), (40, 3)]), 20)
    }

    func curve(_ pts: [(Int, Double)]) -> [(step: Int, value: Double)] { pts.map { (step: $0.0, value: $0.1) } }

    func testComparisonKeepsSharedMetricsAndListsTheRest() throws {
        let run = Run(URL(fileURLWithPath: "/nonexistent"))
        func r(_ name: String, _ a: Double, extra: Bool) -> ComparedRun {
            var curves = ["loss/mlm_loss": curve([(0, 8), (100, a)])]
            if extra { curves["knowledge/p_at_1/mean"] = curve([(0, 0), (100, 0.5)]) }
            return ComparedRun(name: name, run: run, curves: curves, branchedAt: nil, parent: nil)
        }
        let c = try Comparison(groups: [
            ComparisonGroup(name: "a", runs: [r("a1", 3, extra: true), r("a2", 4, extra: false)]),
            ComparisonGroup(name: "b", runs: [r("b1", 5, extra: true)]),
        ])
        XCTAssertEqual(c.shared, ["loss/mlm_loss"])
        XCTAssertEqual(c.unshared.map(\.metric), ["knowledge/p_at_1/mean"])
        XCTAssertEqual(c.unshared[0].runs, ["a1", "b1"])
        let band = c.band(c.groups[0], "loss/mlm_loss")
        XCTAssertEqual(band.map(\.step), [0, 100])
        XCTAssertEqual(band[1].mean, 3.5)
        XCTAssertEqual(band[1].ci.low, 3)
        XCTAssertEqual(band[1].ci.high, 4)
        let tests = c.tests("loss/mlm_loss")
        XCTAssertEqual(tests.map(\.statistic), ["final", "t90"])
        // finals {3, 4} vs {5}: splits {3,4}|5: -1.5, {3,5}|4: 0, {4,5}|3: 1.5 -> p = 2/3
        XCTAssertEqual(tests[0].result.p, 2.0 / 3, accuracy: 1e-12)
        let jsonl = CompareReport.jsonl(c)
        XCTAssertTrue(jsonl.contains("\"kind\":\"unshared\",\"metric\":\"knowledge/p_at_1/mean\""))
        XCTAssertTrue(CompareReport.page(c).contains("Metrics not shared by every run"))
    }
}

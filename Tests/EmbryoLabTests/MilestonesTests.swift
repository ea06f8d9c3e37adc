// The milestone finder on curves made by hand: one onset, none, two candidates (the steeper wins, and
// intervals before the warmup's end are not candidates), a break above a plateau at zero that one lucky
// word does not make; the sign test and the correlation against values worked out by hand.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import Foundation
import XCTest

final class MilestonesTests: XCTestCase {
    func testSteepestRiseAndFall() {
        // one onset: flat, then +0.3 between 400 and 600
        let one: [(step: Int, value: Double)] = [(0, 0.1), (200, 0.1), (400, 0.12), (600, 0.42), (800, 0.44)]
        XCTAssertEqual(Trajectory.steepest(one, rising: true), 600)
        // none: a curve that never rises
        XCTAssertNil(Trajectory.steepest([(0, 0.5), (200, 0.5), (400, 0.4)], rising: true))
        XCTAssertEqual(Trajectory.steepest([(0, 0.5), (200, 0.5), (400, 0.4)], rising: false), 400)
        // two candidates: +0.2 over 200 steps beats +0.25 over 400; per step, not per interval
        let two: [(step: Int, value: Double)] = [(0, 0), (200, 0.2), (600, 0.45), (800, 0.45)]
        XCTAssertEqual(Trajectory.steepest(two, rising: true), 200)
        // a rise inside the warmup is no candidate when the search starts after it
        let early: [(step: Int, value: Double)] = [(0, 0), (1, 0.05), (2, 0.2), (200, 0.2), (400, 0.4)]
        XCTAssertEqual(Trajectory.steepest(early, rising: true), 2)
        XCTAssertEqual(Trajectory.steepest(early, rising: true, from: 160), 400)
        XCTAssertNil(Trajectory.steepest([(0, 1)], rising: true))
    }

    func testBreakAboveThePlateau() {
        // plateau at 0 over 1,000 words: one lucky word (0.001) is within 3 SE of the floored mean, 0.02 is not
        let p: [(step: Int, value: Double, count: Int)] = [
            (0, 0, 1000), (200, 0, 1000), (400, 0.001, 1000), (600, 0.02, 1000), (800, 0.3, 1000),
        ]
        XCTAssertEqual(Milestones.breakUp(p), 600)
        XCTAssertEqual(Milestones.breakUp(p, from: 700), 800)
        // a noisy plateau at 0.3 (SE over 100 words about 0.046): 0.4 is within 3 SE, 0.5 is not
        let noisy: [(step: Int, value: Double, count: Int)] = [(0, 0.3, 100), (200, 0.4, 100), (400, 0.5, 100)]
        XCTAssertEqual(Milestones.breakUp(noisy), 400)
        XCTAssertNil(Milestones.breakUp([(0, 0.3, 100), (200, 0.31, 100)]))
    }

    func testCapabilitiesFromMinimalPairsOnceProbed() throws {
        let root = try scratchDirectory("milestones")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root)
        let aux = [(0, 0.0), (200, 0.0), (400, 0.5)].map {
            ProbeMetric(step: $0.0, probe: "mlm", key: Milestones.capabilitiesKey, value: $0.1, count: 1000)
        }
        let pairs = [(0, 0.5), (200, 0.6), (400, 0.6)].map {
            ProbeMetric(step: $0.0, probe: "pairs", key: Milestones.pairsKey, value: $0.1, count: 7500)
        }
        let before = try Milestones.of(run: run, metrics: aux)
        XCTAssertEqual(before.capabilitiesOnset, 400)
        XCTAssertEqual(before.capabilities, "mlm/" + Milestones.capabilitiesKey)
        let after = try Milestones.of(run: run, metrics: aux + pairs)
        XCTAssertEqual(after.capabilitiesOnset, 200)
        XCTAssertEqual(after.capabilities, "pairs/accuracy/mean")
    }

    func testSignTestAndCorrelationByHand() {
        // 9 of 10 one way: 2 * (1 + 10) / 1024
        XCTAssertEqual(MilestoneComparison.signTest(9, of: 10), 22.0 / 1024, accuracy: 1e-12)
        XCTAssertEqual(MilestoneComparison.signTest(5, of: 10), 1, accuracy: 1e-12)
        XCTAssertEqual(MilestoneComparison.signTest(0, of: 3), 0.25, accuracy: 1e-12)
        XCTAssertEqual(MilestoneComparison.pearson([(1, 2), (2, 4), (3, 6)]), 1, accuracy: 1e-12)
        XCTAssertEqual(MilestoneComparison.pearson([(1, 3), (2, 2), (3, 1)]), -1, accuracy: 1e-12)
        XCTAssertEqual(MilestoneComparison.pearson([(1, 1), (2, 3), (3, 2)]), 0.5, accuracy: 1e-12)
        XCTAssertTrue(MilestoneComparison.pearson([(1, 1), (2, 2)]).isNaN)
    }
}

// The milestone finder on curves made by hand: one onset, none, two candidates (the steeper wins, and
// intervals before the warmup's end are not candidates), a break above a plateau at zero that one lucky
// word does not make; the sign test and the correlation against values worked out by hand; an onset's
// prominence against its curve's own noise, worked out by hand.

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

    /// A curve over steps 0, 100, ... whose per-interval changes are `changes`.
    private func curve(_ changes: [Double]) -> [(step: Int, value: Double)] {
        var v = 0.5, out: [(step: Int, value: Double)] = [(0, 0.5)]
        for (i, d) in changes.enumerated() {
            v += d
            out.append(((i + 1) * 100, v))
        }
        return out
    }

    func testProminenceAgainstTheCurvesOwnNoise() {
        // a step of 0.10 among changes of +-0.01, of which the next snapshot keeps 0.09: median 0.01, MAD
        // 0.01, z = (0.09 - 0.01) / 0.014826
        let step = curve([0.01, -0.01, 0.01, 0.10, -0.01, 0.01])
        XCTAssertEqual(Trajectory.steepest(step, rising: true), 400)
        XCTAssertEqual(Milestones.prominence(step, at: 400, rising: true)!, 0.08 / 0.014826, accuracy: 1e-9)
        // the same rise undone at the next snapshot is a spike: it holds nothing, z = -0.01 / 0.014826
        let spike = curve([0.01, -0.01, 0.01, 0.10, -0.10, 0.01])
        XCTAssertEqual(Milestones.prominence(spike, at: 400, rising: true)!, -0.01 / 0.014826, accuracy: 1e-9)
        // a rise into the last snapshot has no next one to hold it: its own rise, over the MAD of 0.02
        let last = curve([0.01, -0.01, 0.01, -0.01, 0.10])
        XCTAssertEqual(Milestones.prominence(last, at: 500, rising: true)!, 0.09 / (1.4826 * 0.02), accuracy: 1e-9)
        // a noisy drift: the largest rise (0.03) is 0.9 robust standard deviations out
        let drift = curve([0.02, -0.01, 0.03, 0.0, 0.025, -0.005])
        XCTAssertEqual(Trajectory.steepest(drift, rising: true), 300)
        let z = Milestones.prominence(drift, at: 300, rising: true)!
        XCTAssertEqual(z, 0.02 / (1.4826 * 0.015), accuracy: 1e-9)
        XCTAssertLessThan(z, Milestones.distinctZ)
        // a fall, read with rising false: the same numbers mirrored
        let fall = step.map { ($0.step, 1 - $0.value) }
        XCTAssertEqual(Milestones.prominence(fall, at: 400, rising: false)!, 0.08 / 0.014826, accuracy: 1e-9)
        // over half the changes equal: the mean absolute deviation times sqrt(pi/2), 0.02 * 1.2533
        let flat = curve([0, 0, 0, 0.1, 0])
        XCTAssertEqual(
            Milestones.prominence(flat, at: 400, rising: true)!, 0.1 / (0.02 * (Double.pi / 2).squareRoot()),
            accuracy: 1e-9)
        // too few intervals (also once those before `from` are dropped), a step that ends no interval, no
        // onset, no spread
        XCTAssertNil(Milestones.prominence(curve([0, 0.1, 0, 0]), at: 200, rising: true))
        XCTAssertNil(Milestones.prominence(step, at: 450, rising: true))
        XCTAssertNil(Milestones.prominence(step, at: 400, rising: true, from: 200))
        XCTAssertNil(Milestones.prominence(step, at: nil, rising: true))
        XCTAssertNil(Milestones.prominence(curve([0.01, 0.01, 0.01, 0.01, 0.01]), at: 100, rising: true))
    }

    func testTheStructureOnsetCarriesItsProminence() throws {
        let root = try scratchDirectory("milestones-z")
        defer { try? FileManager.default.removeItem(at: root) }
        let uas = curve([0.01, -0.01, 0.01, 0.10, -0.01, 0.01]).map {
            ProbeMetric(step: $0.step, probe: "attention", key: "uas/best", value: $0.value, count: 3000)
        }
        let m = try Milestones.of(run: Run(root), metrics: uas)
        XCTAssertEqual(m.structureOnset, 400)
        XCTAssertEqual(m.structureOnsetZ!, 0.08 / 0.014826, accuracy: 1e-9)
        XCTAssertNil(m.collapseReleaseZ)
        XCTAssertEqual(m.prominenceCell("structure_onset"), "5.3", "5.396, rounded down")
        var near = m
        near.structureOnsetZ = 2.96
        XCTAssertEqual(near.prominenceCell("structure_onset"), "2.9 (within noise)")
        XCTAssertEqual(m.prominenceCell("escape"), "–")
        // milestones.json written before prominences existed still reads
        let old = #"{"from":0,"last_step":600,"capabilities_metric":"x","structure_onset":400}"#
        let read = try JSONDecoder().decode(Milestones.self, from: Data(old.utf8))
        XCTAssertEqual(read.structureOnset, 400)
        XCTAssertNil(read.structureOnsetZ)
        XCTAssertEqual(read.prominenceCell("structure_onset"), "–")
    }
}

// `embryo llc-sweep` end to end on a micro run: one row per cell, sweep.jsonl with each chain's minibatch
// steps (training steps of the run), the two charts, and the errors for a minibatch larger than the run's.

import EmbryoTestSupport
import Foundation
import XCTest

final class LlcSweepTests: ScratchDirectoryTestCase {
    func testASweepOfTwoCellsOnAMicroRun() throws {
        let r = try runEmbryo(
            ["pretrain"] + (try microRecipe(steps: 12, saveEvery: 6)) + ["--threads", "1", "--out", path("run")])
        XCTAssertEqual(r.code, 0, r.err)
        let common = [
            "llc-sweep", "--checkpoint", path("run/checkpoints/step-000012"), "--gamma", "1000", "--llc-chains", "2",
            "--llc-draws", "6", "--llc-burnin", "2", "--llc-batch", "4", "--threads", "2", "--out", path("sweep"),
        ]
        let s = try runEmbryo(common + ["--eps", "1e-4,1e-3"])
        XCTAssertEqual(s.code, 0, s.err)
        let rows = s.out.split(separator: "\n").filter { $0.hasPrefix("| 0.") }
        XCTAssertEqual(rows.count, 2, s.out)
        XCTAssertTrue(s.out.hasSuffix("sweep\n"), s.out)
        let lines = try String(contentsOfFile: path("sweep/sweep.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let cell = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        let steps = ((cell["cell"] as? [String: Any])?["steps"] as? [[Int]]) ?? []
        XCTAssertEqual(steps.count, 2)
        XCTAssertEqual(steps.map(\.count), [8, 8])
        XCTAssertTrue(steps.joined().allSatisfy { (1...12).contains($0) }, "\(steps)")
        for chart in ["sweep-llc.svg", "sweep-traces.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("sweep/\(chart)")), chart)
        }
        let big = try runEmbryo(common.map { $0 == "4" ? "9" : $0 } + ["--eps", "1e-4"])
        XCTAssertEqual(big.code, 64, big.err)
        XCTAssertTrue(big.err.contains("larger than the run's batch of 8 sequences"), big.err)
    }
}

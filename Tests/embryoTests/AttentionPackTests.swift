// The attention probe's packed rows from the command line: `probe --attention-pack N` reads rows longer than
// one sentence, up to N tokens; a length the model cannot read and a nonsensical one are refused with a
// clear error; `milestones` reads the packed folder with the onset's prominence.

import EmbryoTestSupport
import Foundation
import XCTest

final class AttentionPackTests: ScratchDirectoryTestCase {
    func testPackedRowsFromTheCommandLine() throws {
        let trained = try runEmbryo(["pretrain"] + (try microRecipe(steps: 48, saveEvery: 8)) + ["--out", path("run")])
        XCTAssertEqual(trained.code, 0, trained.err)
        let probe = [
            "probe", "--run", path("run"), "--pos", path("w/probe.conllu"), "--probes", "attention", "--threads", "1",
        ]
        let single = try runEmbryo(probe + ["--out", path("single")])
        XCTAssertEqual(single.code, 0, single.err)
        let packed = try runEmbryo(probe + ["--attention-pack", "32", "--out", path("packed")])
        XCTAssertEqual(packed.code, 0, packed.err)
        XCTAssertFalse(packed.err.contains("never trained"), packed.err)
        // longer than the run's 32-token rows: measured, with a warning
        let beyond = try runEmbryo(probe + ["--attention-pack", "64", "--out", path("beyond")])
        XCTAssertEqual(beyond.code, 0, beyond.err)
        XCTAssertTrue(beyond.err.contains("longer than the 32-token rows the run trained on"), beyond.err)
        func rowTokens(_ folder: String) throws -> [Double] {
            try String(contentsOfFile: path("\(folder)/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
                .filter { $0.contains(#""key":"row_tokens""#) }
                .map { line in
                    let v = line.components(separatedBy: #""value":"#)[1].prefix { "0123456789.e-".contains($0) }
                    return Double(v)!
                }
        }
        let (a, b) = (try rowTokens("single"), try rowTokens("packed"))
        XCTAssertEqual(a.count, b.count)
        XCTAssertFalse(a.isEmpty)
        for (x, y) in zip(a, b) {
            XCTAssertLessThan(x, 40, "one sentence per row")
            XCTAssertGreaterThan(y, x, "packed rows are longer")
            XCTAssertLessThanOrEqual(y, 32)
        }
        // the packed folder's milestones: the structure onset with its prominence column
        let m = try runEmbryo(["milestones", "--run", path("run"), "--from", path("packed")])
        XCTAssertEqual(m.code, 0, m.err)
        XCTAssertTrue(m.out.contains("| milestone | step | prominence (z) |"), m.out)
        XCTAssertTrue(m.out.contains("| structure_onset |"), m.out)
        // six intervals after the warmup (steps 4, 8, 16, 24, 32, 40, 48): the onset is judged
        let json = try String(contentsOfFile: path("packed/milestones.json"), encoding: .utf8)
        XCTAssertTrue(json.contains(#""structure_onset" :"#) && json.contains(#""structure_onset_z" :"#), json)
        // a length the model cannot read, and one that holds no sentence
        let long = try runEmbryo(probe + ["--attention-pack", "65", "--out", path("long")])
        XCTAssertNotEqual(long.code, 0)
        XCTAssertTrue(long.err.contains("--attention-pack 65") && long.err.contains("at most 64 positions"), long.err)
        let short = try runEmbryo(probe + ["--attention-pack", "1", "--out", path("short")])
        XCTAssertEqual(short.code, 64, short.err)
        XCTAssertTrue(short.err.contains("--attention-pack"), short.err)
    }
}

// The plateau diagnostics: the mean pairwise cosine and the repetition shares on cases worked by hand, and
// the probe on every snapshot of a short run.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import XCTest

final class DynamicsProbeTests: ScratchDirectoryTestCase {
    func testCosineAndRepetitionByHand() {
        // identical rows: 1; orthogonal ones: 0; (1,0), (1,1), (0,1): (1/sqrt2 + 0 + 1/sqrt2) / 3
        let same: [Float] = [1, 2, 1, 2, 1, 2]
        XCTAssertEqual(DynamicsProbe.meanPairwiseCosine(same, n: 3, H: 2), 1, accuracy: 1e-12)
        let ortho: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 3]
        XCTAssertEqual(DynamicsProbe.meanPairwiseCosine(ortho, n: 3, H: 3), 0, accuracy: 1e-12)
        let mixed: [Float] = [1, 0, 1, 1, 0, 1]
        XCTAssertEqual(DynamicsProbe.meanPairwiseCosine(mixed, n: 3, H: 2), 2 / 2.0.squareRoot() / 3, accuracy: 1e-12)
        // sentences' masked predictions: 2 of 3 repeat in the first, 1 of 2 in the third (the second has one)
        let r = DynamicsProbe.repetition([[5, 5, 7], [1], [2, 3]], mode: 5)
        XCTAssertEqual(r.repetition, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(r.repeated, 5)
        XCTAssertEqual(r.unigram, 2.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(r.masked, 6)
    }

    func testEverySnapshotOfAShortRun() throws {
        let run = try Run(trainMicroRun())
        var o = ProbeOptions()
        o.probes = ["dynamics"]
        o.maxSentences = 40
        let runner = try ProbeRunner(run: run, options: o, warn: { XCTFail($0) })
        let ms = try runner.run(try runner.scan()) { _, _, _, _ in }
        for key in ["collapse", "repetition", "unigram_mode"] {
            let values = ms.filter { $0.key == key }
            XCTAssertEqual(values.map(\.step), [0, 10, 20], key)
            for m in values { XCTAssertTrue(m.value >= -1 && m.value <= 1, "\(m)") }
        }
        let html = try String(contentsOf: run.probes.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Plateau diagnostics"))
    }
}

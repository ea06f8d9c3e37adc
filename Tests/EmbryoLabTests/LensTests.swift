// The logit lens: through the last layer it must be the model's own MLM prediction (the same positions
// scored by the MLM head of the forward pass), and every layer must give a prediction per target.

import EmbryoCore
import EmbryoLab
import Foundation
import XCTest

final class LensTests: XCTestCase {
    func testLastLayerEqualsTheModelsOwnPredictions() throws {
        var c = AlbertConfig.preset("tiny", vocabSize: 300)!
        c.numHiddenLayers = 3
        let model = try Albert(config: c)
        model.initializeWeights(seed: 7)
        var rng = Rng(seed: 3)
        var rows: [[Int32]] = [], targets: [LensProbe.Target] = []
        for r in 0..<9 {
            let n = 6 + rng.below(20)
            var ids = (0..<n).map { _ in Int32(5 + rng.below(295)) }
            ids[0] = 2
            ids[n - 1] = 3
            for p in stride(from: 1, to: n - 1, by: 4) {
                targets.append(LensProbe.Target(row: r, position: p, label: ids[p], upos: p % 8 == 1 ? "NOUN" : "VERB"))
                ids[p] = 4
            }
            rows.append(ids)
        }
        let layers = try LensProbe.evaluate(model: model, rows: rows, targets: targets)
        XCTAssertEqual(layers.count, 4)
        for l in layers { XCTAssertEqual(l.correct.count, targets.count) }
        // the model's own scoring of the same targets
        let labelled = rows.enumerated().map { r, ids -> LabelledRow in
            var labels = [Int32](repeating: -100, count: ids.count)
            for t in targets where t.row == r { labels[t.position] = t.label }
            return LabelledRow(ids: ids, labels: labels)
        }
        let scored = try MLMScoring.score(model: model, rows: labelled)
        var k = 0
        for (r, s) in scored.enumerated() {
            let mine = targets.indices.filter { targets[$0].row == r }.sorted {
                targets[$0].position < targets[$1].position
            }
            XCTAssertEqual(s.correct.count, mine.count)
            for (j, t) in mine.enumerated() {
                XCTAssertEqual(layers[3].correct[t], s.correct[j], "row \(r) target \(j)")
                XCTAssertEqual(layers[3].loss[t], s.loss[j], accuracy: 1e-4 * max(1, abs(s.loss[j])))
                k += 1
            }
        }
        XCTAssertEqual(k, targets.count)
    }
}

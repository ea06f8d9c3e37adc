// `embryo fill`'s predictions against transformers' fill-mask pipeline on the same checkpoint directory
// (fixture from Scripts/make-fill-fixture.py): same tokens in the same order, same probabilities.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation
import XCTest

final class FillTests: XCTestCase {
    var fixture: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("fill") }

    func testMatchesTransformersFillMaskPipeline() throws {
        let dir = fixture.appendingPathComponent("checkpoint")
        let model = try Albert.load(from: dir)
        let tok = try WordPieceTokenizer.load(vocab: dir.appendingPathComponent("vocab.txt"))
        let texts = try String(contentsOf: fixture.appendingPathComponent("texts.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let expected = try String(contentsOf: fixture.appendingPathComponent("expected.tsv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let got = try FillMask.predict(model: model, tokenizer: tok, texts: texts, topK: 5)
        XCTAssertEqual(got.count, expected.count)
        for (g, e) in zip(got, expected) {
            XCTAssertEqual([String(g.textIndex), String(g.maskIndex), String(g.rank), g.token], Array(e[0..<4]))
            XCTAssertEqual(Double(g.probability), Double(e[4])!, accuracy: 1.5e-6, "\(g.line)")
            XCTAssertEqual(g.line.split(separator: "\t").count, 5)
        }
        // probabilities fall with rank
        for (a, b) in zip(got, got.dropFirst()) where a.textIndex == b.textIndex && a.maskIndex == b.maskIndex {
            XCTAssertGreaterThanOrEqual(a.probability, b.probability)
        }
        XCTAssertThrowsError(try FillMask.predict(model: model, tokenizer: tok, texts: ["no mask here"], topK: 5))
    }
}

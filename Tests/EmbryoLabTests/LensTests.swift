// The logit lens: through the last layer it must be the model's own MLM prediction (the same positions
// scored by the MLM head of the forward pass), and every layer must give a prediction per target.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation
import XCTest

final class LensTests: XCTestCase {
    func testLastLayerEqualsTheModelsOwnPredictions() throws {
        // enough targets for the head to score them on both threads, several chunks each
        Threads.configure(2)
        defer { Threads.configure(1) }
        var c = AlbertConfig.preset("tiny", vocabSize: 300)!
        c.numHiddenLayers = 3
        let model = try Albert(config: c)
        model.initializeWeights(seed: 7)
        var rng = Rng(seed: 3)
        var rows: [[Int32]] = [], targets: [LensProbe.Target] = []
        for r in 0..<40 {
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
        XCTAssertGreaterThan(targets.count, 4 * 32)
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
                XCTAssertEqual(layers[3].predicted[t] == targets[t].label, s.correct[j])
                XCTAssertEqual(layers[3].loss[t], s.loss[j], accuracy: 1e-4 * max(1, abs(s.loss[j])))
                k += 1
            }
        }
        XCTAssertEqual(k, targets.count)
    }

    func testPerExampleDynamicsOnASyntheticSequenceOfSnapshots() {
        let targets = [
            ExamplesProbe.Target(row: 0, position: 1, label: 7, upos: "NOUN", words: 5),
            ExamplesProbe.Target(row: 0, position: 3, label: 9, upos: "DET", words: 5),
        ]
        let steps = [0, 10, 20, 40, 80]
        // target 0: learned at 10, forgotten at 40 (one event), learned again from 80; target 1: learned at 20
        let correct = [[false, false], [true, false], [true, true], [false, true], [true, true]]
        let loss: [[Float]] = [[3, 3], [1, 2], [0.5, 0.2], [2, 0.1], [0.1, 0.1]]
        let rows = ExamplesProbe.rows(
            targets: targets, steps: steps, loss: loss, correct: correct, frequency: { Int($0) * 100 })
        XCTAssertEqual(rows.map(\.learnedStep), [80, 20])
        XCTAssertEqual(rows.map(\.forgetting), [1, 0])
        XCTAssertEqual(rows.map(\.frequency), [700, 900])
        let p0 = [3.0, 1, 0.5, 2, 0.1].map { exp(-$0) }
        let mean = p0.reduce(0, +) / 5
        XCTAssertEqual(rows[0].confidence, mean, accuracy: 1e-6)
        let sd = (p0.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5).squareRoot()
        XCTAssertEqual(rows[0].variability, sd, accuracy: 1e-6)
        // results of another shape are not mixed in
        XCTAssertTrue(
            ExamplesProbe.rows(targets: targets, steps: [0], loss: [[1]], correct: [[true]], frequency: nil).isEmpty)
    }
}

final class AttentionProbeTests: XCTestCase {
    /// A tiny model (2 layer applications) whose queries and keys are zero, so that it attends uniformly.
    static func uniformModel() throws -> Albert {
        var c = AlbertConfig.preset("tiny", vocabSize: 300)!
        c.numHiddenLayers = 2
        let model = try Albert(config: c)
        model.initializeWeights(seed: 5)
        for t in model.layout.tensors where t.name.contains("attention.query") || t.name.contains("attention.key") {
            (model.params.pointer + t.offset).update(repeating: 0, count: t.shape.reduce(1, *))
        }
        return model
    }

    /// [CLS] w1 w2 w3 , [SEP]: w2 heads w1 (nsubj), w3 heads w2 (obj), "," punct of w3.
    static let sentence = ProbeSentence(
        text: "a b c ,", ids: [2, 10, 11, 12, 13, 3], words: [1..<2, 2..<3, 3..<4, 4..<5],
        upos: ["NOUN", "VERB", "NOUN", "PUNCT"], xpos: ["NN", "VB", "NN", ","], heads: [2, 0, 2, 3],
        deprels: ["nsubj", "root", "obj", "punct"])

    /// A model whose queries and keys are zero attends uniformly: every statistic is known in closed form.
    func testUniformAttentionOfAHandBuiltModel() throws {
        let (model, s) = (try Self.uniformModel(), Self.sentence)
        let ms = try AttentionProbe.run(model: model, sentences: [s], sepId: 3, step: 0)
        func value(_ k: String) -> Double { ms.first { $0.key == k }!.value }
        let n = 6.0
        for l in 1...2 {
            for h in 0..<model.config.numAttentionHeads {
                let name = "layer_\(l)/head_\(h)"
                XCTAssertEqual(value("entropy/\(name)"), Foundation.log(n), accuracy: 1e-5)
                XCTAssertEqual(value("previous/\(name)"), 5 / n / n, accuracy: 1e-6)  // 5 of 6 queries have one
                XCTAssertEqual(value("next/\(name)"), 5 / n / n, accuracy: 1e-6)
                XCTAssertEqual(value("cls/\(name)"), 1 / n, accuracy: 1e-6)
                XCTAssertEqual(value("sep/\(name)"), 1 / n, accuracy: 1e-6)
                XCTAssertEqual(value("punctuation/\(name)"), 1 / n, accuracy: 1e-6)
                XCTAssertEqual(value("gold_head/\(name)"), 1 / n, accuracy: 1e-6)
            }
        }
        // fewer than 20 dependents per relation: no best-head figure
        XCTAssertFalse(ms.contains { $0.key.hasPrefix("best_head/") })
        // the implicit parse under uniform attention: every other word weighs 1/6 (one piece of six tokens), so
        // the first candidate wins; only w1 -> w2 is found (in both directions), and the offset -1 finds 2 of 3
        XCTAssertEqual(value("uas/best"), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value("uas/best/layer"), 1)
        XCTAssertEqual(value("uas/best/head"), 0)
        XCTAssertEqual(value("uas/best/direction"), 0)
        XCTAssertEqual(value("uas/soft"), 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(value("uas/best/argmax_weight"), 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(value("uas/offset_baseline"), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value("uas/offset"), -1)
        XCTAssertEqual(value("uas/gain"), -1.0 / 3, accuracy: 1e-12)
    }

    /// Attention maps built by hand over a sentence with a two-piece word: head 0 looks from each word at
    /// its parent, head 1 from each parent at its dependents, head 2 uniformly.
    func testImplicitParseFindsTheParentInEitherDirection() throws {
        // [CLS] a b1 b2 c d [SEP]: a -> b (nsubj), b root, c -> b (obj), d -> c (amod)
        let s = ProbeSentence(
            text: "a b c d", ids: [2, 10, 11, 12, 13, 14, 3], words: [1..<2, 2..<4, 4..<5, 5..<6],
            upos: ["NOUN", "VERB", "NOUN", "ADJ"], xpos: ["NN", "VB", "NN", "JJ"], heads: [2, 0, 2, 3],
            deprels: ["nsubj", "root", "obj", "amod"])
        let T = 7, heads = 3
        var att = [Float](repeating: 0, count: heads * T * T)
        func set(_ h: Int, _ q: Int, _ k: Int, _ v: Float) { att[h * T * T + q * T + k] = v }
        for q in 0..<T {
            for k in 0..<T { set(2, q, k, 1 / Float(T)) }
            set(0, q, 0, 1)  // [CLS] by default (left out of the parse)
        }
        // head 0: a -> b1, both pieces of b -> [CLS] (root), c -> b2, d -> c
        set(0, 1, 0, 0); set(0, 1, 2, 1)
        set(0, 4, 0, 0); set(0, 4, 3, 1)
        set(0, 5, 0, 0); set(0, 5, 4, 1)
        // head 1: b's pieces -> a and c equally, c -> d, d -> [CLS], and a almost all on [SEP]: its 0.02 on c
        // must not outweigh b's 0.5 in the transposed map (it would if a's row were renormalised)
        for q in [2, 3] { set(1, q, 1, 0.5); set(1, q, 4, 0.5) }
        set(1, 4, 5, 1)
        for q in [0, 5, 6] { set(1, q, 0, 1) }
        set(1, 1, 6, 0.98)
        set(1, 1, 4, 0.02)
        var sums = [AttentionProbe.ParseSums](repeating: .init(), count: heads)
        let copies = 100
        att.withUnsafeBufferPointer { p in
            for _ in 0..<copies {
                AttentionProbe.accumulateParse(p.baseAddress!, heads: heads, T: T, sentence: s, into: &sums)
            }
        }
        XCTAssertEqual(sums[0].hits, [3 * copies, sums[0].hits[1]])
        XCTAssertEqual(sums[1].hits[1], 3 * copies, "head 1 finds every arc in the transposed map")
        // uniform: every row weighs b (two pieces) twice a one-piece word, so a -> b and c -> b are found and
        // d -> c is not
        XCTAssertEqual(sums[2].hits[0], 2 * copies)
        // there the argmax weighs 2/7 for every arc (b's two pieces), the parent 2/7, 2/7 and 1/7 (d -> c);
        // the map holds Float weights, so 1/7 is exact to about 1e-8 per arc
        XCTAssertEqual(sums[2].argmaxWeight[0], Double(copies) * 6 / 7, accuracy: 1e-4)
        XCTAssertEqual(sums[2].weight[0], Double(copies) * 5 / 7, accuracy: 1e-4)
        let ms = AttentionProbe.parseMetrics([sums], sentences: Array(repeating: s, count: copies), step: 7)
        func value(_ k: String) -> Double { ms.first { $0.key == k }!.value }
        XCTAssertEqual(value("uas/best"), 1)
        XCTAssertEqual([value("uas/best/layer"), value("uas/best/head"), value("uas/best/direction")], [1, 0, 0])
        XCTAssertEqual(value("uas/soft"), 1, accuracy: 1e-12)
        XCTAssertEqual(value("uas/best/argmax_weight"), 1, accuracy: 1e-12)
        XCTAssertEqual(value("uas/offset_baseline"), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value("uas/gain"), 1.0 / 3, accuracy: 1e-12)
        // every relation has 100 arcs; root has none and punct is never scored on its own
        for rel in ["nsubj", "obj", "amod"] {
            XCTAssertEqual(value("uas/relation/\(rel)"), 1, rel)
            XCTAssertEqual([value("uas/relation/\(rel)/head"), value("uas/relation/\(rel)/direction")], [0, 0], rel)
        }
        // direction 1 alone: head 1 is the only one to find every arc, with its weight on the parent as soft
        let transposed = [sums[1], sums[2]]
        let t = AttentionProbe.parseMetrics([transposed], sentences: Array(repeating: s, count: copies), step: 7)
        func tv(_ k: String) -> Double { t.first { $0.key == k }!.value }
        XCTAssertEqual([tv("uas/best"), tv("uas/best/head"), tv("uas/best/direction")], [1, 0, 1])
        XCTAssertEqual(tv("uas/soft"), (0.5 + 0.5 + 1) / 3, accuracy: 1e-12)
        XCTAssertEqual(tv("uas/best/argmax_weight"), (0.5 + 0.5 + 1) / 3, accuracy: 1e-12)
        // a head whose words look only at [SEP]: the argmax reads weights of 0 and finds a -> b by order alone
        var sep = [Float](repeating: 0, count: T * T)
        for q in 0..<T { sep[q * T + 6] = 1 }
        var none = [AttentionProbe.ParseSums](repeating: .init(), count: 1)
        sep.withUnsafeBufferPointer {
            AttentionProbe.accumulateParse($0.baseAddress!, heads: 1, T: T, sentence: s, into: &none)
        }
        let n = AttentionProbe.parseMetrics([none], sentences: [s], step: 7)
        XCTAssertEqual(n.first { $0.key == "uas/best" }!.value, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(n.first { $0.key == "uas/best/argmax_weight" }!.value, 0)
        XCTAssertNil(ms.first { $0.key.hasPrefix("uas/relation/root") })
        XCTAssertEqual(ms.first { $0.key == "uas/best" }?.count, 3 * copies)
    }
}

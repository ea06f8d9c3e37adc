// The `lens` probe: a logit lens through ALBERT's own MLM head. The probe sentences get a fixed masking
// (about 15% of their single-subword words, at least one per sentence, seeded by the sentence); every
// layer's hidden state at a masked position goes through the same snapshot's MLM head (dense, GELU,
// LayerNorm, tied decoder), giving per layer the accuracy and loss of predicting the masked word, overall
// and by its UPOS tag, and per position the first layer whose top prediction is already the last layer's.

import EmbryoCore
import EmbryoRun
import Foundation

public enum LensProbe {
    /// One masked word: its row, its position in the row, the word it hides and its tag.
    public struct Target: Sendable {
        public var row: Int
        public var position: Int
        public var label: Int32
        public var upos: String

        public init(row: Int, position: Int, label: Int32, upos: String) {
            (self.row, self.position, self.label, self.upos) = (row, position, label, upos)
        }
    }

    /// The masked rows of `sentences` (sentences without a single-subword word are left out), their targets,
    /// and the sentence each row came from.
    public static func mask(_ sentences: [ProbeSentence], maskId: Int32)
        -> (rows: [[Int32]], targets: [Target], sentenceOfRow: [Int])
    {
        var rows: [[Int32]] = [], targets: [Target] = [], sentenceOfRow: [Int] = []
        for (i, s) in sentences.enumerated() {
            let single = s.words.indices.filter { s.words[$0].count == 1 }
            guard !single.isEmpty else { continue }
            var rng = Rng(seed: stableHash("lens \(i)"))
            var chosen = single.filter { _ in rng.uniform() < 0.15 }
            if chosen.isEmpty { chosen = [single[rng.below(single.count)]] }
            var ids = s.ids
            for w in chosen {
                let p = s.words[w].lowerBound
                targets.append(Target(row: rows.count, position: p, label: ids[p], upos: s.upos[w]))
                ids[p] = maskId
            }
            rows.append(ids)
            sentenceOfRow.append(i)
        }
        return (rows, targets, sentenceOfRow)
    }

    /// Per layer 0...L: at each target, whether the head's top prediction is the word, its loss, and the
    /// predicted id.
    public static func evaluate(model: Albert, rows: [[Int32]], targets: [Target]) throws
        -> [(correct: [Bool], loss: [Float], predicted: [Int32])]
    {
        let L = model.config.numHiddenLayers, H = model.config.hiddenSize, V = model.config.vocabSize
        let P = targets.count
        var gathered = [[Float]](repeating: [Float](repeating: 0, count: max(P, 1) * H), count: L + 1)
        let byRow = Dictionary(grouping: targets.indices, by: { targets[$0].row })
        let runner = RowRunner(model: model, rows: rows, batching: .inOrder)
        try runner.forEachPass { pass in
            for (b, r) in pass.rows.enumerated() {
                for k in byRow[r] ?? [] {
                    for l in 0...L {
                        let src = pass.hidden(l, row: b) + targets[k].position * H
                        gathered[l].withUnsafeMutableBufferPointer { dst in
                            (dst.baseAddress! + k * H).update(from: src, count: H)
                        }
                    }
                }
            }
        }
        let scratch = Activations(config: model.config, B: 1, T: 1, training: false)
        let labels = targets.map(\.label)
        var out: [(correct: [Bool], loss: [Float], predicted: [Int32])] = []
        for l in 0...L {
            var loss = [Float](repeating: 0, count: P), right = [Float](repeating: 0, count: P)
            var predicted = [Int32](repeating: 0, count: P)
            gathered[l].withUnsafeBufferPointer { g in
                model.headScores(
                    scratch, hidden: g.baseAddress!, labels: labels, rows: P, losses: &loss, correct: &right,
                    predicted: &predicted)
            }
            out.append((right.map { $0 > 0 }, loss, predicted))
        }
        return out
    }

    /// Keys: lens/accuracy/layer_L, lens/loss/layer_L, lens/accuracy/layer_L/upos/TAG, and
    /// lens/first_layer_of_final_prediction (mean over targets of the first layer whose top prediction is
    /// the last layer's).
    public static func run(model: Albert, sentences: [ProbeSentence], maskId: Int32, step: Int) throws -> [ProbeMetric]
    {
        let (rows, targets, _) = mask(sentences, maskId: maskId)
        guard !targets.isEmpty else { return [] }
        let layers = try evaluate(model: model, rows: rows, targets: targets)
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "lens", key: key, value: v, count: c))
        }
        let P = targets.count
        for (l, r) in layers.enumerated() {
            add("accuracy/layer_\(l)", Double(r.correct.filter { $0 }.count) / Double(P), P)
            add("loss/layer_\(l)", r.loss.reduce(0) { $0 + Double($1) } / Double(P), P)
            for tag in Set(targets.map(\.upos)).sorted() {
                let idx = targets.indices.filter { targets[$0].upos == tag }
                add(
                    "accuracy/layer_\(l)/upos/\(tag)", Double(idx.filter { r.correct[$0] }.count) / Double(idx.count),
                    idx.count)
            }
        }
        let final = layers.last!.predicted
        let first = (0..<P).map { k in layers.firstIndex { $0.predicted[k] == final[k] }! }
        add("first_layer_of_final_prediction", Double(first.reduce(0, +)) / Double(P), P)
        return out
    }

    /// The report's section: accuracy per layer and step as a heatmap, and the mean first layer of the final
    /// prediction against the step.
    static func section(_ ms: [ProbeMetric]) -> String {
        let lm = ms.filter { $0.probe == "lens" }
        guard !lm.isEmpty else { return "" }
        var h = ProbeReport.sectionStart(
            "Logit lens",
            """
            Every layer's hidden state at masked words of the probe sentences through the same snapshot's MLM
            head. Cells: accuracy of the masked word per layer (rows) and snapshot (columns); the last layer is
            the model's own prediction. Per-tag accuracy and losses are in metrics.csv.
            """, hasData: true)
        let steps = Array(Set(lm.map(\.step))).sorted()
        let layers = Set(
            lm.compactMap { m -> Int? in
                let p = m.key.split(separator: "/")
                return p.count == 2 && p[0] == "accuracy" ? Int(p[1].dropFirst(6)) : nil
            }
        ).sorted()
        h += SVGChart.heatmap(
            title: "accuracy of the masked word through each layer", rows: layers.map { "layer \($0)" },
            columns: steps.map(String.init),
            values: layers.map { l in
                steps.map { s in lm.first { $0.step == s && $0.key == "accuracy/layer_\(l)" }?.value }
            })
        let first = lm.filter { $0.key == "first_layer_of_final_prediction" }.map { ($0.step, $0.value) }
        h += SVGChart.line(
            title: "first layer with the final prediction (mean)", yLabel: "layer",
            series: [ChartSeries(name: "mean over masked words", points: first, style: 0)], yRange: nil)
        return h + "</div>\n"
    }
}

/// `lens`: every layer read through the snapshot's MLM head at masked words.
public final class LensMeasurement: ProbeMeasurement {
    public static let probeName = "lens"
    public static let help = [
        "every layer through the snapshot's MLM head at masked words: accuracy",
        "and loss per layer, by UPOS, and the first layer holding the final prediction",
    ]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .probeSentences]
    let inputs: ProbeInputs
    public let settings: String

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings = "lens v1|pos \(inputs.posHash)|max \(inputs.options.maxSentences)"
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        Measured(
            metrics: try LensProbe.run(
                model: try s.model(), sentences: try inputs.sentences(for: s), maskId: try s.tokenizer().vocab.maskId,
                step: s.step))
    }

    public static func reportSection(_ page: ReportPage) -> String { LensProbe.section(page.metrics) }
}

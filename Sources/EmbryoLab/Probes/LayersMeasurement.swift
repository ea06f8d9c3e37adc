// `layers`: linear probes on every layer's frozen word vectors (UPOS and dependency relations), with the
// majority baseline, accuracy on ambiguous forms and the control task's selectivity (Hewitt & Liang 2019).

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class LayersMeasurement: ProbeMeasurement {
    public static let probeName = "layers"
    public static let help = ["linear probes on every layer's frozen word vectors: UPOS and dependency relations"]
    public static let probeNeeds: MeasurementNeeds = [.probeSentences]
    let inputs: ProbeInputs
    public let settings: String
    /// Train and test sentences and the word-type tasks, per vocabulary.
    var prepared: [String: (train: [ProbeSentence], test: [ProbeSentence], wordTypes: WordTypeTasks)] = [:]

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        let o = inputs.options
        let layers = o.layers.map { $0.map(String.init).joined(separator: ",") } ?? "all"
        settings = "layers v2|pos \(inputs.posHash)|train \(inputs.trainHash)|max \(o.maxSentences)|layers \(layers)"
    }

    func sets(_ s: LoadedSnapshot) throws -> (train: [ProbeSentence], test: [ProbeSentence], wordTypes: WordTypeTasks) {
        let key = try inputs.vocabularyKey(s)
        if let p = prepared[key] { return p }
        let all = try inputs.sentences(for: s)
        let train: [ProbeSentence], test: [ProbeSentence]
        if let t = inputs.options.posTrain {
            train = try ProbeSentences.load(
                t, tokenizer: try s.tokenizer(), maxLen: inputs.maxLen(try s.model()),
                limit: inputs.options.maxSentences
            ).0
            test = all
        } else {
            let cut = all.count * 4 / 5
            (train, test) = (Array(all[..<cut]), Array(all[cut...]))
        }
        let p = (train, test, WordTypeTasks(sentences: train + test, seed: 0xC0_47_00_1))
        prepared[key] = p
        return p
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let model = try s.model(), data = try sets(s)
        let L = model.config.numHiddenLayers, H = model.config.hiddenSize
        let layers = inputs.options.layers ?? Array(0...L)
        if let bad = layers.first(where: { $0 < 0 || $0 > L }) {
            throw EmbryoError.usage("--layers: layer \(bad) is out of range; this model has layers 0...\(L)")
        }
        let train = try LayerProbe.wordFeatures(model: model, sentences: data.train, layers: layers)
        let test = try LayerProbe.wordFeatures(model: model, sentences: data.test, layers: layers)
        var out: [ProbeMetric] = []
        func add(_ k: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: s.step, probe: "layers", key: k, value: v, count: c))
        }
        for task in LayerProbe.tasks {
            for (li, l) in layers.enumerated() {
                var classes: [String: Int32] = [:]
                let tr = LayerProbe.dataset(
                    task: task, sentences: data.train, features: train[li], H: H, classes: &classes, grow: true)
                let te = LayerProbe.dataset(
                    task: task, sentences: data.test, features: test[li], H: H, classes: &classes, grow: false)
                if li == 0 {
                    let base = LayerProbe.majorityBaseline(train: tr, test: te)
                    add("\(task)/majority/accuracy", base.accuracy, base.testCount)
                    add("\(task)/majority/macro_f1", base.macroF1, base.testCount)
                }
                let (score, pred) = LayerProbe.fitAndPredict(
                    train: tr, test: te, classes: classes.count, seed: stableHash("\(task)|\(l)"))
                add("\(task)/layer_\(l)/accuracy", score.accuracy, score.testCount)
                add("\(task)/layer_\(l)/macro_f1", score.macroF1, score.testCount)
                if task == "upos" {
                    for (k, v, c) in wordTypeScores(
                        data, train: tr, test: te, predictions: pred, layer: l, upos: score.accuracy)
                    {
                        add(k, v, c)
                    }
                }
            }
        }
        return Measured(metrics: out)
    }

    /// upos_ambiguous (accuracy on words whose form has several tags), upos_control (the control task's
    /// accuracy, same recipe) and upos_selectivity (their difference from the UPOS accuracy) at layer l.
    func wordTypeScores(
        _ data: (train: [ProbeSentence], test: [ProbeSentence], wordTypes: WordTypeTasks), train tr: ProbeDataset,
        test te: ProbeDataset, predictions pred: [Int32], layer l: Int, upos: Double
    ) -> [(String, Double, Int)] {
        var out: [(String, Double, Int)] = []
        let wt = data.wordTypes
        let rows = wt.ambiguousRows(data.test)
        if !rows.isEmpty, pred.count == te.count {
            let right = rows.filter { pred[$0] == te.y[$0] }.count
            out.append(("upos_ambiguous/layer_\(l)", Double(right) / Double(rows.count), rows.count))
        }
        let ctr = wt.controlDataset(tr, sentences: data.train), cte = wt.controlDataset(te, sentences: data.test)
        let c = LayerProbe.fitAndScore(
            train: ctr, test: cte, classes: wt.controlClasses, seed: stableHash("control|\(l)"))
        out.append(("upos_control/layer_\(l)", c.accuracy, c.testCount))
        out.append(("upos_selectivity/layer_\(l)", upos - c.accuracy, c.testCount))
        return out
    }

    public static func reportSection(_ page: ReportPage) -> String { ProbeReport.layersSection(page.metrics) }
}

// The `dynamics` probe: plateau diagnostics (Gopalani & Hu 2025, "What happens during the loss plateau?").
// On the probe sentences, per snapshot:
//   collapse     the mean pairwise cosine between the last layer's states at different positions of a
//                sentence ([CLS] and [SEP] left out), averaged over sentences: near 1 when every position
//                holds the same vector;
//   repetition   at the lens probe's fixed masking, the share of masked positions (in sentences with two or
//                more) whose top prediction is the most frequent prediction in their sentence;
//   unigram_mode the share of masked positions predicted as the training corpus's most frequent token (the
//                probe sentences' for a folder of checkpoints without a run's token cache).

import EmbryoCore
import EmbryoRun
import Foundation

public enum DynamicsProbe {
    /// Sentences used (the first of the probe set).
    public static let sentences = 300

    /// The mean pairwise cosine between the rows of `h` (n x H), n >= 2, in Double.
    public static func meanPairwiseCosine(_ h: UnsafePointer<Float>, n: Int, H: Int) -> Double {
        var unit = [[Double]](repeating: [Double](repeating: 0, count: H), count: n)
        for i in 0..<n {
            var norm = 0.0
            for j in 0..<H { norm += Double(h[i * H + j]) * Double(h[i * H + j]) }
            norm = norm.squareRoot()
            for j in 0..<H { unit[i][j] = norm > 0 ? Double(h[i * H + j]) / norm : 0 }
        }
        var sum = 0.0
        for i in 0..<n {
            for k in (i + 1)..<n {
                var dot = 0.0
                for j in 0..<H { dot += unit[i][j] * unit[k][j] }
                sum += dot
            }
        }
        return sum / Double(n * (n - 1) / 2)
    }

    /// The repetition share and the share predicted as `mode`: `predicted` per masked row, in row order.
    public static func repetition(_ predicted: [[Int32]], mode: Int32?) -> (
        repetition: Double, repeated: Int, unigram: Double, masked: Int
    ) {
        var same = 0, counted = 0, asMode = 0, masked = 0
        for row in predicted {
            masked += row.count
            if let mode { asMode += row.filter { $0 == mode }.count }
            guard row.count >= 2 else { continue }
            var counts: [Int32: Int] = [:]
            for p in row { counts[p, default: 0] += 1 }
            same += counts.values.max()!
            counted += row.count
        }
        return (
            counted > 0 ? Double(same) / Double(counted) : 0, counted,
            masked > 0 ? Double(asMode) / Double(masked) : 0, masked
        )
    }

    public static func run(model: Albert, sentences all: [ProbeSentence], maskId: Int32, mode: Int32?, step: Int)
        throws -> [ProbeMetric]
    {
        let used = Array(all.prefix(sentences))
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "dynamics", key: key, value: v, count: c))
        }
        // collapse, on the unmasked sentences
        let L = model.config.numHiddenLayers, H = model.config.hiddenSize
        var cosine = 0.0, counted = 0
        let runner = RowRunner(model: model, rows: used.map(\.ids), batching: .inOrder)
        try runner.forEachPass { pass in
            for (b, r) in pass.rows.enumerated() where used[r].ids.count >= 4 {
                let n = used[r].ids.count - 2
                cosine += meanPairwiseCosine(pass.hidden(L, row: b) + H, n: n, H: H)
                counted += 1
            }
        }
        if counted > 0 { add("collapse", cosine / Double(counted), counted) }
        // repetition, at the lens probe's masking
        let masked = LensProbe.mask(used, maskId: maskId)
        var labels = masked.rows.map { [Int32](repeating: -100, count: $0.count) }
        for t in masked.targets { labels[t.row][t.position] = t.label }
        let scored = try MLMScoring.score(
            model: model, rows: zip(masked.rows, labels).map { LabelledRow(ids: $0, labels: $1) })
        let r = repetition(scored.map(\.predicted), mode: mode)
        if r.repeated > 0 { add("repetition", r.repetition, r.repeated) }
        if mode != nil && r.masked > 0 { add("unigram_mode", r.unigram, r.masked) }
        return out
    }
}

/// `dynamics`: representation collapse and repetition bias, the signatures of the loss plateau.
public final class DynamicsMeasurement: ProbeMeasurement {
    public static let probeName = "dynamics"
    public static let help = [
        "plateau diagnostics: representation collapse (mean pairwise cosine of the last",
        "layer's states in a sentence) and repetition bias of masked predictions",
    ]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .probeSentences]
    let inputs: ProbeInputs
    public let settings: String
    /// The most frequent token of the training corpus (or of the probe sentences), per vocabulary.
    var modes: [String: Int32?] = [:]

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        let n = inputs.options.maxSentences
        // where the most frequent token comes from: the run's training corpus when its token cache is there
        corpus = (try? inputs.run.manifest()).flatMap { try? inputs.run.exampleMaker($0) }
        settings =
            "dynamics v1|pos \(inputs.posHash)|max \(n)|sentences \(min(n, DynamicsProbe.sentences))"
            + "|mode \(corpus == nil ? "probe sentences" : "corpus")"
    }

    /// The run's training data (nil for a folder of checkpoints, or a run whose token cache is gone).
    let corpus: ExampleMaker?

    /// The training corpus's most frequent token when the snapshot shares the run's vocabulary, else the
    /// probe sentences' (special tokens left out).
    func mode(_ s: LoadedSnapshot) throws -> Int32? {
        let key = try inputs.vocabularyKey(s)
        if let m = modes[key] { return m }
        let v = try s.tokenizer().vocab
        let special: Set<Int32> = [v.padId, v.unkId, v.clsId, v.sepId, v.maskId]
        var counts: [Int32: Int] = [:]
        let runVocab = inputs.run.tokenizerDir.appendingPathComponent("vocab.txt")
        if let maker = corpus, let h = try? hashFile(runVocab.path).1, h == (try s.vocabHash()) {
            maker.corpus.forEachTokenBlock { block in
                for t in block where !special.contains(t) { counts[t, default: 0] += 1 }
            }
        } else {
            if corpus != nil {
                inputs.warnOnce(
                    "step \(s.step): vocabulary differs from the run's; dynamics/unigram_mode counts the probe sentences"
                )
            }
            for sentence in try inputs.sentences(for: s) {
                for t in sentence.ids where !special.contains(t) { counts[t, default: 0] += 1 }
            }
        }
        let m = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        modes[key] = m
        return m
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        Measured(
            metrics: try DynamicsProbe.run(
                model: try s.model(), sentences: try inputs.sentences(for: s), maskId: try s.tokenizer().vocab.maskId,
                mode: try mode(s), step: s.step))
    }

    public static func reportSection(_ page: ReportPage) -> String {
        let dm = page.metrics.filter { $0.probe == "dynamics" }
        guard !dm.isEmpty else { return "" }
        var h = ProbeReport.sectionStart(
            "Plateau diagnostics",
            """
            Representation collapse: the mean pairwise cosine between the last layer's states at the positions of
            a probe sentence. Repetition: the share of masked positions predicted as their sentence's most
            frequent prediction; unigram mode: the share predicted as the corpus's most frequent token
            (Gopalani & Hu 2025).
            """, hasData: true)
        let series = [("collapse", "collapse"), ("repetition", "repetition"), ("unigram_mode", "unigram mode")]
            .enumerated().map { i, k in
                ChartSeries(
                    name: k.1, points: dm.filter { $0.key == k.0 }.map { ($0.step, $0.value) }.sorted { $0.0 < $1.0 },
                    style: i)
            }
        h += SVGChart.line(title: "plateau diagnostics", yLabel: "share / cosine", series: series, yRange: (0, 1))
        return h + "</div>\n"
    }
}

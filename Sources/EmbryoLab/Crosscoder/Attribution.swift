// Attribution of a metric to crosscoder features at the last snapshot. The metric m is the last
// snapshot's token-reconstruction loss on the words of one UPOS tag (cross-entropy of predicting each of
// their subwords from the unmasked sentence, summed). The layer-L residual stream is replaced by the
// crosscoder's reconstruction x_hat = (W_dec^S f + b_dec^S) / scale_S and the rest of the model runs on it;
// attr_i = sum over tokens of f_i * dm/df_i, with dm/df_i = (dm/dx_hat . W_dec,i^S) / scale_S. The check:
// zero the k features with the most negative attribution (those the metric leans on) and measure m again,
// against zeroing k random firing features.

import EmbryoCore
import EmbryoRun
import Foundation

public struct AttributionResult: Sendable {
    public var tag: String
    /// For the top features: the attribution and the finite-difference estimate of sum f_i dm/df_i.
    public var checks: [(feature: Int, attribution: Double, finiteDifference: Double)]
    public var tokens: Int  // labelled positions
    public var originalLoss: Double  // mean, the model as it is
    public var splicedLoss: Double  // mean, with the reconstruction in place of layer L
    public var attribution: [Double]  // per feature, for the summed loss
    public var ablations: [(k: Int, predicted: Double, top: Double, random: Double)]  // mean losses after zeroing
}

public enum Attribution {
    /// Runs on the first `maxSentences` sentences of the store with `model` (the last snapshot).
    public static func run(
        _ cc: Crosscoder, reader: ActivationReader, model: Albert, tag: String, maxSentences: Int = 400,
        ks: [Int] = [5, 20, 50], checkFeatures: Int = 3
    ) throws -> AttributionResult {
        func zero(_ s: Set<Int>) -> [Int: Float] { Dictionary(uniqueKeysWithValues: s.map { ($0, Float(0)) }) }
        let splicer = try Splicer(cc, reader: reader, model: model, tag: tag, maxSentences: maxSentences)
        let F = cc.F, codes = splicer.codes
        var none: [Double]? = nil
        var attr: [Double]? = [Double](repeating: 0, count: F)
        let n = Double(splicer.labelled)
        let original = try splicer.evaluate(splice: false, scaled: [:], attr: &none) / n
        let spliced = try splicer.evaluate(splice: true, scaled: [:], attr: &attr) / n
        let a = attr!
        let order = (0..<F).sorted { a[$0] < a[$1] }  // most negative first: what the metric relies on
        let firing = (0..<F).filter { i in
            codes.indices.contains(i) && stride(from: i, to: codes.count, by: F).contains { codes[$0] > 0 }
        }
        var rng = Rng(seed: 0xA77)
        var ablations: [(Int, Double, Double, Double)] = []
        for k in ks where k <= firing.count {
            let top = Set(order.prefix(k))
            var shuffled = firing
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.below(i + 1)) }
            let random = Set(shuffled.prefix(k))
            let predicted = spliced - top.map { a[$0] }.reduce(0, +) / n
            ablations.append(
                (
                    k, predicted, try splicer.evaluate(splice: true, scaled: zero(top), attr: &none) / n,
                    try splicer.evaluate(splice: true, scaled: zero(random), attr: &none) / n
                ))
        }
        // finite-difference checks of dm/df_i: scale feature i's codes by 1 +- h
        var checks: [(feature: Int, attribution: Double, finiteDifference: Double)] = []
        for i in order.prefix(checkFeatures) {
            let h: Float = 0.05
            let up = try splicer.evaluate(splice: true, scaled: [i: 1 + h], attr: &none)
            let down = try splicer.evaluate(splice: true, scaled: [i: 1 - h], attr: &none)
            checks.append((i, a[i], (up - down) / Double(2 * h)))
        }
        return AttributionResult(
            tag: tag, checks: checks, tokens: splicer.labelled, originalLoss: original, splicedLoss: spliced,
            attribution: a, ablations: ablations)
    }
}

/// The model on the store's sentences with the last snapshot's layer-L residual stream replaced by the
/// crosscoder's reconstruction (features optionally rescaled), the MLM loss summed over the positions of
/// one UPOS tag, and the loss's gradient with respect to each feature's code. One allocation serves every
/// batch of 32 sentences.
final class Splicer {
    let cc: Crosscoder
    let model: Albert
    let tag: String
    let L: Int, d: Int, F: Int, Sd: Int
    let scale: Float
    let tokens: [Int32]
    let words: [(word: Int, upos: String, deprel: String)]
    let sentences: [Range<Int>]
    /// The crosscoder's codes of every row of `sentences`, (rows, F), and each store row's index there.
    let codes: [Float]
    var rowIndex: [Int: Int] = [:]
    let labelled: Int
    let acts: Activations
    let wDecLast: UnsafeMutablePointer<Float>, bDecLast: UnsafeMutablePointer<Float>

    init(_ cc: Crosscoder, reader: ActivationReader, model: Albert, tag: String, maxSentences: Int) throws {
        L = reader.manifest.layer
        d = cc.d
        F = cc.F
        Sd = cc.Sd
        let S = cc.S
        guard L >= 1 else {
            throw EmbryoError.usage("attribution needs a store of a layer above the embeddings (--layer 1 or more)")
        }
        guard d == model.config.hiddenSize, L <= model.config.numHiddenLayers else {
            throw EmbryoError.runtime("the model does not match the store (hidden size \(model.config.hiddenSize))")
        }
        self.cc = cc
        self.model = model
        self.tag = tag
        scale = reader.manifest.snapshots[S - 1].scale
        tokens = try reader.tokens()
        let words = try reader.words()
        self.words = words
        let sentences = Splicer.sentences(positions: try reader.positions(), rows: reader.rows, limit: maxSentences)
        self.sentences = sentences
        let allRows = sentences.flatMap { Array($0) }
        let tagged = allRows.filter { words[$0].upos == tag }
        guard !tagged.isEmpty else {
            throw EmbryoError.usage("no position of the store is tagged \(tag): choose another UPOS tag")
        }
        labelled = tagged.count
        // codes of every row once
        let x = FloatBuffer(count: allRows.count * Sd)
        try reader.read(rows: allRows, into: x.pointer)
        let buf = CrosscoderBuffers(B: allRows.count, S: S, d: d, F: F)
        cc.encode(x.pointer, B: allRows.count, buf)
        codes = Array(UnsafeBufferPointer(start: buf.codes, count: allRows.count * F))
        wDecLast = cc.params.pointer + cc.wDec + (S - 1) * d  // row i at + i * Sd
        bDecLast = cc.params.pointer + cc.bDec + (S - 1) * d
        let chunks = stride(from: 0, to: sentences.count, by: 32).map { sentences[$0..<min($0 + 32, sentences.count)] }
        let labels = chunks.map { c in c.map { s in s.filter { words[$0].upos == tag }.count }.reduce(0, +) }
        acts = Activations(
            config: model.config, B: 1, T: sentences.map(\.count).max()!, maxPredictions: max(1, labels.max()!),
            training: true, maxSequences: 32, maxTokens: chunks.map { $0.count * $0.map(\.count).max()! }.max()!)
        for (i, row) in allRows.enumerated() { rowIndex[row] = i }
    }

    /// The store's sentences as row ranges (consecutive rows of one sentence), at most `limit`.
    static func sentences(positions pos: [Int32], rows: Int, limit: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var r = 0
        while r < rows && out.count < limit {
            var e = r + 1
            while e < rows && pos[2 * e] == pos[2 * r] { e += 1 }
            out.append(r..<e)
            r = e
        }
        return out
    }

    /// Summed loss over labelled positions, with the codes of the features in `scaled` multiplied by their
    /// factor (0 removes them); with `attr`, adds attributions.
    func evaluate(splice: Bool, scaled: [Int: Float], attr: inout [Double]?) throws -> Double {
        var total = 0.0
        var k = 0
        while k < sentences.count {
            let chunk = Array(sentences[k..<min(k + 32, sentences.count)])
            k += chunk.count
            let T = chunk.map(\.count).max()!, B = chunk.count
            let batch = AlbertBatch(B: B, T: T)
            var labels = 0
            for (b, s) in chunk.enumerated() {
                for t in 0..<T {
                    let i = b * T + t, inside = t < s.count
                    batch.ids[i] = inside ? tokens[s.lowerBound + t] : 0
                    batch.attentionMask[i] = inside ? 1 : 0
                    let want = inside && words[s.lowerBound + t].upos == tag
                    batch.mlmLabels[i] = want ? tokens[s.lowerBound + t] : -100
                    if want { labels += 1 }
                }
                batch.sopLabels[b] = -100
            }
            if labels == 0 { continue }
            try acts.reshape(B: B, T: T)
            try model.encode(acts, batch)
            if splice {
                spliceIn(chunk, T: T, scaled: scaled)
                model.runLayers(acts, batch, from: L)
            }
            let out = try model.forward(acts, batch, gradients: attr != nil, encoded: true)
            total += Double(out.mlmLoss) * Double(out.mlmCount)
            if attr != nil {
                model.zeroGrad()
                let dh = model.backward(acts, batch, stopAtLayer: L)!
                addAttributions(chunk, T: T, dh: dh, toSum: Float(out.mlmCount), into: &attr!)
            }
        }
        return total
    }

    /// Layer L's output of the chunk's rows replaced by the crosscoder's reconstruction.
    func spliceIn(_ chunk: [Range<Int>], T: Int, scaled: [Int: Float]) {
        let h = acts.hiddenState(L)
        for (b, s) in chunk.enumerated() {
            for t in 0..<s.count {
                let ri = rowIndex[s.lowerBound + t]!
                let dst = h + (b * T + t) * d
                for j in 0..<d { dst[j] = bDecLast[j] }
                for i in 0..<F {
                    let f = codes[ri * F + i]
                    if f > 0 { axpy(d, f * (scaled[i] ?? 1), wDecLast + i * Sd, dst) }
                }
                for j in 0..<d { dst[j] /= scale }
            }
        }
    }

    /// attr[i] += f_i * dLoss/df_i over the chunk's rows; the backward used the mean loss, `toSum` scales
    /// it to the summed one.
    func addAttributions(
        _ chunk: [Range<Int>], T: Int, dh: UnsafeMutablePointer<Float>, toSum: Float, into attr: inout [Double]
    ) {
        for (b, s) in chunk.enumerated() {
            for t in 0..<s.count {
                let ri = rowIndex[s.lowerBound + t]!
                let g = dh + (b * T + t) * d
                for i in 0..<F {
                    let f = codes[ri * F + i]
                    guard f > 0 else { continue }
                    attr[i] += Double(f * dot(d, g, wDecLast + i * Sd) / scale * toSum)
                }
            }
        }
    }
}

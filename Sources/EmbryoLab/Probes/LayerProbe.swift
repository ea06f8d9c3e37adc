// Probe B of "Pretrained Language Model Embryology": layer-wise linear probes on frozen features. A word's
// vector at layer l is the mean of its subwords' hidden states (l = 0: the embedding output after the
// E-to-H projection; 1...L: layer outputs). Tasks: UPOS tagging (the word's vector) and dependency-relation
// labelling (the dependent's vector and its head's, concatenated; a root's head half is zero). One softmax
// classifier per (checkpoint, layer, task) with a fixed recipe:
//   features standardised with the fitting part's mean and deviation; weights start at zero;
//   Adam (lr 1e-2, betas 0.9/0.999), minibatches of 128 in a seeded order, at most 60 epochs;
//   the last 10% of the probe-train words (by sentence order) are the dev slice; early stopping after 5
//   epochs without a lower dev cross-entropy, keeping the best epoch's weights.
// Scored on the held-out sentences: accuracy and macro-F1 (over the classes in gold or predictions).

import EmbryoCore
import EmbryoRun
import Foundation

public struct LinearProbeScore: Codable, Sendable, Equatable {
    public var accuracy: Double
    public var macroF1: Double
    public var trainCount: Int
    public var testCount: Int
    public var epochs: Int
}

/// A labelled feature matrix: rows of `dim` floats, one class index per row.
public struct ProbeDataset: Sendable {
    public var dim: Int
    public var x: [Float]
    public var y: [Int32]
    public var count: Int { y.count }

    public init(dim: Int, x: [Float] = [], y: [Int32] = []) {
        self.dim = dim
        self.x = x
        self.y = y
    }
}

/// A trained softmax classifier with its feature standardisation.
public struct LinearClassifier: Sendable {
    public var weights: [Float]  // (classes, dim) then biases
    public var mean: [Float]
    public var inv: [Float]
    public var dim: Int
    public var classes: Int

    /// Predicted classes of `n` raw feature rows.
    public func predict(_ x: [Float], _ n: Int) -> [Int32] {
        var z = x
        for i in 0..<n { for j in 0..<dim { z[i * dim + j] = (x[i * dim + j] - mean[j]) * inv[j] } }
        return LayerProbe.predict(weights, z, n, dim, classes)
    }
}

public enum LayerProbe {
    public static let tasks = ["upos", "deprel"]

    /// Word vectors at each requested layer: result[i] is (words, H) for layers[i], words in sentence order.
    public static func wordFeatures(
        model: Albert, sentences: [ProbeSentence], layers: [Int], tokensPerBatch: Int = 4096
    )
        throws -> [[Float]]
    {
        let H = model.config.hiddenSize
        var wordOffset = [Int](repeating: 0, count: sentences.count + 1)
        for (i, s) in sentences.enumerated() { wordOffset[i + 1] = wordOffset[i] + s.words.count }
        var out = layers.map { _ in [Float](repeating: 0, count: wordOffset.last! * H) }
        let runner = RowRunner(model: model, rows: sentences.map(\.ids), tokensPerBatch: tokensPerBatch)
        try runner.forEachPass { pass in
            for (li, l) in layers.enumerated() {
                out[li].withUnsafeMutableBufferPointer { o in
                    for (b, si) in pass.rows.enumerated() {
                        let h = pass.hidden(l, row: b)
                        for (wi, span) in sentences[si].words.enumerated() {
                            let dst = o.baseAddress! + (wordOffset[si] + wi) * H
                            let scale = 1 / Float(span.count)
                            for t in span {
                                let src = h + t * H
                                for j in 0..<H { dst[j] += src[j] * scale }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The UPOS and DEPREL datasets of `sentences` from word vectors `features` (words, H); labels indexed
    /// through `classes` (extended with new labels when `grow`, otherwise unknown labels get index -1).
    public static func dataset(
        task: String, sentences: [ProbeSentence], features: [Float], H: Int, classes: inout [String: Int32],
        grow: Bool
    ) -> ProbeDataset {
        var d = ProbeDataset(dim: task == "upos" ? H : 2 * H)
        var base = 0
        features.withUnsafeBufferPointer { f in
            for s in sentences {
                for wi in s.words.indices {
                    let label = task == "upos" ? s.upos[wi] : s.deprels[wi]
                    if label == "_" || label.isEmpty { continue }
                    if task == "deprel" && (s.heads[wi] < 0 || s.heads[wi] > s.words.count) { continue }
                    var c = classes[label] ?? -1
                    if c < 0 && grow {
                        c = Int32(classes.count)
                        classes[label] = c
                    }
                    d.y.append(c)
                    d.x.append(contentsOf: f[(base + wi) * H..<(base + wi + 1) * H])
                    if task == "deprel" {
                        let head = s.heads[wi]
                        if head == 0 {
                            d.x.append(contentsOf: repeatElement(0, count: H))
                        } else {
                            d.x.append(contentsOf: f[(base + head - 1) * H..<(base + head) * H])
                        }
                    }
                }
                base += s.words.count
            }
        }
        return d
    }

    /// The fixed recipe: trains on `train` (its last 10% as the dev slice), scores on `test`.
    public static func fitAndScore(train: ProbeDataset, test: ProbeDataset, classes: Int, seed: UInt64)
        -> LinearProbeScore
    {
        fitAndPredict(train: train, test: test, classes: classes, seed: seed).score
    }

    /// fitAndScore, also returning the predicted class of every test row (empty when nothing was fitted).
    public static func fitAndPredict(train: ProbeDataset, test: ProbeDataset, classes: Int, seed: UInt64)
        -> (score: LinearProbeScore, predictions: [Int32])
    {
        guard !test.y.isEmpty, let (model, epochs) = fit(train: train, classes: classes, seed: seed) else {
            return (
                LinearProbeScore(accuracy: 0, macroF1: 0, trainCount: train.count, testCount: test.count, epochs: 0),
                []
            )
        }
        let pred = model.predict(test.x, test.count)
        let (acc, f1) = score(pred: pred, gold: test.y)
        return (
            LinearProbeScore(
                accuracy: acc, macroF1: f1, trainCount: train.count, testCount: test.count, epochs: epochs),
            pred
        )
    }

    /// The recipe's classifier and the epochs it ran; nil when there is nothing to fit.
    public static func fit(train: ProbeDataset, classes: Int, seed: UInt64) -> (LinearClassifier, Int)? {
        let D = train.dim, C = max(classes, 1)
        let nDev = train.count >= 10 ? max(1, train.count / 10) : 0
        let nFit = train.count - nDev
        guard nFit > 0 else { return nil }
        // standardisation from the fitting part
        let (mean, inv) = standardisation(train, rows: nFit)
        var xs = train.x
        for i in 0..<train.count { for j in 0..<D { xs[i * D + j] = (train.x[i * D + j] - mean[j]) * inv[j] } }

        let bs = 128, lr: Float = 1e-2
        var hyper = OptimizerHyper()
        hyper.eps = 1e-8
        let maxEpochs = 60, patience = 5
        let P = C * D + C  // weights (C, D) then biases
        var w = [Float](repeating: 0, count: P), g = w, m = w, v = w, best = w
        var xb = [Float](repeating: 0, count: bs * D), yb = [Int32](repeating: 0, count: bs),
            logits = [Float](repeating: 0, count: max(bs, 1) * C)
        var order = Array(0..<nFit)
        var rng = Rng(seed: seed)
        var bestDev = Double.infinity, bestEpoch = 0, t = 0, epoch = 0
        while epoch < maxEpochs {
            epoch += 1
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
            var start = 0
            while start < nFit {
                let n = min(bs, nFit - start)
                for r in 0..<n {
                    let src = order[start + r]
                    xb.withUnsafeMutableBufferPointer { dst in
                        xs.withUnsafeBufferPointer { s in
                            (dst.baseAddress! + r * D).update(from: s.baseAddress! + src * D, count: D)
                        }
                    }
                }
                for r in 0..<n { yb[r] = train.y[order[start + r]] }
                gradient(w, xb, yb, n, D, C, logits: &logits, into: &g)
                t += 1
                adamwUpdate(params: &w, grads: g, m: &m, v: &v, count: P, lr: lr, step: t, hyper: hyper, weightDecay: 0)
                start += n
            }
            if nDev == 0 {
                best = w
                bestEpoch = epoch
                continue
            }
            // early stopping on the dev slice's cross-entropy (finer-grained than its accuracy)
            var devLogits = [Float](repeating: 0, count: nDev * C)
            forwardLogits(w, Array(xs[nFit * D..<train.count * D]), nDev, D, C, &devLogits)
            var loss = 0.0
            for i in 0..<nDev {
                softmaxRow(&devLogits, i * C, C)
                let y = Int(train.y[nFit + i])
                loss -= y >= 0 ? Double(logf(max(devLogits[i * C + y], 1e-30))) : 0
            }
            loss /= Double(nDev)
            if loss < bestDev - 1e-4 {
                bestDev = loss
                bestEpoch = epoch
                best = w
            } else if epoch - bestEpoch >= patience {
                break
            }
        }
        return (LinearClassifier(weights: best, mean: mean, inv: inv, dim: D, classes: C), epoch)
    }

    /// Per-feature mean and inverse deviation of the first `rows` rows (deviations floored at 1e-6).
    static func standardisation(_ d: ProbeDataset, rows n: Int) -> (mean: [Float], inv: [Float]) {
        let D = d.dim
        var mean = [Float](repeating: 0, count: D), inv = [Float](repeating: 0, count: D)
        for i in 0..<n { for j in 0..<D { mean[j] += d.x[i * D + j] } }
        for j in 0..<D { mean[j] /= Float(n) }
        for i in 0..<n {
            for j in 0..<D {
                let dev = d.x[i * D + j] - mean[j]
                inv[j] += dev * dev
            }
        }
        for j in 0..<D { inv[j] = 1 / max(sqrtf(inv[j] / Float(n)), 1e-6) }
        return (mean, inv)
    }

    /// The gradient of the mean softmax cross-entropy of a minibatch (the first n rows of xb, labelled by
    /// the first n of `labels`) with respect to the weights (C, D) and biases, into g; `logits` is scratch.
    static func gradient(
        _ w: [Float], _ xb: [Float], _ labels: [Int32], _ n: Int, _ D: Int, _ C: Int, logits: inout [Float],
        into g: inout [Float]
    ) {
        forwardLogits(w, xb, n, D, C, &logits)
        for r in 0..<n {
            softmaxRow(&logits, r * C, C)
            logits[r * C + Int(labels[r])] -= 1
        }
        let scale = 1 / Float(n)
        g.withUnsafeMutableBufferPointer { gp in
            logits.withUnsafeBufferPointer { lp in
                xb.withUnsafeBufferPointer { xp in
                    sgemmSerial(
                        transA: true, transB: false, M: C, N: D, K: n, alpha: scale, A: lp.baseAddress!,
                        lda: C, B: xp.baseAddress!, ldb: D, beta: 0, C: gp.baseAddress!, ldc: D)
                }
            }
            for c in 0..<C {
                var s: Float = 0
                for r in 0..<n { s += logits[r * C + c] }
                gp[C * D + c] = s * scale
            }
        }
    }

    /// Accuracy of always predicting the most frequent training class, and its macro-F1.
    public static func majorityBaseline(train: ProbeDataset, test: ProbeDataset) -> LinearProbeScore {
        var counts: [Int32: Int] = [:]
        for y in train.y { counts[y, default: 0] += 1 }
        let top = counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key ?? 0
        let (acc, f1) = score(pred: [Int32](repeating: top, count: test.count), gold: test.y)
        return LinearProbeScore(accuracy: acc, macroF1: f1, trainCount: train.count, testCount: test.count, epochs: 0)
    }

    /// Accuracy and macro-F1; the macro average runs over every class seen in gold or predictions.
    public static func score(pred: [Int32], gold: [Int32]) -> (accuracy: Double, macroF1: Double) {
        guard !gold.isEmpty else { return (0, 0) }
        var tp: [Int32: Int] = [:], fp: [Int32: Int] = [:], fn: [Int32: Int] = [:]
        var right = 0
        for (p, g) in zip(pred, gold) {
            if p == g {
                right += 1
                tp[g, default: 0] += 1
            } else {
                fp[p, default: 0] += 1
                fn[g, default: 0] += 1
            }
        }
        // classes in a fixed order, so the sum (and metrics.jsonl) is the same on every run
        let classes = Set(pred).union(gold).sorted()
        var f1sum = 0.0
        for c in classes {
            let t = Double(tp[c] ?? 0), denom = 2 * t + Double(fp[c] ?? 0) + Double(fn[c] ?? 0)
            f1sum += denom > 0 ? 2 * t / denom : 0
        }
        return (Double(right) / Double(gold.count), f1sum / Double(classes.count))
    }

    static func forwardLogits(_ w: [Float], _ x: [Float], _ n: Int, _ D: Int, _ C: Int, _ out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            w.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    for r in 0..<n { (o.baseAddress! + r * C).update(from: wp.baseAddress! + C * D, count: C) }
                    sgemmSerial(
                        transA: false, transB: true, M: n, N: C, K: D, A: xp.baseAddress!, lda: D, B: wp.baseAddress!,
                        ldb: D, beta: 1, C: o.baseAddress!, ldc: C)
                }
            }
        }
    }

    static func softmaxRow(_ l: inout [Float], _ off: Int, _ C: Int) {
        var mx = -Float.infinity
        for c in 0..<C { mx = max(mx, l[off + c]) }
        var s: Float = 0
        for c in 0..<C {
            l[off + c] = expf(l[off + c] - mx)
            s += l[off + c]
        }
        for c in 0..<C { l[off + c] /= s }
    }

    static func predict(_ w: [Float], _ x: [Float], _ n: Int, _ D: Int, _ C: Int) -> [Int32] {
        var logits = [Float](repeating: 0, count: n * C)
        forwardLogits(w, x, n, D, C, &logits)
        return (0..<n).map { r in
            var best = 0
            for c in 1..<C where logits[r * C + c] > logits[r * C + best] { best = c }
            return Int32(best)
        }
    }
}

// AlbertForSequenceClassification's head on the engine: the encoder and its tanh pooler on [CLS], then a
// new linear classifier (num_labels, H). Classification trains with cross-entropy, regression (one label)
// with mean squared error, as transformers' problem types single_label_classification and regression.
// The classifier's parameters live in their own buffer; the encoder's gradients go to the Albert's.

import Foundation

public final class SequenceClassifier {
    public let labels: Int
    public let hidden: Int
    public let params: FloatBuffer  // weight (labels, H) then bias (labels)
    public let grads: FloatBuffer
    public var regression: Bool { labels == 1 }

    public init(labels: Int, hidden: Int) {
        self.labels = labels
        self.hidden = hidden
        params = FloatBuffer(count: labels * hidden + labels)
        grads = FloatBuffer(count: labels * hidden + labels)
    }

    public var weight: UnsafeMutablePointer<Float> { params.pointer }
    public var bias: UnsafeMutablePointer<Float> { params.pointer + labels * hidden }

    /// HF's init: weight normal(0, std), bias 0.
    public func initialize(std: Float, rng: inout Rng) {
        rng.fillNormal(weight, count: labels * hidden, std: std)
        bias.update(repeating: 0, count: labels)
    }

    /// One AdamW update of the head from its gradients (moments `m`, `v` of its size): the weight decayed,
    /// the bias not, as the encoder's tensors are.
    public func adamwStep(m: FloatBuffer, v: FloatBuffer, lr: Float, step: Int, hyper: OptimizerHyper) {
        let nw = labels * hidden
        for (off, n, wd) in [(0, nw, hyper.weightDecay), (nw, labels, Float(0))] {
            adamwUpdate(
                params: params.pointer + off, grads: grads.pointer + off, m: m.pointer + off, v: v.pointer + off,
                count: n, lr: lr, step: step, hyper: hyper, weightDecay: wd)
        }
    }

    /// The head's tensors under transformers' names.
    public var tensors: [(name: String, shape: [Int], offset: Int)] {
        [("classifier.weight", [labels, hidden], 0), ("classifier.bias", [labels], labels * hidden)]
    }
}

/// Per-batch outputs of the classifier: logits (B, labels) and, when trained, their gradient.
public final class ClassifierBuffers {
    public let logits: FloatBuffer
    public let dlogits: FloatBuffer
    public let losses: FloatBuffer
    public let correct: FloatBuffer

    public init(B: Int, labels: Int) {
        logits = FloatBuffer(count: B * labels)
        dlogits = FloatBuffer(count: B * labels)
        losses = FloatBuffer(count: B)
        correct = FloatBuffer(count: B)
    }
}

extension Albert {
    /// Pooler on the last hidden state's [CLS] rows: fills a.pooledPre and a.pooled.
    public func poolerForward(_ a: Activations) {
        let p = params.pointer, o = layout
        linearForward(
            out: a.pooledPre, inp: a.hiddenState(config.numHiddenLayers), weight: p + o.poolerWeight,
            bias: p + o.poolerBias, rows: a.B, inDim: a.H, outDim: a.H, ldInp: a.T * a.H)
        tanhForward(out: a.pooled, inp: a.pooledPre, count: a.B * a.H)
    }

    /// Encoder, pooler and classifier logits; with `labels` also the mean loss (and dlogits for backward).
    /// Regression labels are the float bit patterns in `targets`; classification uses `classLabels`.
    /// dlogits are of the loss summed over the rows divided by `denominator` (default: the rows, i.e. of
    /// the mean; a data-parallel shard passes the whole batch's count).
    @discardableResult
    public func classifierForward(
        _ a: Activations, _ batch: AlbertBatch, head: SequenceClassifier, out: ClassifierBuffers,
        classLabels: UnsafePointer<Int32>? = nil, targets: UnsafePointer<Float>? = nil, denominator: Int? = nil
    ) throws -> Float {
        try encode(a, batch)
        let B = a.B, C = head.labels, H = a.H
        Profiler.span(.sopHead, flops: 2 * Double(B * H * (H + C))) {
            poolerForward(a)
            linearForward(
                out: out.logits.pointer, inp: a.pooled, weight: head.weight, bias: head.bias, rows: B, inDim: H,
                outDim: C)
        }
        if let classLabels {
            for b in 0..<B where classLabels[b] < 0 || Int(classLabels[b]) >= C {
                throw EmbryoError.runtime("label \(classLabels[b]) of row \(b) is outside 0..<\(C)")
            }
            _ = crossEntropyForwardBackward(
                losses: out.losses.pointer, dlogits: out.dlogits.pointer, correct: out.correct.pointer,
                logits: out.logits.pointer, labels: classLabels, rows: B, classes: C,
                scale: 1 / Float(denominator ?? B))
            var s: Double = 0
            for b in 0..<B { s += Double(out.losses[b]) }
            return Float(s / Double(B))
        }
        if let targets {
            var s: Double = 0
            for b in 0..<B {
                let d = out.logits[b] - targets[b]
                out.losses[b] = d * d
                out.dlogits[b] = 2 * d / Float(denominator ?? B)
                s += Double(d * d)
            }
            return Float(s / Double(B))
        }
        return 0
    }

    /// Gradients of the last classifierForward's loss: the head's into head.grads (or `headGrads`), the
    /// encoder's and the pooler's into grads (or `target`), accumulating; zero both first.
    public func classifierBackward(
        _ a: Activations, _ batch: AlbertBatch, head: SequenceClassifier, out: ClassifierBuffers,
        into target: FloatBuffer? = nil, headGrads: UnsafeMutablePointer<Float>? = nil
    ) {
        let p = params.pointer, gr = (target ?? grads).pointer, o = layout, B = a.B, T = a.T, H = a.H
        let hg = headGrads ?? head.grads.pointer
        Profiler.phase = .backward
        Profiler.span(.sopHead) { a.dh.update(repeating: 0, count: B * T * H) }
        Profiler.span(.sopHead, flops: 4 * Double(B * H * (H + head.labels))) {
            linearBackward(
                dinp: a.dpooled, dweight: hg, dbias: hg + head.labels * H,
                dout: out.dlogits.pointer, inp: a.pooled, weight: head.weight, rows: B, inDim: H,
                outDim: head.labels, accumulateDinp: false)
            tanhBackward(dinp: a.dpooledPre, out: a.pooled, dout: a.dpooled, count: B * H, accumulate: false)
            linearBackward(
                dinp: a.dh, dweight: gr + o.poolerWeight, dbias: gr + o.poolerBias, dout: a.dpooledPre,
                inp: a.hiddenState(config.numHiddenLayers), weight: p + o.poolerWeight, rows: B, inDim: H, outDim: H,
                ldInp: T * H, ldDinp: T * H)
        }
        encoderBackward(a, batch, into: target)
    }

    /// Loads the encoder and pooler of a checkpoint that may lack the pretraining heads (as transformers'
    /// *ForSequenceClassification writes it): absent heads keep HF's init from `seed`. Returns the model and
    /// the file, whose classifier.* tensors the caller may read.
    public static func loadEncoder(from dir: URL, seed: UInt64 = 0) throws -> (Albert, SafetensorsFile) {
        let (model, file) = try loadCheckpoint(from: dir, seed: seed, extra: { $0.hasPrefix("classifier.") })
        return (model, file)
    }
}

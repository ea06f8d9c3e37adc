// Full fine-tuning of a pretrained encoder with a new classification or regression head, as Tamkin et
// al.: AdamW (lr 2e-5 by default), linear decay to zero with no warmup, gradient clipping to 1.0 over
// encoder and head together, a seeded data order and head initialisation, no dropout. Inputs are
// "[CLS] A [SEP]" or "[CLS] A [SEP] B [SEP]" (token types 0/1), truncated longest-first to --max-len, each
// batch padded to its longest row (rounded up to a multiple of 8).

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct FinetuneSettings: Sendable {
    public var epochs = 3
    public var lr = 2e-5
    public var batchSize = 32
    public var maxLen = 128
    public var trainSize: Int? = nil  // nil: the full training set
    public var seed = 1
    public var clip: Float = 1
    /// Learning-rate multipliers per encoder tensor (re-initialised layers).
    public var lrScale: [String: Float] = [:]
    public init() {}
}

public struct FinetuneOutcome: Codable, Sendable {
    public var seed: Int
    public var trainExamples: Int
    public var steps: Int
    public var seconds: Double
    public var trainTokensPerSecond: Double  // padded positions per second in training steps
    public var lastLoss: Float
    public var metrics: [String: [String: Double]]  // split -> metric -> value
}

/// One encoded example.
struct EncodedExample {
    var ids: [Int32]
    var types: [Int32]
    var label: Int32
    var target: Float
}

public final class Finetuner {
    public let tokenizer: WordPieceTokenizer
    var actsCache: [Int: Activations] = [:]
    var batchCache: [Int: AlbertBatch] = [:]

    public init(tokenizer: WordPieceTokenizer) { self.tokenizer = tokenizer }

    /// [CLS] A [SEP] (B [SEP]) with longest-first truncation to maxLen, as transformers' tokenizers.
    func encode(_ ex: TaskExample, maxLen: Int) -> EncodedExample {
        let v = tokenizer.vocab
        var a = tokenizer.encode(ex.a).ids
        var b = ex.b.map { tokenizer.encode($0).ids }
        let room = maxLen - (b == nil ? 2 : 3)
        while a.count + (b?.count ?? 0) > room {
            if let bb = b, bb.count > a.count { b!.removeLast() } else { a.removeLast() }
        }
        var ids = [v.clsId] + a + [v.sepId]
        var types = [Int32](repeating: 0, count: ids.count)
        if let b {
            ids += b + [v.sepId]
            types += [Int32](repeating: 1, count: b.count + 1)
        }
        return EncodedExample(ids: ids, types: types, label: ex.label, target: ex.target)
    }

    /// Buffers are allocated once per shape and reused by every later step of that shape.
    static func cached<T>(_ cache: inout [Int: T], _ key: Int, valid: (T) -> Bool = { _ in true }, _ make: () -> T) -> T
    {
        if let v = cache[key], valid(v) { return v }
        let v = make()
        cache[key] = v
        return v
    }

    func activations(_ config: AlbertConfig, B: Int, T: Int, training: Bool) -> Activations {
        Self.cached(
            &actsCache, (B * 4096 + T) * 2 + (training ? 1 : 0),
            valid: { $0.L == config.numHiddenLayers && $0.H == config.hiddenSize }
        ) { Activations(config: config, B: B, T: T, maxPredictions: 0, training: training) }
    }

    /// A batch of shape (B, T) (fill overwrites every position).
    func batch(B: Int, T: Int) -> AlbertBatch { Self.cached(&batchCache, B * 4096 + T) { AlbertBatch(B: B, T: T) } }

    static func fill(_ batch: AlbertBatch, _ rows: [EncodedExample]) {
        let T = batch.T
        for (b, r) in rows.enumerated() {
            for t in 0..<T {
                let i = b * T + t, inside = t < r.ids.count
                batch.ids[i] = inside ? r.ids[t] : 0
                batch.tokenTypes[i] = inside ? r.types[t] : 0
                batch.attentionMask[i] = inside ? 1 : 0
            }
        }
    }

    func paddedLength(_ rows: [EncodedExample], maxLen: Int) -> Int {
        min(maxLen, (rows.map(\.ids.count).max()! + 7) / 8 * 8)
    }

    /// The training subset: all of it, or a seeded random draw of `trainSize` examples.
    public static func subset(_ train: [TaskExample], size: Int?, seed: Int) -> [TaskExample] {
        guard let size, size < train.count else { return train }
        var idx = Array(train.indices)
        var rng = Rng(seed: 0xDA7A_5EED &+ UInt64(seed))
        for i in stride(from: idx.count - 1, to: 0, by: -1) { idx.swapAt(i, rng.below(i + 1)) }
        return idx.prefix(size).sorted().map { train[$0] }
    }

    /// Fine-tunes `model` (modified in place) with a new head; evaluates every split of the task.
    public func run(
        model: Albert, task: TaskData, settings s: FinetuneSettings, progress: ((Int, Int, Float) -> Void)? = nil
    ) throws -> (FinetuneOutcome, SequenceClassifier) {
        let maxLen = min(s.maxLen, model.config.maxPositionEmbeddings)
        let labels = task.regression ? 1 : task.labels.count
        let head = SequenceClassifier(labels: labels, hidden: model.config.hiddenSize)
        var rng = Rng(seed: 0x4EAD &+ UInt64(s.seed))
        head.initialize(std: Float(model.config.initializerRange), rng: &rng)
        let train = Finetuner.subset(task.train, size: s.trainSize, seed: s.seed).map { encode($0, maxLen: maxLen) }
        let perEpoch = (train.count + s.batchSize - 1) / s.batchSize
        let total = perEpoch * s.epochs
        let schedule = LinearSchedule(peak: Float(s.lr), warmup: 0, total: total)
        let opt = Optimizer(kind: .adamw, layout: model.layout)
        opt.lrScale = s.lrScale
        let headM = FloatBuffer(count: head.params.count), headV = FloatBuffer(count: head.params.count)
        var step = 0, positions = 0, trainTime = 0.0, lastLoss: Float = 0
        // the batch's rows split over the threads, one allocation for every batch shape
        let shards = DataParallel(
            model: model, maxTokens: s.batchSize * maxLen, maxSequences: s.batchSize, maxT: maxLen, maxPredictions: 1,
            training: true)
        let state = ClassifierShards(shards, head: head, maxRows: s.batchSize)
        let t0 = Date()
        for epoch in 0..<s.epochs {
            var order = Array(train.indices)
            var erng = Rng(seed: 0x0DE7 &+ UInt64(s.seed) &* 1000 &+ UInt64(epoch))
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, erng.below(i + 1)) }
            var k = 0
            while k < order.count {
                let rows = order[k..<min(k + s.batchSize, order.count)].map { train[$0] }
                k += rows.count
                let B = rows.count, T = paddedLength(rows, maxLen: maxLen)
                let ts = Date()
                try shards.reshape(B: B, T: T)
                let batch = self.batch(B: B, T: T)
                Finetuner.fill(batch, rows)
                lastLoss = try shards.classifierStep(
                    batch, head: head, state: state, classLabels: task.regression ? nil : rows.map(\.label),
                    targets: task.regression ? rows.map(\.target) : nil)
                step += 1
                let lr = schedule.lr(step: step)
                clipGradients([model.grads, head.grads], maxNorm: s.clip)
                opt.step(params: model.params, grads: model.grads, lr: lr)
                head.adamwStep(m: headM, v: headV, lr: lr, step: step, hyper: opt.hyper)
                trainTime += Date().timeIntervalSince(ts)
                positions += B * T
                progress?(step, total, lastLoss)
            }
        }
        var metrics: [String: [String: Double]] = [:]
        for split in task.evals {
            metrics[split.name] = try evaluate(
                model: model, head: head, task: task, examples: split.examples, maxLen: maxLen
            ).metrics
        }
        let outcome = FinetuneOutcome(
            seed: s.seed, trainExamples: train.count, steps: step, seconds: Date().timeIntervalSince(t0),
            trainTokensPerSecond: Double(positions) / max(trainTime, 1e-9), lastLoss: lastLoss, metrics: metrics)
        return (outcome, head)
    }

    /// Metrics of the model and head on `examples` (batches sorted by length), and every example's logits.
    public func evaluate(model: Albert, head: SequenceClassifier, task: TaskData, examples: [TaskExample], maxLen: Int)
        throws -> (metrics: [String: Double], logits: [[Float]])
    {
        var logits = [[Float]](repeating: [], count: examples.count)
        let enc = examples.map { encode($0, maxLen: maxLen) }
        var predClass = [Int32](repeating: 0, count: enc.count), predValue = [Double](repeating: 0, count: enc.count)
        // batches of up to 64 examples of similar length, split over the threads, one allocation for all
        let C = head.labels
        let shards = DataParallel(
            model: model, maxTokens: 64 * maxLen, maxSequences: 64, maxT: maxLen, maxPredictions: 1)
        let state = ClassifierShards(shards, head: head, maxRows: 64)
        let out = FloatBuffer(count: 64 * C)
        for idx in lengthBatches(enc.map(\.ids.count), tokensPerBatch: Int.max).flatMap({ chunk in
            stride(from: 0, to: chunk.rows.count, by: 64).map { Array(chunk.rows[$0..<min($0 + 64, chunk.rows.count)]) }
        }) {
            let rows = idx.map { enc[$0] }, T = paddedLength(rows, maxLen: maxLen)
            try shards.reshape(B: rows.count, T: T)
            let batch = self.batch(B: rows.count, T: T)
            Finetuner.fill(batch, rows)
            try shards.classifierLogits(batch, head: head, state: state, out: out.pointer)
            for (b, i) in idx.enumerated() {
                logits[i] = Array(UnsafeBufferPointer(start: out.pointer + b * C, count: C))
                if head.regression {
                    predValue[i] = Double(out[b])
                } else {
                    var best = 0
                    for c in 1..<C where out[b * C + c] > out[b * C + best] { best = c }
                    predClass[i] = Int32(best)
                }
            }
        }
        let metrics = TaskMetrics.compute(
            task.metrics, predClass: predClass, goldClass: enc.map(\.label), predValue: predValue,
            goldValue: enc.map { Double($0.target) })
        return (metrics, logits)
    }

    /// Inference batches of up to 64 examples of similar length: `body(indices, activations, batch)`.
    func forEachBatch(
        _ model: Albert, _ enc: [EncodedExample], maxLen: Int, _ body: ([Int], Activations, AlbertBatch) throws -> Void
    ) throws {
        let order = enc.indices.sorted { enc[$0].ids.count < enc[$1].ids.count }
        var k = 0
        while k < order.count {
            let idx = Array(order[k..<min(k + 64, order.count)])
            k += idx.count
            let rows = idx.map { enc[$0] }
            let T = paddedLength(rows, maxLen: maxLen)
            let a = activations(model.config, B: rows.count, T: T, training: false)
            let batch = self.batch(B: rows.count, T: T)
            Finetuner.fill(batch, rows)
            try body(idx, a, batch)
        }
    }

}

extension FinetuneSettings {
    /// Refuses settings no fine-tuning can run with (the message names the option that sets the field).
    public func validate() throws {
        if epochs < 1 { throw EmbryoError.usage("'--epochs' must be at least 1, got \(epochs)") }
        if !(lr > 0) { throw EmbryoError.usage("--lr must be positive") }
        if batchSize < 1 { throw EmbryoError.usage("'--batch-size' must be at least 1, got \(batchSize)") }
        if maxLen < 4 { throw EmbryoError.usage("'--max-len' must be at least 4, got \(maxLen)") }
        if seed < 0 { throw EmbryoError.usage("'--seed' must be at least 0, got \(seed)") }
    }
}

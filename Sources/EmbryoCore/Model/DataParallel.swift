// Data parallelism for a batch: its sequences are split into one contiguous shard per thread, each shard
// runs forward (and backward) on its own thread with single-threaded kernels and its own activations and
// gradient buffer, and the gradients are then summed in shard order. Every shard divides its gradients
// by the whole batch's counts, so the sum is the gradient of the batch's mean losses, as one pass over
// all rows gives it (up to rounding). Shard bounds depend only on (B, threads): the same thread count
// gives the same bits. Two threads then meet once per step instead of once per kernel.

import Dispatch

public final class DataParallel {
    public let model: Albert
    /// The current batch shape (set at init and by `reshape`).
    public private(set) var B: Int, T: Int
    /// Row ranges of the shards in use, in order.
    public private(set) var rows: [Range<Int>]
    let acts: [Activations]
    var shardBatches: [AlbertBatch]
    /// Gradient buffers of the shards; shard 0 writes the model's own.
    let grads: [FloatBuffer]
    /// Lambda of the syntactic-attention regulariser on the batches' gold arcs (nil: off; 0: the term is
    /// measured, with no gradient).
    public var syntacticAttentionLambda: Float? = nil

    /// `predictionsPerSequence` bounds the MLM labels of one sequence; `training` false keeps no gradient state.
    public init(
        model: Albert, B: Int, T: Int, predictionsPerSequence: Int, threads: Int = Threads.configuredCount,
        training: Bool = true
    ) {
        self.model = model
        self.B = B
        self.T = T
        let n = max(1, min(threads, B))
        rows = Self.split(B, n)
        acts = rows.map {
            Activations(
                config: model.config, B: $0.count, T: T, maxPredictions: $0.count * predictionsPerSequence,
                training: training)
        }
        shardBatches = rows.map { AlbertBatch(B: $0.count, T: T) }
        grads = training ? [model.grads] + (1..<n).map { _ in FloatBuffer(count: model.layout.total) } : []
    }

    /// Shards with room for any batch of at most `maxTokens` positions, `maxSequences` sequences of at most
    /// `maxT` tokens and `maxPredictions` MLM labels; `reshape` picks the shape of each batch. Inference only
    /// unless `training`.
    public init(
        model: Albert, maxTokens: Int, maxSequences: Int, maxT: Int, maxPredictions: Int,
        threads: Int = Threads.configuredCount, training: Bool = false
    ) {
        self.model = model
        let n = max(1, min(threads, maxSequences))
        B = 1
        T = maxT
        rows = Self.split(1, 1)
        // a shard of a reshaped batch holds at most ceil(B / n) sequences of the batch's length T, so at
        // most B*T / n + T <= maxTokens / n + maxT positions
        let sequences = (maxSequences + n - 1) / n
        let tokens = min(maxTokens, sequences * maxT, (maxTokens + n - 1) / n + maxT)
        acts = (0..<n).map { _ in
            Activations(
                config: model.config, B: 1, T: maxT, maxPredictions: maxPredictions, training: training,
                maxSequences: sequences, maxTokens: tokens)
        }
        shardBatches = [AlbertBatch(B: 1, T: maxT)]
        grads = training ? [model.grads] + (1..<n).map { _ in FloatBuffer(count: model.layout.total) } : []
    }

    /// Uses the shards for a batch of shape (B, T) within the capacity they were made with.
    public func reshape(B: Int, T: Int) throws {
        let n = max(1, min(acts.count, B))
        let parts = Self.split(B, n)
        for (s, r) in parts.enumerated() { try acts[s].reshape(B: r.count, T: T) }
        self.B = B
        self.T = T
        rows = parts
        shardBatches = parts.map { AlbertBatch(B: $0.count, T: T) }
    }

    /// A batch of the shape the shards are set to.
    func checkShape(_ batch: AlbertBatch) throws {
        guard batch.B == B, batch.T == T else {
            throw EmbryoError.runtime("batch shape \(batch.B)x\(batch.T) != data-parallel shape \(B)x\(T)")
        }
    }

    static func split(_ B: Int, _ n: Int) -> [Range<Int>] { (0..<n).map { (B * $0 / n)..<(B * ($0 + 1) / n) } }

    public var shardCount: Int { rows.count }

    /// Forward over `batch`, and with `gradients` the backward: model.grads then holds the gradient of the
    /// batch's mean MLM loss plus mean SOP loss (overwritten, not accumulated), plus the syntactic-attention
    /// term when its lambda is set. Returns the batch's losses.
    @discardableResult
    public func run(_ batch: AlbertBatch, gradients: Bool = true) throws -> PretrainingOutput {
        try checkShape(batch)
        precondition(!gradients || !grads.isEmpty, "DataParallel made with training: false")
        let n = rows.count
        var mlm = 0, sop = 0
        for i in 0..<(B * T) where batch.mlmLabels[i] >= 0 { mlm += 1 }
        for b in 0..<B where batch.sopLabels[b] >= 0 { sop += 1 }
        let denominators = (mlm: mlm, sop: sop)
        var outs = [PretrainingOutput](repeating: PretrainingOutput(), count: n)
        try outs.withUnsafeMutableBufferPointer { outs in
            try forEachShard { s in outs[s] = try shard(s, batch, gradients: gradients, denominators: denominators) }
        }
        if gradients && n > 1 { Profiler.span(.gradientReduce) { reduceGradients() } }
        var out = PretrainingOutput()
        var mlmSum = 0.0, sopSum = 0.0
        for o in outs {
            mlmSum += Double(o.mlmLoss) * Double(o.mlmCount)
            sopSum += Double(o.sopLoss) * Double(o.sopCount)
            out.mlmCorrect += o.mlmCorrect
            out.mlmCount += o.mlmCount
            out.sopCorrect += o.sopCorrect
            out.sopCount += o.sopCount
            out.syntacticAttention.sum += o.syntacticAttention.sum
            out.syntacticAttention.arcs += o.syntacticAttention.arcs
        }
        out.mlmLoss = out.mlmCount > 0 ? Float(mlmSum / Double(out.mlmCount)) : 0
        out.sopLoss = out.sopCount > 0 ? Float(sopSum / Double(out.sopCount)) : 0
        out.loss = out.mlmLoss + out.sopLoss
        return out
    }

    /// After `run`: body(position in the batch (b * T + t), top prediction right, cross-entropy, top
    /// prediction) for every labelled position, in row-major order.
    public func forEachPrediction(_ body: (Int, Bool, Float, Int32) -> Void) {
        for s in rows.indices {
            let a = acts[s], offset = rows[s].lowerBound * T
            for p in 0..<a.predictionCount {
                body(offset + Int(a.positions[p]), a.mlmCorrect[p] > 0, a.mlmLosses[p], a.mlmPredicted[p])
            }
        }
    }

    /// The encoder, then MLM logits at every position of `batch` into `out` (B*T, V) and the SOP head,
    /// shard by shard (the inference pass).
    public func predictionLogits(_ batch: AlbertBatch, out: UnsafeMutablePointer<Float>) throws {
        try checkShape(batch)
        let V = model.config.vocabSize
        try forEachShard { s in
            let sb = copyRows(s, of: batch)
            Profiler.phase = .forward
            try model.encode(acts[s], sb)
            model.predictionLogits(acts[s], out: out + rows[s].lowerBound * T * V)
            model.sopHeadForward(acts[s])
        }
    }

    /// The encoder alone over `batch`, shard by shard (hidden states, no heads): the inference pass of
    /// consumers that read hidden states.
    public func encode(_ batch: AlbertBatch) throws {
        try checkShape(batch)
        try forEachShard { s in
            let sb = copyRows(s, of: batch)
            Profiler.phase = .forward
            try model.encode(acts[s], sb)
        }
    }

    /// After `encode` or `run`: the hidden states of the batch's row b at layer l, (T, H) (layer 0 is the
    /// embedding output after the projection).
    /// Row b's attention probabilities in layer application l: (NH, T, T).
    public func attention(_ l: Int, row b: Int) -> UnsafePointer<Float> {
        let s = rows.firstIndex { $0.contains(b) }!
        let NH = model.config.numAttentionHeads
        return UnsafePointer(acts[s].attention(l) + (b - rows[s].lowerBound) * NH * T * T)
    }

    public func hiddenState(_ l: Int, row b: Int) -> UnsafePointer<Float> {
        let s = rows.firstIndex { $0.contains(b) }!
        return UnsafePointer(acts[s].hiddenState(l) + (b - rows[s].lowerBound) * T * model.config.hiddenSize)
    }

    /// Runs body(s) for every shard at the same time, each on its own thread with serial kernels; rethrows
    /// the first shard's error.
    func forEachShard(_ body: (Int) throws -> Void) throws {
        let n = rows.count
        if n == 1 { return try body(0) }
        var errors = [Error?](repeating: nil, count: n)
        errors.withUnsafeMutableBufferPointer { errors in
            DispatchQueue.concurrentPerform(iterations: n) { s in
                Profiler.inShard(s, of: n) {
                    Threads.serially {
                        do { try body(s) } catch { errors[s] = error }
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
    }

    /// Shard s's rows of `batch`, copied into the shard's own batch (the batch itself when there is one shard).
    func copyRows(_ s: Int, of batch: AlbertBatch) -> AlbertBatch {
        if rows.count == 1 { return batch }
        let r = rows[s], sb = shardBatches[s]
        let from = r.lowerBound * T, count = r.count * T
        sb.ids.pointer.update(from: batch.ids.pointer + from, count: count)
        sb.tokenTypes.pointer.update(from: batch.tokenTypes.pointer + from, count: count)
        sb.attentionMask.pointer.update(from: batch.attentionMask.pointer + from, count: count)
        sb.mlmLabels.pointer.update(from: batch.mlmLabels.pointer + from, count: count)
        sb.sopLabels.pointer.update(from: batch.sopLabels.pointer + r.lowerBound, count: r.count)
        sb.goldHeads.pointer.update(from: batch.goldHeads.pointer + from, count: count)
        return sb
    }

    /// One shard on its thread (the calling one when it is the only shard): its rows copied out of the
    /// batch, its gradients zeroed, then the passes.
    private func shard(_ s: Int, _ batch: AlbertBatch, gradients: Bool, denominators: (mlm: Int, sop: Int)) throws
        -> PretrainingOutput
    {
        let sb = copyRows(s, of: batch)
        if gradients {
            Profiler.phase = .update
            Profiler.span(.zeroGrad) { grads[s].zero() }
        }
        Profiler.phase = .forward
        var out = try model.forward(acts[s], sb, gradients: gradients, denominators: denominators)
        acts[s].attentionGradientActive = false
        if gradients, let lambda = syntacticAttentionLambda {
            out.syntacticAttention = model.syntacticAttentionForward(acts[s], sb, lambda: lambda)
        }
        if gradients {
            Profiler.phase = .backward
            model.backward(acts[s], sb, into: grads[s])
        }
        return out
    }

    /// model.grads += shard 1's + shard 2's + ..., in that order for every element.
    func reduceGradients() {
        let total = model.layout.total
        let target = grads[0].pointer
        for g in grads.dropFirst() {
            let source = g.pointer
            parallelFor(total, grain: 1 << 14) { lo, hi in
                for i in lo..<hi { target[i] += source[i] }
            }
        }
    }
}

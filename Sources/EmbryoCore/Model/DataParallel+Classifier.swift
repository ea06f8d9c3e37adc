// Data-parallel fine-tuning of a sequence classifier: the batch's rows split over the shards as in
// pretraining, each shard's forward (encoder, pooler, head) and backward on its own thread into its own
// encoder and head gradient buffers, the gradients of the batch's mean loss summed in shard order.

import Dispatch

/// Per-shard classifier outputs and head gradients (shard 0 writes head.grads itself).
public final class ClassifierShards {
    let outs: [ClassifierBuffers]
    let headGrads: [FloatBuffer]
    /// Each shard's mean loss of the last step.
    let losses: FloatBuffer

    /// Room for batches of at most `maxRows` rows on `shards` (made with `training: true`).
    public init(_ shards: DataParallel, head: SequenceClassifier, maxRows: Int) {
        let n = shards.shardCapacity
        let rows = (maxRows + n - 1) / n
        outs = (0..<n).map { _ in ClassifierBuffers(B: rows, labels: head.labels) }
        headGrads = [head.grads] + (1..<n).map { _ in FloatBuffer(count: head.params.count) }
        losses = FloatBuffer(count: n)
    }
}

extension DataParallel {
    /// How many shards the buffers were made for.
    public var shardCapacity: Int { acts.count }

    /// Forward and backward of the classifier over `batch` (shape set by `reshape`): model.grads and
    /// head.grads then hold the gradients of the batch's mean loss (overwritten). Returns the mean loss.
    /// Labels per row: `classLabels` for classification, `targets` for regression.
    public func classifierStep(
        _ batch: AlbertBatch, head: SequenceClassifier, state: ClassifierShards, classLabels: [Int32]?,
        targets: [Float]?
    ) throws -> Float {
        try checkShape(batch)
        precondition(!grads.isEmpty, "DataParallel made without training")
        let losses = state.losses.pointer
        try (classLabels ?? []).withUnsafeBufferPointer { cls in
            try (targets ?? []).withUnsafeBufferPointer { tgt in
                try forEachShard { s in
                    let r = rows[s], sb = copyRows(s, of: batch)
                    Profiler.phase = .update
                    Profiler.span(.zeroGrad) {
                        grads[s].zero()
                        state.headGrads[s].zero()
                    }
                    Profiler.phase = .forward
                    losses[s] = try model.classifierForward(
                        acts[s], sb, head: head, out: state.outs[s],
                        classLabels: classLabels == nil ? nil : cls.baseAddress! + r.lowerBound,
                        targets: targets == nil ? nil : tgt.baseAddress! + r.lowerBound, denominator: B)
                    model.classifierBackward(
                        acts[s], sb, head: head, out: state.outs[s], into: grads[s],
                        headGrads: state.headGrads[s].pointer)
                }
            }
        }
        if rows.count > 1 {
            Profiler.phase = .update
            Profiler.span(.gradientReduce) {
                reduceGradients()
                let target = head.grads.pointer, count = head.params.count
                for g in state.headGrads.dropFirst() { for i in 0..<count { target[i] += g.pointer[i] } }
            }
        }
        var sum = 0.0
        for (s, r) in rows.enumerated() { sum += Double(losses[s]) * Double(r.count) }
        return Float(sum / Double(B))
    }
}

extension DataParallel {
    /// The classifier's logits for every row of `batch` (shape set by `reshape`) into `out` (B, labels),
    /// shard by shard: the inference pass of fine-tuning's evaluation.
    public func classifierLogits(
        _ batch: AlbertBatch, head: SequenceClassifier, state: ClassifierShards, out: UnsafeMutablePointer<Float>
    ) throws {
        try checkShape(batch)
        try forEachShard { s in
            let r = rows[s], sb = copyRows(s, of: batch)
            Profiler.phase = .forward
            try model.classifierForward(acts[s], sb, head: head, out: state.outs[s])
            (out + r.lowerBound * head.labels).update(from: state.outs[s].logits.pointer, count: r.count * head.labels)
        }
    }
}

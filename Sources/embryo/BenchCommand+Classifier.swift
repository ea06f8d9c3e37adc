// `embryo bench --head classifier`: fine-tuning's training step as `embryo finetune` runs it (encoder,
// pooler and a 2-label classifier forward and backward over data-parallel shards, clipping of both
// gradient buffers at 1.0, AdamW on the encoder and on the head) and its evaluation pass (logits only).

import EmbryoCore
import Foundation

extension BenchCommand.Timing {
    /// Random labels for `batches`, one per sequence, in 0..<2.
    static func classLabels(_ batches: [AlbertBatch], seed: UInt64) -> [[Int32]] {
        var rng = Rng(seed: seed)
        return batches.map { b in (0..<b.B).map { _ in Int32(rng.below(2)) } }
    }

    /// Fine-tuning steps: the timed steps' seconds and every loss.
    func classifierTraining(_ shards: DataParallel, optimizer: Optimizer) throws -> ([Double], [Float]) {
        let model = shards.model, tokens = Double(shards.B * shards.T)
        let head = classifierHead(model)
        let state = ClassifierShards(shards, head: head, maxRows: shards.B)
        let headM = FloatBuffer(count: head.params.count), headV = FloatBuffer(count: head.params.count)
        let labels = Self.classLabels(batches, seed: 7)
        var times: [Double] = [], losses: [Float] = []
        let progress = Progress("bench \(name) fine-tuning step", total: warmup + steps)
        for i in 0..<(warmup + steps) {
            Profiler.isOn = profile && i >= warmup
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss = try shards.classifierStep(
                batches[i % batches.count], head: head, state: state, classLabels: labels[i % batches.count],
                targets: nil)
            Profiler.phase = .update
            Profiler.span(.clipping) { clipGradients([model.grads, head.grads], maxNorm: 1) }
            Profiler.span(.optimizer) {
                optimizer.step(params: model.params, grads: model.grads, lr: 2e-5)
                head.adamwStep(m: headM, v: headV, lr: 2e-5, step: optimizer.stepCount, hyper: optimizer.hyper)
            }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            losses.append(loss)
            if i >= warmup { times.append(dt) }
            progress.update(i + 1, String(format: "loss %.3f, %.0f tok/s", loss, tokens / dt))
        }
        Profiler.isOn = false
        return (times, losses)
    }

    /// Evaluation passes (encoder, pooler and classifier logits): the timed passes' seconds.
    func classifierInference(_ shards: DataParallel) throws -> [Double] {
        let head = classifierHead(shards.model)
        let state = ClassifierShards(shards, head: head, maxRows: shards.B)
        let logits = FloatBuffer(count: shards.B * head.labels)
        return try timedPasses("classifier batch", tokens: shards.B * shards.T) { i in
            try shards.classifierLogits(batches[i % batches.count], head: head, state: state, out: logits.pointer)
        }
    }

    /// A fresh 2-label head, initialised as fine-tuning does.
    private func classifierHead(_ model: Albert) -> SequenceClassifier {
        let head = SequenceClassifier(labels: 2, hidden: model.config.hiddenSize)
        var rng = Rng(seed: 0x4EAD)
        head.initialize(std: Float(model.config.initializerRange), rng: &rng)
        return head
    }
}

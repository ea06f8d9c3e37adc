import EmbryoCore
import XCTest

/// The data-parallel step against one pass over the whole batch: the same mean losses and gradients (up to
/// rounding), for an uneven split and a shard without SOP labels; and the same bits on every repeat.
final class DataParallelTests: XCTestCase {
    func testShardsGiveTheWholeBatchsLossesAndGradients() throws {
        let config = tinyConfig(vocab: 40)
        let model = try Albert(config: config)
        model.initializeWeights(seed: 5)
        let B = 5, T = 12
        let batch = randomBatch(B: B, T: T, vocab: config.vocabSize, seed: 9)
        batch.sopLabels[4] = -1  // shard 2 of 3 (rows 3, 4) keeps one SOP label, the counts differ per shard
        batch.mlmLabels[2 * T + 1] = -100
        // one pass
        let acts = Activations(config: config, B: B, T: T, maxPredictions: B * 3)
        model.zeroGrad()
        let whole = try model.forward(acts, batch)
        model.backward(acts, batch)
        let reference = Array(UnsafeBufferPointer(start: model.grads.pointer, count: model.grads.count))
        let logitsReference = FloatBuffer(count: B * T * config.vocabSize)
        try model.encode(acts, batch)
        model.predictionLogits(acts, out: logitsReference.pointer)

        let shards = DataParallel(model: model, B: B, T: T, predictionsPerSequence: 3, threads: 3)
        XCTAssertEqual(shards.rows, [0..<1, 1..<3, 3..<5])
        model.grads.pointer.update(repeating: 7, count: model.grads.count)  // run overwrites, never accumulates
        let split = try shards.run(batch)
        XCTAssertEqual(split.mlmCount, whole.mlmCount)
        XCTAssertEqual(split.sopCount, whole.sopCount)
        XCTAssertEqual(split.mlmCorrect, whole.mlmCorrect)
        XCTAssertEqual(split.mlmLoss, whole.mlmLoss, accuracy: 1e-5)
        XCTAssertEqual(split.sopLoss, whole.sopLoss, accuracy: 1e-5)
        let scale = reference.map { abs($0) }.max()!
        XCTAssertGreaterThan(scale, 0)
        for i in 0..<reference.count {
            XCTAssertEqual(model.grads[i], reference[i], accuracy: 1e-5 * scale, "gradient \(i)")
        }
        // the same thread count, the same bits
        let first = Array(UnsafeBufferPointer(start: model.grads.pointer, count: model.grads.count))
        try shards.run(batch)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: model.grads.pointer, count: model.grads.count)), first)

        let logits = FloatBuffer(count: B * T * config.vocabSize)
        try shards.predictionLogits(batch, out: logits.pointer)
        for i in 0..<logits.count { XCTAssertEqual(logits[i], logitsReference[i], accuracy: 1e-5, "logit \(i)") }
        // inference only: no gradient state, the same losses
        let frozen = DataParallel(model: model, B: B, T: T, predictionsPerSequence: 3, threads: 2, training: false)
        let eval = try frozen.run(batch, gradients: false)
        XCTAssertEqual(eval.mlmLoss, whole.mlmLoss, accuracy: 1e-5)
        XCTAssertThrowsError(try frozen.run(randomBatch(B: 2, T: T, vocab: 40, seed: 1), gradients: false))
    }

    /// The data-parallel classifier step (fine-tuning) against one pass: the same mean loss, encoder and head
    /// gradients, for classification and regression, on shards reshaped from a larger capacity.
    func testClassifierShardsGiveTheWholeBatchsGradients() throws {
        let config = tinyConfig(vocab: 40)
        let B = 5, T = 12
        let batch = randomBatch(B: B, T: T, vocab: config.vocabSize, seed: 4)
        for labels in [3, 1] {
            let model = try Albert(config: config)
            model.initializeWeights(seed: 6)
            let head = SequenceClassifier(labels: labels, hidden: config.hiddenSize)
            var rng = Rng(seed: 2)
            head.initialize(std: 0.02, rng: &rng)
            let cls: [Int32] = [0, 2, 1, 1, 0].map { $0 % Int32(labels) }
            let tgt: [Float] = [0.5, -1, 2, 0.25, 1]
            // one pass
            let acts = Activations(config: config, B: B, T: T, maxPredictions: 0)
            let out = ClassifierBuffers(B: B, labels: labels)
            model.zeroGrad()
            head.grads.zero()
            let whole = try cls.withUnsafeBufferPointer { c in
                try tgt.withUnsafeBufferPointer { t in
                    try model.classifierForward(
                        acts, batch, head: head, out: out, classLabels: labels > 1 ? c.baseAddress! : nil,
                        targets: labels == 1 ? t.baseAddress! : nil)
                }
            }
            model.classifierBackward(acts, batch, head: head, out: out)
            let encoder = Array(UnsafeBufferPointer(start: model.grads.pointer, count: model.grads.count))
            let headReference = Array(UnsafeBufferPointer(start: head.grads.pointer, count: head.grads.count))
            // three shards with room for 8 rows of 16 tokens, reshaped to this batch
            let shards = DataParallel(
                model: model, maxTokens: 8 * 16, maxSequences: 8, maxT: 16, maxPredictions: 1, threads: 3,
                training: true)
            let state = ClassifierShards(shards, head: head, maxRows: 8)
            try shards.reshape(B: B, T: T)
            model.grads.pointer.update(repeating: 7, count: model.grads.count)  // overwritten, not accumulated
            let loss = try shards.classifierStep(
                batch, head: head, state: state, classLabels: labels > 1 ? cls : nil, targets: labels == 1 ? tgt : nil)
            XCTAssertEqual(loss, whole, accuracy: 1e-5)
            let scale = encoder.map { abs($0) }.max()!
            XCTAssertGreaterThan(scale, 0)
            for i in 0..<encoder.count {
                XCTAssertEqual(model.grads[i], encoder[i], accuracy: 1e-5 * scale, "encoder gradient \(i)")
            }
            for i in 0..<headReference.count {
                XCTAssertEqual(head.grads[i], headReference[i], accuracy: 1e-5, "head gradient \(i)")
            }
        }
    }

    /// Activations reshaped within their capacity give the bits a fresh allocation of that shape gives.
    func testReshapedActivationsMatchFreshOnes() throws {
        let config = tinyConfig(vocab: 40)
        let model = try Albert(config: config)
        model.initializeWeights(seed: 3)
        let shared = Activations(
            config: config, B: 1, T: 12, maxPredictions: 30, training: false, maxSequences: 6, maxTokens: 48)
        for (B, T) in [(4, 12), (6, 8), (2, 5), (4, 12)] {
            let batch = randomBatch(B: B, T: T, vocab: config.vocabSize, seed: UInt64(B * T))
            try shared.reshape(B: B, T: T)
            let fresh = Activations(config: config, B: B, T: T, maxPredictions: 30, training: false)
            let a = try model.forward(shared, batch, gradients: false)
            let b = try model.forward(fresh, batch, gradients: false)
            XCTAssertEqual(a, b, "\(B)x\(T)")
            let n = B * T * config.hiddenSize
            let last = config.numHiddenLayers
            XCTAssertEqual(
                Array(UnsafeBufferPointer(start: shared.hiddenState(last), count: n)),
                Array(UnsafeBufferPointer(start: fresh.hiddenState(last), count: n)), "\(B)x\(T)")
        }
        XCTAssertThrowsError(try shared.reshape(B: 7, T: 6))  // 42 positions fit, 7 sequences do not
        XCTAssertThrowsError(try shared.reshape(B: 1, T: 13))
        XCTAssertThrowsError(try shared.reshape(B: 5, T: 12))

        // reshaped inference shards: each batch's predictions, in order, as one pass gives them
        let shards = DataParallel(
            model: model, maxTokens: 48, maxSequences: 6, maxT: 12, maxPredictions: 30, threads: 2)
        for (B, T) in [(4, 12), (6, 8), (1, 5), (3, 7)] {
            let batch = randomBatch(B: B, T: T, vocab: config.vocabSize, seed: UInt64(7 * B + T))
            try shards.reshape(B: B, T: T)
            XCTAssertEqual(shards.shardCount, min(2, B))
            let split = try shards.run(batch, gradients: false)
            let fresh = Activations(config: config, B: B, T: T, maxPredictions: 30, training: false)
            let whole = try model.forward(fresh, batch, gradients: false)
            XCTAssertEqual(split.mlmCount, whole.mlmCount)
            XCTAssertEqual(split.mlmLoss, whole.mlmLoss, accuracy: 1e-5)
            var seen: [(Int, Bool, Float)] = []
            shards.forEachPrediction {
                seen.append(($0, $1, $2)); _ = $3
            }
            XCTAssertEqual(seen.map(\.0), (0..<fresh.predictionCount).map { Int(fresh.positions[$0]) })
            XCTAssertEqual(seen.map(\.1), (0..<fresh.predictionCount).map { fresh.mlmCorrect[$0] > 0 })
            for (k, p) in seen.enumerated() { XCTAssertEqual(p.2, fresh.mlmLosses[k], accuracy: 1e-5) }
        }
        XCTAssertThrowsError(try shards.reshape(B: 1, T: 13))
    }
}

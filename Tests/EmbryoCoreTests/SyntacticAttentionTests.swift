// The syntactic-attention regulariser: its value and every parameter gradient of the pretraining loss plus
// it against transformers' ALBERT with the term written from its definition (Scripts/make-sas-fixture.py),
// directional derivatives by central differences, and the data-parallel step equal to one pass.

import EmbryoCore
import Foundation
import XCTest

final class SyntacticAttentionTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    func parity(_ kind: String) throws {
        let model = try Albert.load(from: Fixtures.dir("albert-\(kind)"))
        let inputs = try SafetensorsFile(
            url: Fixtures.dir("albert-\(kind)").appendingPathComponent("expected.safetensors"))
        let expected = try SafetensorsFile(
            url: Fixtures.dir("sas-\(kind)").appendingPathComponent("expected.safetensors"))
        let batch = try fixtureBatch(inputs)
        for (i, h) in try expected.floats("gold_heads").enumerated() { batch.goldHeads[i] = Int32(h) }
        let lambda = try expected.floats("lambda")[0]
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        model.zeroGrad()
        let out = try model.forward(a, batch)
        let term = model.syntacticAttentionForward(a, batch, lambda: lambda)
        XCTAssertEqual(term.arcs, 23)
        XCTAssertEqual(term.sum, Double(try expected.floats("term")[0]), accuracy: 1e-5, kind)
        XCTAssertEqual(
            Double(out.loss) + Double(lambda) * term.sum, Double(try expected.floats("loss")[0]), accuracy: 1e-4)
        model.backward(a, batch)
        try assertGradientsMatch(model, expected, label: kind)
    }

    func testSharedLayersMatchTransformers() throws { try parity("shared") }
    func testUnsharedLayersMatchTransformers() throws { try parity("unshared") }

    /// Gold heads for a random batch: each attended position from the third on points back one or two
    /// places (padding has no arcs: its [PAD] embedding row gets no gradient, as in transformers).
    func withArcs(_ batch: AlbertBatch) -> AlbertBatch {
        for b in 0..<batch.B {
            for t in 2..<(batch.T - 1) where batch.attentionMask[b * batch.T + t] != 0 {
                batch.goldHeads[b * batch.T + t] = Int32(t % 2 == 0 ? t - 1 : t - 2)
            }
        }
        return batch
    }

    func testDirectionalDerivativesWithTheRegulariser() throws {
        let config = tinyConfig(groups: 2)
        let model = try Albert(config: config)
        model.initializeWeights(seed: 21)
        var rng = Rng(seed: 22)
        for i in 0..<model.params.count { model.params[i] = model.params[i] * 3 + Float(rng.normal()) * 0.05 }
        let batch = withArcs(randomBatch(B: 2, T: 8, vocab: config.vocabSize, seed: 23))
        let a = Activations(config: config, B: 2, T: 8)
        let lambda: Float = 0.7
        model.zeroGrad()
        try model.forward(a, batch)
        XCTAssertEqual(model.syntacticAttentionForward(a, batch, lambda: lambda).arcs, 9)
        model.backward(a, batch)
        // the term reaches the encoder's weights (attention's query and key, and below), not the heads
        let with = model.grads.array
        model.zeroGrad()
        try model.forward(a, batch)
        a.attentionGradientActive = false
        model.backward(a, batch)
        let changed = model.layout.tensors.filter { t in
            (t.offset..<(t.offset + t.count)).contains { with[$0] != model.grads[$0] }
        }
        XCTAssertTrue(changed.contains { $0.name.hasSuffix("attention.query.weight") })
        XCTAssertFalse(changed.contains { $0.name.hasPrefix("predictions.") || $0.name.hasPrefix("sop_") })
        for i in with.indices { model.grads[i] = with[i] }
        try assertDirectionalDerivatives(model, &rng, label: "with the regulariser") {
            let out = try model.forward(a, batch, gradients: false)
            return Double(out.loss) + Double(lambda) * model.syntacticAttentionForward(a, batch, lambda: 0).sum
        }
    }

    func testDataParallelStepEqualsOnePass() throws {
        let config = tinyConfig(groups: 1)
        let model = try Albert(config: config)
        model.initializeWeights(seed: 31)
        let batch = withArcs(randomBatch(B: 4, T: 8, vocab: config.vocabSize, seed: 32))
        let a = Activations(config: config, B: 4, T: 8)
        model.zeroGrad()
        try model.forward(a, batch)
        let one = model.syntacticAttentionForward(a, batch, lambda: 0.3)
        model.backward(a, batch)
        let reference = model.grads.array
        let shards = DataParallel(model: model, B: 4, T: 8, predictionsPerSequence: 8, threads: 2)
        shards.syntacticAttentionLambda = 0.3
        let out = try shards.run(batch)
        XCTAssertEqual(out.syntacticAttention.arcs, one.arcs)
        XCTAssertEqual(out.syntacticAttention.sum, one.sum, accuracy: 1e-5)
        XCTAssertLessThanOrEqual(maxAbsDiff(model.grads.pointer, reference), 1e-5 * maxAbs(reference) + 1e-7)
    }
}

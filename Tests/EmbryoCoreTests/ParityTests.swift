// Parity with transformers' AlbertForPreTraining: fixtures written by Scripts/make-fixtures.py hold the
// model (save_pretrained), inputs, every hidden state, logits, losses, all gradients, and parameters
// after 3 LAMB and 3 AdamW steps, for shared and unshared layers.

import EmbryoCore
import Foundation
import XCTest

final class ParityTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    func check(_ kind: String) throws {
        let dir = Fixtures.dir("albert-\(kind)")
        let expected = try SafetensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        XCTAssertEqual(expected.metadata["fixture_version"], "1")
        let model = try Albert.load(from: dir)
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        let out = try model.forward(a, batch)
        XCTAssertEqual(out.loss, try expected.floats("loss")[0], accuracy: 1e-4, kind)
        XCTAssertEqual(out.mlmLoss, try expected.floats("mlm_loss")[0], accuracy: 1e-4, kind)
        XCTAssertEqual(out.sopLoss, try expected.floats("sop_loss")[0], accuracy: 1e-4, kind)
        for l in 0...model.config.numHiddenLayers {
            XCTAssertLessThan(
                maxAbsDiff(a.hiddenState(l), try expected.floats("hidden.\(l)")), 1e-4, "\(kind) hidden \(l)")
        }
        XCTAssertLessThan(maxAbsDiff(a.sopLogits, try expected.floats("sop_logits")), 1e-4, "\(kind) sop logits")
        let full = FloatBuffer(count: batch.B * batch.T * model.config.vocabSize)
        model.predictionLogits(a, out: full.pointer)
        XCTAssertLessThan(maxAbsDiff(full.pointer, try expected.floats("prediction_logits")), 1e-4, "\(kind) logits")

        model.zeroGrad()
        model.backward(a, batch)
        try assertGradientsMatch(model, expected, label: kind)
    }

    func testSharedLayersMatchTransformers() throws { try check("shared") }
    func testUnsharedLayersMatchTransformers() throws { try check("unshared") }

    func threeSteps(_ kind: String, _ opt: OptimizerKind) throws {
        let dir = Fixtures.dir("albert-\(kind)")
        let expected = try SafetensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        let model = try Albert.load(from: dir)
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        let optimizer = Optimizer(kind: opt, layout: model.layout)
        for _ in 0..<3 {
            model.zeroGrad()
            try model.forward(a, batch)
            model.backward(a, batch)
            clipGradients(model.grads, maxNorm: 1)
            optimizer.step(params: model.params, grads: model.grads, lr: 1e-2)
        }
        for t in model.layout.tensors {
            let ref = try expected.floats("\(opt.rawValue)3.\(t.name)")
            XCTAssertLessThanOrEqual(maxAbsDiff(model.parameter(t.name)!, ref), 1e-5, "\(kind) \(opt) \(t.name)")
        }
    }

    func testLambStepsMatchReference() throws {
        try threeSteps("shared", .lamb)
        try threeSteps("unshared", .lamb)
    }

    func testAdamWStepsMatchTorch() throws {
        try threeSteps("shared", .adamw)
        try threeSteps("unshared", .adamw)
    }
}

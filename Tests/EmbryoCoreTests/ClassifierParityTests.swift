// Parity with transformers' AlbertForSequenceClassification: fixtures written by
// Scripts/make-classifier-fixtures.py hold the model (save_pretrained, no pretraining heads), sentence-pair
// inputs with token types and padding, labels, logits, the loss and every gradient, for 3-way
// classification (shared layers, cross-entropy) and regression (unshared layers, mean squared error).

import EmbryoCore
import Foundation
import XCTest

final class ClassifierParityTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    func check(_ kind: String) throws {
        let dir = Fixtures.dir("classifier-\(kind)")
        let expected = try SafetensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        XCTAssertEqual(expected.metadata["fixture_version"], "1")
        let (model, file) = try Albert.loadEncoder(from: dir)
        let labels = file.entries["classifier.weight"]!.shape[0]
        let head = SequenceClassifier(labels: labels, hidden: model.config.hiddenSize)
        for t in head.tensors { try file.read(t.name, into: head.params.pointer + t.offset, expectShape: t.shape) }
        let shape = expected.entries["input.input_ids"]!.shape
        let B = shape[0], T = shape[1]
        let batch = AlbertBatch(B: B, T: T)
        let ids = try expected.floats("input.input_ids"), tt = try expected.floats("input.token_type_ids")
        let mask = try expected.floats("input.attention_mask"), y = try expected.floats("input.labels")
        for i in 0..<(B * T) {
            batch.ids[i] = Int32(ids[i])
            batch.tokenTypes[i] = Int32(tt[i])
            batch.attentionMask[i] = mask[i]
        }
        let a = Activations(config: model.config, B: B, T: T, maxPredictions: 0)
        let out = ClassifierBuffers(B: B, labels: labels)
        let loss: Float
        if head.regression {
            loss = try y.withUnsafeBufferPointer {
                try model.classifierForward(a, batch, head: head, out: out, targets: $0.baseAddress!)
            }
        } else {
            let cls = y.map { Int32($0) }
            loss = try cls.withUnsafeBufferPointer {
                try model.classifierForward(a, batch, head: head, out: out, classLabels: $0.baseAddress!)
            }
        }
        XCTAssertEqual(loss, try expected.floats("loss")[0], accuracy: 1e-4 * max(1, abs(loss)), kind)
        XCTAssertLessThan(maxAbsDiff(out.logits.pointer, try expected.floats("logits")), 1e-4, "\(kind) logits")
        model.zeroGrad()
        head.grads.zero()
        model.classifierBackward(a, batch, head: head, out: out)
        var checked = 0
        for t in model.layout.tensors where t.name.hasPrefix("albert.") {
            let ref = try expected.floats("grad.\(t.name)")
            let diff = maxAbsDiff(model.gradient(t.name)!, ref)
            XCTAssertLessThanOrEqual(diff, 1e-3 * maxAbs(ref) + 1e-6, "\(kind) gradient of \(t.name)")
            checked += 1
        }
        for t in head.tensors {
            let ref = try expected.floats("grad.\(t.name)")
            let diff = maxAbsDiff(head.grads.pointer + t.offset, ref)
            XCTAssertLessThanOrEqual(diff, 1e-3 * maxAbs(ref) + 1e-6, "\(kind) gradient of \(t.name)")
            checked += 1
        }
        XCTAssertEqual(checked, expected.names.filter { $0.hasPrefix("grad.") }.count)
    }

    func testClassificationMatchesTransformers() throws { try check("classification") }
    func testRegressionMatchesTransformers() throws { try check("regression") }
}

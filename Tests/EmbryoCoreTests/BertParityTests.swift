// Parity with transformers' BERT: fixtures written by Scripts/make-bert-fixtures.py hold tiny BERTs with the
// exact GELU, saved by BertForPreTraining, BertForMaskedLM, BertModel (bare names, no heads) and
// BertForSequenceClassification, with hidden states, logits, losses and (pretraining, classification) every
// gradient. Logits agree within 1e-4 and gradients within 1e-3 of each tensor's largest entry.

import EmbryoCore
import Foundation
import XCTest

final class BertParityTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    func open(_ kind: String) throws -> (URL, SafetensorsFile) {
        let dir = Fixtures.dir("bert-\(kind)")
        let expected = try SafetensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        XCTAssertEqual(expected.metadata["fixture_version"], "1")
        return (dir, expected)
    }

    func checkHidden(_ model: Albert, _ a: Activations, _ expected: SafetensorsFile, _ kind: String) throws {
        XCTAssertTrue(model.config.isBert)
        for l in 0...model.config.numHiddenLayers {
            XCTAssertLessThan(
                maxAbsDiff(a.hiddenState(l), try expected.floats("hidden.\(l)")), 1e-4, "\(kind) hidden \(l)")
        }
    }

    func testPreTrainingMatchesTransformers() throws {
        let (dir, expected) = try open("pretraining")
        let model = try Albert.load(from: dir)
        XCTAssertEqual(model.absentParts, [])
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        let out = try model.forward(a, batch)
        XCTAssertEqual(out.loss, try expected.floats("loss")[0], accuracy: 1e-4)
        XCTAssertEqual(out.mlmLoss, try expected.floats("mlm_loss")[0], accuracy: 1e-4)
        XCTAssertEqual(out.sopLoss, try expected.floats("nsp_loss")[0], accuracy: 1e-4)
        try checkHidden(model, a, expected, "pretraining")
        XCTAssertLessThan(maxAbsDiff(a.sopLogits, try expected.floats("seq_relationship_logits")), 1e-4)
        let full = FloatBuffer(count: batch.B * batch.T * model.config.vocabSize)
        model.predictionLogits(a, out: full.pointer)
        XCTAssertLessThan(maxAbsDiff(full.pointer, try expected.floats("prediction_logits")), 1e-4)

        model.zeroGrad()
        model.backward(a, batch)
        var checked = 0
        for t in model.layout.tensors {
            let ref = try expected.floats("grad.\(t.name)")
            let diff = maxAbsDiff(model.gradient(t.name)!, ref)
            XCTAssertLessThanOrEqual(diff, 1e-3 * maxAbs(ref) + 1e-7, "gradient of \(t.name)")
            checked += 1
        }
        // every gradient transformers wrote is one of the layout's (its tied decoder is not a parameter of its own)
        XCTAssertEqual(checked, expected.names.filter { $0.hasPrefix("grad.") }.count)
        XCTAssertEqual(model.layout.tensors.count, 5 + 16 * 3 + 2 + 5 + 2)
    }

    /// The fixture tells the two GELUs apart: run with gelu_new, the same weights miss the logits.
    func testFixtureNeedsTheExactGelu() throws {
        let (dir, expected) = try open("pretraining")
        let exact = try Albert.load(from: dir)
        var config = exact.config
        config.hiddenAct = "gelu_new"
        let approx = try Albert(config: config)
        approx.params.pointer.update(from: exact.params.pointer, count: exact.params.count)
        let batch = try fixtureBatch(expected)
        let a = Activations(config: config, B: batch.B, T: batch.T)
        try approx.encode(a, batch)
        let full = FloatBuffer(count: batch.B * batch.T * config.vocabSize)
        approx.predictionLogits(a, out: full.pointer)
        XCTAssertGreaterThan(maxAbsDiff(full.pointer, try expected.floats("prediction_logits")), 1e-3)
    }

    func testMaskedLMMatchesTransformers() throws {
        let (dir, expected) = try open("maskedlm")
        let model = try Albert.load(from: dir)
        XCTAssertEqual(model.absentParts, [.pooler, .sentenceHead])
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        try model.encode(a, batch)
        try checkHidden(model, a, expected, "maskedlm")
        let full = FloatBuffer(count: batch.B * batch.T * model.config.vocabSize)
        model.predictionLogits(a, out: full.pointer)
        XCTAssertLessThan(maxAbsDiff(full.pointer, try expected.floats("prediction_logits")), 1e-4)
        XCTAssertNoThrow(try model.require(.mlmHead, for: "fill"))
    }

    func testBareModelMatchesTransformers() throws {
        let (dir, expected) = try open("model")
        let file = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        XCTAssertNotNil(file.entries["embeddings.word_embeddings.weight"], "BertModel saves names without bert.")
        let model = try Albert.load(from: dir)
        XCTAssertEqual(model.absentParts, [.mlmHead, .sentenceHead])
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        try model.encode(a, batch)
        try checkHidden(model, a, expected, "model")
        model.poolerForward(a)
        XCTAssertLessThan(maxAbsDiff(a.pooled, try expected.floats("pooler_output")), 1e-4)
        XCTAssertThrowsError(try model.require(.mlmHead, for: "fill")) { e in
            XCTAssertTrue("\(e)".contains("fill needs an MLM head"), "\(e)")
            XCTAssertTrue("\(e)".contains("BertModel"), "\(e)")
        }
    }

    /// TensorFlow-converted BERTs (bert-base-uncased's files among them) name LayerNorm's parameters gamma and
    /// beta; they load as the same model.
    func testLayerNormGammaBetaNames() throws {
        let (dir, expected) = try open("model")
        let tmp = try temporaryCheckpoint(from: dir) { name in
            [
                name.replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")
                    .replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")
            ]
        }
        defer { try? FileManager.default.removeItem(at: tmp) }
        let model = try Albert.load(from: tmp)
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T)
        try model.encode(a, batch)
        try checkHidden(model, a, expected, "gamma/beta")
    }

    /// What else transformers' files hold or lack: the tied decoder stored as well, position_ids, the MLM bias
    /// only as the decoder's, a head half there (an error), and a bare AlbertModel.
    func testTiedCopiesBuffersAndPartialHeads() throws {
        let (dir, _) = try open("pretraining")
        let reference = try Albert.load(from: dir)
        func load(_ rename: (String) -> [String]) throws -> Albert {
            let tmp = try temporaryCheckpoint(from: dir, rename: rename)
            defer { try? FileManager.default.removeItem(at: tmp) }
            return try Albert.load(from: tmp)
        }
        func same(_ m: Albert, _ label: String) {
            XCTAssertEqual(m.absentParts, [], label)
            XCTAssertEqual(memcmp(m.params.pointer, reference.params.pointer, m.params.count * 4), 0, label)
        }
        same(
            try load { n in
                switch n {
                case "bert.embeddings.word_embeddings.weight":
                    return [n, "cls.predictions.decoder.weight", "bert.embeddings.position_ids"]
                case "cls.predictions.bias": return [n, "cls.predictions.decoder.bias"]
                default: return [n]
                }
            }, "tied copies and a buffer")
        same(try load { $0 == "cls.predictions.bias" ? ["cls.predictions.decoder.bias"] : [$0] }, "decoder bias")
        XCTAssertThrowsError(try load { $0 == "cls.predictions.transform.dense.bias" ? [] : [$0] }) { e in
            XCTAssertTrue("\(e)".contains("missing tensor 'cls.predictions.transform.dense.bias'"), "\(e)")
        }
        XCTAssertThrowsError(try load { $0 == "cls.seq_relationship.weight" ? [$0, "cls.extra.weight"] : [$0] }) {
            XCTAssertTrue("\($0)".contains("unexpected tensor 'cls.extra.weight'"), "\($0)")
        }

        // AlbertModel: names without "albert.", the pooler kept, no heads
        let albert = Fixtures.dir("albert-unshared")
        let expected = try SafetensorsFile(url: albert.appendingPathComponent("expected.safetensors"))
        let tmp = try temporaryCheckpoint(from: albert) { n in
            n.hasPrefix("albert.") ? [String(n.dropFirst(7))] : []
        }
        defer { try? FileManager.default.removeItem(at: tmp) }
        let bare = try Albert.load(from: tmp)
        XCTAssertEqual(bare.absentParts, [.mlmHead, .sentenceHead])
        let batch = try fixtureBatch(expected)
        let a = Activations(config: bare.config, B: batch.B, T: batch.T)
        try bare.encode(a, batch)
        for l in 0...bare.config.numHiddenLayers {
            XCTAssertLessThan(maxAbsDiff(a.hiddenState(l), try expected.floats("hidden.\(l)")), 1e-4, "hidden \(l)")
        }
    }

    func testSequenceClassificationMatchesTransformers() throws {
        let (dir, expected) = try open("classification")
        let (model, file) = try Albert.loadEncoder(from: dir)
        let labels = file.entries["classifier.weight"]!.shape[0]
        let head = SequenceClassifier(labels: labels, hidden: model.config.hiddenSize)
        for t in head.tensors { try file.read(t.name, into: head.params.pointer + t.offset, expectShape: t.shape) }
        let batch = try fixtureBatch(expected)
        let a = Activations(config: model.config, B: batch.B, T: batch.T, maxPredictions: 0)
        let out = ClassifierBuffers(B: batch.B, labels: labels)
        let y = try expected.floats("input.labels").map { Int32($0) }
        let loss = try y.withUnsafeBufferPointer {
            try model.classifierForward(a, batch, head: head, out: out, classLabels: $0.baseAddress!)
        }
        XCTAssertEqual(loss, try expected.floats("loss")[0], accuracy: 1e-4 * max(1, abs(loss)))
        XCTAssertLessThan(maxAbsDiff(out.logits.pointer, try expected.floats("logits")), 1e-4)
        model.zeroGrad()
        head.grads.zero()
        model.classifierBackward(a, batch, head: head, out: out)
        var checked = 0
        for t in model.layout.tensors where !t.part.isHead || t.part == .pooler {
            let ref = try expected.floats("grad.\(t.name)")
            XCTAssertLessThanOrEqual(
                maxAbsDiff(model.gradient(t.name)!, ref), 1e-3 * maxAbs(ref) + 1e-6, "gradient of \(t.name)")
            checked += 1
        }
        for t in head.tensors {
            let ref = try expected.floats("grad.\(t.name)")
            XCTAssertLessThanOrEqual(
                maxAbsDiff(head.grads.pointer + t.offset, ref), 1e-3 * maxAbs(ref) + 1e-6, "gradient of \(t.name)")
            checked += 1
        }
        XCTAssertEqual(checked, expected.names.filter { $0.hasPrefix("grad.") }.count)
    }

    /// embryo writes BERT as transformers does: BERT's config keys and tensor names, and loads it back.
    func testSaveLoadRoundTrip() throws {
        let (dir, _) = try open("pretraining")
        let model = try Albert.load(from: dir)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-bert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try model.save(to: tmp)
        let back = try Albert.load(from: tmp)
        XCTAssertEqual(back.config, model.config)
        XCTAssertEqual(memcmp(back.params.pointer, model.params.pointer, model.params.count * 4), 0)
        let obj =
            try JSONSerialization.jsonObject(with: Data(contentsOf: tmp.appendingPathComponent("config.json")))
            as! [String: Any]
        XCTAssertEqual(obj["model_type"] as? String, "bert")
        XCTAssertEqual(obj["hidden_act"] as? String, "gelu")
        XCTAssertNil(obj["embedding_size"])
        XCTAssertNil(obj["num_hidden_groups"])
        let file = try SafetensorsFile(url: tmp.appendingPathComponent("model.safetensors"))
        let theirs = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(file.names), Set(theirs.names))
    }
}

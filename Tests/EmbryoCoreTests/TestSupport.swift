// Shared helpers for the EmbryoCore tests: fixture loading, tolerances, and small random models.

import EmbryoCore
import Foundation
import XCTest

enum Fixtures {
    static func dir(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }
}

/// max |a - b| over elements.
func maxAbsDiff(_ a: UnsafePointer<Float>, _ b: [Float]) -> Float {
    var m: Float = 0
    for i in 0..<b.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

func maxAbs(_ b: [Float]) -> Float { b.reduce(0) { max($0, abs($1)) } }

/// A batch from a fixture's input.* tensors.
func fixtureBatch(_ f: SafetensorsFile) throws -> AlbertBatch {
    let shape = f.entries["input.input_ids"]!.shape
    let B = shape[0], T = shape[1]
    let batch = AlbertBatch(B: B, T: T)
    let ids = try f.floats("input.input_ids"), tt = try f.floats("input.token_type_ids")
    let mask = try f.floats("input.attention_mask")
    // MLM labels and the sentence label (SOP for ALBERT, next sentence for BERT) when the fixture has them
    let labels = f.entries["input.labels"]?.shape == shape ? try f.floats("input.labels") : nil
    let sentence = try ["input.sentence_order_label", "input.next_sentence_label"].first {
        f.entries[$0] != nil
    }.map { try f.floats($0) }
    for i in 0..<(B * T) {
        batch.ids[i] = Int32(ids[i])
        batch.tokenTypes[i] = Int32(tt[i])
        batch.attentionMask[i] = mask[i]
        batch.mlmLabels[i] = labels.map { Int32($0[i]) } ?? -100
    }
    if let sentence { for b in 0..<B { batch.sopLabels[b] = Int32(sentence[b]) } }
    return batch
}

/// A random batch with padding in the last sequence, a few labels per row and SOP labels.
func randomBatch(B: Int, T: Int, vocab: Int, seed: UInt64, labelsPerRow: Int = 3) -> AlbertBatch {
    var rng = Rng(seed: seed)
    let batch = AlbertBatch(B: B, T: T)
    for b in 0..<B {
        for t in 0..<T {
            let i = b * T + t
            batch.ids[i] = Int32(5 + rng.below(vocab - 5))
            batch.tokenTypes[i] = t >= T / 2 ? 1 : 0
        }
        batch.sopLabels[b] = Int32(rng.below(2))
        for k in 0..<labelsPerRow { batch.mlmLabels[b * T + 1 + (k * 3) % (T - 1)] = Int32(5 + rng.below(vocab - 5)) }
    }
    // pad the tail of the last row
    for t in (T - T / 4)..<T {
        let i = (B - 1) * T + t
        batch.ids[i] = 0
        batch.attentionMask[i] = 0
        batch.mlmLabels[i] = -100
    }
    return batch
}

func tinyConfig(groups: Int = 1, vocab: Int = 50) -> AlbertConfig {
    AlbertConfig(
        vocabSize: vocab, embeddingSize: 8, hiddenSize: 12, numHiddenLayers: 2, numAttentionHeads: 3,
        intermediateSize: 20, numHiddenGroups: groups, maxPositionEmbeddings: 16)
}

/// A copy of checkpoint `dir` in a new temporary folder whose model.safetensors holds each tensor under the
/// names `rename` gives it (none drops it, several store copies), as other savers name and omit tensors.
func temporaryCheckpoint(from dir: URL, rename: (String) -> [String]) throws -> URL {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    let file = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
    var list: [(name: String, shape: [Int], data: UnsafePointer<Float>)] = []
    var buffers: [FloatBuffer] = []
    for name in file.names {
        let e = file.entries[name]!
        let b = FloatBuffer(count: e.count)
        try file.read(name, into: b.pointer, expectShape: e.shape)
        buffers.append(b)
        for n in rename(name) { list.append((name: n, shape: e.shape, data: UnsafePointer(b.pointer))) }
    }
    try writeSafetensors(list, metadata: ["format": "pt"], to: tmp.appendingPathComponent("model.safetensors"))
    withExtendedLifetime(buffers) {}
    try FileManager.default.copyItem(
        at: dir.appendingPathComponent("config.json"), to: tmp.appendingPathComponent("config.json"))
    return tmp
}

/// For each parameter tensor of `model`: the central difference (h = 1e-2) of `loss` along a random unit
/// direction u on that tensor against the gradient the model holds, dotted with u; relative error <= 1e-2.
func assertDirectionalDerivatives(
    _ model: Albert, _ rng: inout Rng, label: String, loss: () throws -> Double, file: StaticString = #filePath,
    line: UInt = #line
) throws {
    for t in model.layout.tensors {
        var u = [Float](repeating: 0, count: t.count)
        var norm: Double = 0
        for i in 0..<t.count { u[i] = Float(rng.normal()); norm += Double(u[i] * u[i]) }
        for i in 0..<t.count { u[i] /= Float(norm.squareRoot()) }
        let g = model.gradient(t.name)!, p = model.parameter(t.name)!
        var analytic: Double = 0
        for i in 0..<t.count { analytic += Double(g[i]) * Double(u[i]) }
        let h: Float = 1e-2
        func lossAt(_ s: Float) throws -> Double {
            for i in 0..<t.count { p[i] += s * u[i] }
            defer { for i in 0..<t.count { p[i] -= s * u[i] } }
            return try loss()
        }
        let fd = (try lossAt(h) - lossAt(-h)) / (2 * Double(h))
        let err = abs(fd - analytic) / max(abs(fd), abs(analytic), 1e-2)
        XCTAssertLessThanOrEqual(
            err, 1e-2, "\(label) \(t.name): fd \(fd) analytic \(analytic)", file: file, line: line)
    }
}

/// Every parameter gradient of `model` against a fixture's "grad.<name>" tensors, within 1e-3 of the
/// reference's largest magnitude.
func assertGradientsMatch(
    _ model: Albert, _ expected: SafetensorsFile, label: String, file: StaticString = #filePath, line: UInt = #line
) throws {
    for t in model.layout.tensors {
        let ref = try expected.floats("grad.\(t.name)")
        let diff = maxAbsDiff(model.gradient(t.name)!, ref)
        XCTAssertLessThanOrEqual(
            diff, 1e-3 * maxAbs(ref) + 1e-7, "\(label) gradient of \(t.name)", file: file, line: line)
    }
}

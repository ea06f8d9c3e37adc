// Partial re-initialisation: the settings of every scheme, each setting touching exactly the parameters it
// names (compared tensor by tensor before and after), untying a shared model without changing its outputs,
// out-of-range layers refused, and a small end-to-end run with its results and report.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation
import XCTest

final class ReinitTests: XCTestCase {
    func model(groups: Int, layers: Int = 3, seed: UInt64 = 4) throws -> Albert {
        let m = try Albert(
            config: AlbertConfig(
                vocabSize: 40, embeddingSize: 16, hiddenSize: 32, numHiddenLayers: layers, numAttentionHeads: 2,
                intermediateSize: 64, numHiddenGroups: groups, maxPositionEmbeddings: 32))
        m.initializeWeights(seed: seed)
        // non-default LayerNorms and biases, so that resets are visible
        var rng = Rng(seed: seed + 1)
        for t in m.layout.tensors
        where t.name.hasSuffix("bias") || t.name.contains("LayerNorm") || t.name.contains("layer_norm") {
            let p = m.params.pointer + t.offset
            for i in 0..<t.count { p[i] += Float(rng.normal()) * 0.1 }
        }
        return m
    }

    func testSchemeSettings() throws {
        let prog = try Reinit.settings(.progressive, layers: 4, blockSize: 3, permutations: 2, seed: 1)
        XCTAssertEqual(prog.map(\.preserved), [4, 3, 2, 1, 0])
        XCTAssertEqual(prog.map(\.reinit), [[], [3], [2, 3], [1, 2, 3], [0, 1, 2, 3]])
        let block = try Reinit.settings(.block, layers: 4, blockSize: 2, permutations: 2, seed: 1)
        XCTAssertEqual(block.map(\.reinit), [[], [0, 1], [1, 2], [2, 3], [0, 1, 2, 3]])
        XCTAssertEqual(block.map(\.scheme), ["baseline", "block", "block", "block", "baseline"])
        let inverse = try Reinit.settings(.inverseBlock, layers: 4, blockSize: 2, permutations: 2, seed: 1)
        XCTAssertEqual(inverse.map(\.reinit), [[], [2, 3], [0, 3], [0, 1], [0, 1, 2, 3]])
        let single = try Reinit.settings(.single, layers: 3, blockSize: 3, permutations: 2, seed: 1)
        XCTAssertEqual(single.map(\.reinit), [[], [0], [1], [2], [0, 1, 2]])
        let scramble = try Reinit.settings(.scramble, layers: 4, blockSize: 3, permutations: 3, seed: 1)
        let perms = scramble.compactMap(\.permutation)
        XCTAssertEqual(perms.count, 3)
        for p in perms {
            XCTAssertEqual(p.sorted(), [0, 1, 2, 3])
            XCTAssertNotEqual(p, [0, 1, 2, 3])
        }
        XCTAssertEqual(try Reinit.settings(.scramble, layers: 4, blockSize: 3, permutations: 3, seed: 1), scramble)
        XCTAssertThrowsError(try Reinit.settings(.block, layers: 4, blockSize: 5, permutations: 1, seed: 1)) { e in
            XCTAssertTrue(describe(e).contains("--block-size 5 is out of range"), describe(e))
        }
    }

    func testEachSettingTouchesExactlyWhatItNames() throws {
        let base = try model(groups: 3)
        let before = Dictionary(uniqueKeysWithValues: base.layout.tensors.map { ($0.name, tensor(base, $0)) })
        func layer(_ name: String) -> Int? {
            let p = "albert.encoder.albert_layer_groups."
            guard name.hasPrefix(p) else { return nil }
            return Int(name.dropFirst(p.count).prefix { $0 != "." })
        }
        var all: [ReinitSetting] = []
        for s in ReinitScheme.allCases {
            all += try Reinit.settings(s, layers: 3, blockSize: 2, permutations: 2, seed: 7)
        }
        for keep in [false, true] {
            for s in all {
                let m = try Albert(config: base.config)
                m.params.pointer.update(from: base.params.pointer, count: base.params.count)
                try Reinit.apply(s, to: m, keepLayerNorm: keep, seed: 3)
                for t in m.layout.tensors {
                    let now = tensor(m, t), old = before[t.name]!
                    let isNorm = t.name.contains("LayerNorm") || t.name.contains("layer_norm")
                    guard let l = layer(t.name) else {
                        XCTAssertEqual(now, old, "\(s.label): \(t.name) outside the layers changed")
                        continue
                    }
                    if let perm = s.permutation {
                        let srcName = t.name.replacingOccurrences(of: "groups.\(l).", with: "groups.\(perm[l]).")
                        XCTAssertEqual(
                            now, before[srcName]!, "\(s.label): layer \(l) is not pretrained layer \(perm[l])")
                    } else if !s.reinit.contains(l) || (isNorm && keep) {
                        XCTAssertEqual(now, old, "\(s.label): \(t.name) should be untouched")
                    } else if isNorm {
                        let want: Float = t.name.hasSuffix("weight") ? 1 : 0
                        XCTAssertEqual(now, [Float](repeating: want, count: t.count), "\(s.label): \(t.name) not reset")
                    } else if t.name.hasSuffix("bias") {
                        XCTAssertEqual(now, [Float](repeating: 0, count: t.count), "\(s.label): \(t.name) not zeroed")
                    } else {
                        XCTAssertNotEqual(now, old, "\(s.label): \(t.name) not redrawn")
                        let std = (now.map { Double($0 * $0) }.reduce(0, +) / Double(t.count)).squareRoot()
                        XCTAssertEqual(std, base.config.initializerRange, accuracy: 0.1 * base.config.initializerRange)
                    }
                }
            }
        }
        // out of range
        let bad = ReinitSetting(scheme: "single", label: "x", reinit: [3], permutation: nil, preserved: 2, window: 3)
        XCTAssertThrowsError(try Reinit.apply(bad, to: base, keepLayerNorm: false, seed: 1)) { e in
            XCTAssertTrue(describe(e).contains("layer 3 is out of range; this model has layers 0...2"), describe(e))
        }
        XCTAssertThrowsError(try Reinit.apply(all[0], to: try model(groups: 1), keepLayerNorm: false, seed: 1))
    }

    func tensor(_ m: Albert, _ t: ParameterTensor) -> [Float] {
        Array(UnsafeBufferPointer(start: m.params.pointer + t.offset, count: t.count))
    }

    func testUntyingKeepsTheFunction() throws {
        Threads.configure(1)
        let shared = try model(groups: 1, layers: 4)
        let untied = try Reinit.untie(shared)
        XCTAssertEqual(untied.config.numHiddenGroups, 4)
        XCTAssertEqual(untied.config.numHiddenLayers, 4)
        let B = 2, T = 9
        let batch = AlbertBatch(B: B, T: T)
        var rng = Rng(seed: 2)
        for i in 0..<(B * T) {
            batch.ids[i] = Int32(5 + rng.below(35))
            batch.attentionMask[i] = i == B * T - 1 ? 0 : 1
            batch.tokenTypes[i] = i % T > 4 ? 1 : 0
        }
        var outs: [[Float]] = []
        for m in [shared, untied] {
            let a = Activations(config: m.config, B: B, T: T, maxPredictions: 0, training: false)
            try m.encode(a, batch)
            m.poolerForward(a)
            outs.append(
                (0...4).flatMap { Array(UnsafeBufferPointer(start: a.hiddenState($0), count: B * T * 32)) }
                    + Array(UnsafeBufferPointer(start: a.pooled, count: B * 32)))
        }
        XCTAssertEqual(outs[0], outs[1])
    }

    func testASmallProgressiveRun() throws {
        Threads.configure(1)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-reinit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let task = tmp.appendingPathComponent("task")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        var rng = Rng(seed: 1)
        func rows(_ n: Int) -> String {
            "sentence\tlabel\n"
                + (0..<n).map { _ in
                    let y = rng.below(2)
                    return "\(y == 1 ? "good" : "bad") w\(rng.below(5)) w\(rng.below(5))\t\(y)\n"
                }.joined()
        }
        try rows(96).write(to: task.appendingPathComponent("train.tsv"), atomically: true, encoding: .utf8)
        try rows(32).write(to: task.appendingPathComponent("dev.tsv"), atomically: true, encoding: .utf8)
        let ckpt = tmp.appendingPathComponent("ckpt")
        let m = try model(groups: 1)  // shared: untied first
        let vocab = Vocabulary.specialTokens + ["good", "bad"] + (0..<33).map { "w\($0)" }
        try m.save(to: ckpt)
        try WordPieceTokenizer(vocab: try Vocabulary(tokens: vocab), lowercase: true).save(to: ckpt)
        var o = ReinitOptions()
        o.trainSizes = [48, nil]
        o.seeds = 2
        o.finetune.epochs = 1
        o.finetune.lr = 1e-3
        o.finetune.batchSize = 16
        var logs: [String] = []
        let out = tmp.appendingPathComponent("out")
        let data = try GlueTask.load(task.path)
        let rowsOut = try ReinitJob.run(checkpoint: ckpt, task: data, options: o, out: out, log: { logs.append($0) })
        XCTAssertTrue(logs[0].contains("untied the shared layer block into 3 identical layers"), logs[0])
        // 2 sizes x 2 seeds x (4 progressive settings + 4 probing layers)
        XCTAssertEqual(rowsOut.filter { $0.scheme == "progressive" }.count, 16)
        XCTAssertEqual(rowsOut.filter { $0.scheme == "probing" }.count, 16)
        XCTAssertEqual(Set(rowsOut.map(\.trainSize)), ["48", "full"])
        let lines = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, rowsOut.count)
        let decoded = try lines.map { try JSONDecoder().decode(ReinitRow.self, from: Data($0.utf8)) }
        XCTAssertEqual(decoded, rowsOut)
        let html = try String(contentsOf: out.appendingPathComponent("reinit.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("against pretrained layers kept"))
        XCTAssertTrue(html.contains("probing, full data"))
        // the other schemes' reports: block with its baselines, scramble against the pretrained order
        o.trainSizes = [nil]
        o.seeds = 1
        o.probing = false
        o.blockSize = 2
        for (scheme, count, title) in [
            (ReinitScheme.block, 4, "first re-initialised layer of the block"),
            (.scramble, 5, "against the pretrained order"),
        ] {
            o.scheme = scheme
            let dir = tmp.appendingPathComponent("out-\(scheme.rawValue)")
            let r = try ReinitJob.run(checkpoint: ckpt, task: data, options: o, out: dir, log: { _ in })
            XCTAssertEqual(r.count, count, "\(scheme)")
            let page = try String(contentsOf: dir.appendingPathComponent("reinit.html"), encoding: .utf8)
            XCTAssertTrue(page.contains(title), "\(scheme)")
        }
    }
}

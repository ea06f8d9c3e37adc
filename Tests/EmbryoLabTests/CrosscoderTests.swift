// The crosscoder: its loss and decoder-norm penalty on a hand-computed example, every gradient by finite
// differences, and a planted-feature run: activations synthesised from known sparse directions that appear
// at known snapshots, from which training recovers the directions and their emergence steps.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation
import XCTest

final class CrosscoderTests: XCTestCase {
    override func setUp() { Threads.configure(1) }

    func testLossOnAHandComputedExample() {
        let cc = Crosscoder(snapshots: 2, dim: 2, features: 1)
        cc.params.zero()
        let p = cc.params.pointer
        // W_enc rows (s0 j0, s0 j1, s1 j0, s1 j1) x 1 feature; W_dec 1 x 4
        p[cc.wEnc + 0] = 0.5
        p[cc.wEnc + 3] = 0.5
        p[cc.wDec + 0] = 1
        p[cc.wDec + 3] = 2
        let x: [Float] = [2, 1, 3, 4]
        let buf = CrosscoderBuffers(B: 1, S: 2, d: 2, F: 1)
        let st = x.withUnsafeBufferPointer {
            cc.forwardBackward($0.baseAddress!, B: 1, lambda: 0.5, buf, gradients: false)
        }
        // f = 0.5*2 + 0.5*4 = 3; x_hat = (3, 0 | 0, 6); errors 1 + 1 and 9 + 4; norms 1 and 2 -> penalty 3 * 3
        XCTAssertEqual(buf.codes[0], 3)
        XCTAssertEqual(st.sse, [2, 13])
        XCTAssertEqual(st.reconstruction, 15)
        XCTAssertEqual(st.sparsity, 9)
        XCTAssertEqual(st.loss, 19.5)
        XCTAssertEqual(st.l0, 1)
    }

    func testGradientsByFiniteDifferences() {
        let S = 2, d = 3, F = 4, B = 3
        let cc = Crosscoder(snapshots: S, dim: d, features: F)
        var rng = Rng(seed: 21)
        for i in 0..<cc.params.count { cc.params[i] = Float(rng.normal()) * 0.5 }
        for i in 0..<F { cc.params[cc.bEnc + i] = 0.8 }  // most codes active, away from the ReLU's kink
        let x = (0..<(B * S * d)).map { _ in Float(rng.normal()) }
        let buf = CrosscoderBuffers(B: B, S: S, d: d, F: F)
        let lambda: Float = 0.3
        func loss() -> Double {
            x.withUnsafeBufferPointer {
                cc.forwardBackward($0.baseAddress!, B: B, lambda: lambda, buf, gradients: false).loss
            }
        }
        _ = x.withUnsafeBufferPointer {
            cc.forwardBackward($0.baseAddress!, B: B, lambda: lambda, buf, gradients: true)
        }
        let analytic = cc.grads.array
        var worst = 0.0
        for i in 0..<cc.params.count {
            let keep = cc.params[i], h: Float = 1e-2
            cc.params[i] = keep + h
            let up = loss()
            cc.params[i] = keep - h
            let down = loss()
            cc.params[i] = keep
            let numeric = (up - down) / Double(2 * h)
            let err = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
            worst = max(worst, err)
            XCTAssertLessThan(err, 2e-2, "parameter \(i): numeric \(numeric), analytic \(analytic[i])")
        }
        XCTAssertLessThan(worst, 2e-2)
    }

    func testSparseAndDensePathsAgree() {
        let S = 3, d = 8, F = 40, B = 16
        let cc = Crosscoder(snapshots: S, dim: d, features: F)
        cc.initialize(seed: 3, decoderNorm: 0.5)
        var rng = Rng(seed: 4)
        for i in 0..<F { cc.params[cc.bEnc + i] = Float(rng.normal()) * 0.3 - 0.2 }
        let x = (0..<(B * S * d)).map { _ in Float(rng.normal()) }
        let buf = CrosscoderBuffers(B: B, S: S, d: d, F: F)
        var results: [(Double, [Float])] = []
        for threshold in [0.0, 1.1] {
            cc.sparseBelow = threshold
            let st = x.withUnsafeBufferPointer {
                cc.forwardBackward($0.baseAddress!, B: B, lambda: 0.7, buf, gradients: true)
            }
            results.append((st.loss, cc.grads.array))
        }
        XCTAssertEqual(results[0].0, results[1].0, accuracy: 1e-4 * abs(results[0].0))
        for (a, b) in zip(results[0].1, results[1].1) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(a))) }
        let nonzero = results[0].1[cc.wDec..<cc.bDec].filter { $0 != 0 }.count
        XCTAssertGreaterThan(nonzero, 0)
    }

    /// Six unit directions in 16 dimensions; feature k exists from snapshot `born[k]` on (the first one from
    /// the start); each token draws each feature with probability 0.15 and magnitude in [1, 2].
    func plantedStore(_ dir: URL, born: [Int], S: Int, rows: Int) throws -> [[Float]] {
        let d = 16
        var rng = Rng(seed: 77)
        var dirs: [[Float]] = []
        for _ in born {
            var v = (0..<d).map { _ in Float(rng.normal()) }
            let n = v.map { $0 * $0 }.reduce(0, +).squareRoot()
            v = v.map { $0 / n }
            dirs.append(v)
        }
        var codes = [[Float]](repeating: [Float](repeating: 0, count: born.count), count: rows)
        for r in 0..<rows {
            for k in born.indices where rng.uniform() < 0.15 { codes[r][k] = Float(1 + rng.uniform()) }
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var snaps: [StoreSnapshot] = []
        for s in 0..<S {
            var half = [Float16]()
            for r in 0..<rows {
                var x = [Float](repeating: 0, count: d)
                for k in born.indices where s >= born[k] { for j in 0..<d { x[j] += codes[r][k] * dirs[k][j] } }
                for j in 0..<d { half.append(Float16(x[j] + Float(rng.normal()) * 0.01)) }
            }
            let name = "step-\(s).f16"
            try half.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent(name)) }
            snaps.append(StoreSnapshot(step: [0, 10, 100, 1000][s], file: name, scale: 1))
        }
        try Data(count: rows * 4).write(to: dir.appendingPathComponent("tokens.i32"))
        try Data(count: rows * 8).write(to: dir.appendingPathComponent("where.i32"))
        try String(repeating: "-1\t_\t_\n", count: rows).write(
            to: dir.appendingPathComponent("words.tsv"), atomically: true, encoding: .utf8)
        try "planted\n".write(to: dir.appendingPathComponent("sentences.txt"), atomically: true, encoding: .utf8)
        let m = StoreManifest(
            layer: 0, d: d, rows: rows, sentences: 1, snapshots: snaps, checkpoints: "-", text: "planted",
            vocabHash: "-")
        try JSONEncoder().encode(m).write(to: dir.appendingPathComponent("store.json"))
        return dirs
    }

    /// A planted 4-snapshot store in a fresh directory, its reader, and 40-step settings for resume tests.
    func resumeSetup(saveEvery: Int) throws -> (tmp: URL, reader: ActivationReader, cfg: CrosscoderSettings) {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-cc-\(UUID().uuidString)")
        _ = try plantedStore(tmp.appendingPathComponent("store"), born: [0, 1, 2], S: 4, rows: 512)
        var cfg = CrosscoderSettings()
        cfg.features = 12
        cfg.steps = 40
        cfg.batchSize = 64
        cfg.saveEvery = saveEvery
        return (tmp, try ActivationReader(tmp.appendingPathComponent("store")), cfg)
    }

    func testResumedTrainingIsBitIdentical() throws {
        let (tmp, reader, cfg) = try resumeSetup(saveEvery: 1000)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let whole = try CrosscoderTrainer(reader: reader, settings: cfg, out: tmp.appendingPathComponent("a"))
        _ = try whole.train(resume: false, log: { _ in })
        let first = try CrosscoderTrainer(reader: reader, settings: cfg, out: tmp.appendingPathComponent("b"))
        _ = try first.train(resume: false, until: 17, log: { _ in })
        let second = try CrosscoderTrainer(reader: reader, settings: cfg, out: tmp.appendingPathComponent("b"))
        var logs: [String] = []
        _ = try second.train(resume: true, log: { logs.append($0) })
        XCTAssertTrue(logs.contains("crosscode: resuming at step 17 of 40"), "\(logs)")
        XCTAssertEqual(whole.crosscoder.params.array, second.crosscoder.params.array)
    }

    func testResumeSurvivesAnInterruptedSaveAndRefusesOtherSettings() throws {
        let (tmp, reader, cfg) = try resumeSetup(saveEvery: 10)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("cc")
        _ = try CrosscoderTrainer(reader: reader, settings: cfg, out: out).train(
            resume: false, until: 17, log: { _ in })
        func resumeError(_ c: CrosscoderSettings) -> String {
            do {
                _ = try CrosscoderTrainer(reader: reader, settings: c, out: out).train(resume: true, log: { _ in })
                return "resumed"
            } catch { return "\(error)" }
        }
        var other = cfg
        other.features = 13
        XCTAssertTrue(resumeError(other).contains("features is 13 now but 12 in the saved state"), resumeError(other))
        other = cfg
        other.l1 = 0.7
        XCTAssertTrue(resumeError(other).contains("l1 is 0.7 now but 0.5"), resumeError(other))
        // killed between the save's two renames: the previous save, kept as .save.old, is resumed from and
        // the result is the uninterrupted one
        let state = out.appendingPathComponent("state")
        try FileManager.default.moveItem(
            at: state.appendingPathComponent("save"), to: state.appendingPathComponent(".save.old"))
        try Data("partial".utf8).write(to: state.appendingPathComponent(".save.tmp"))
        var logs: [String] = []
        let resumed = try CrosscoderTrainer(reader: reader, settings: cfg, out: out)
        _ = try resumed.train(resume: true, log: { logs.append($0) })
        XCTAssertTrue(logs.contains("crosscode: resuming at step 17 of 40"), "\(logs)")
        let whole = try CrosscoderTrainer(reader: reader, settings: cfg, out: tmp.appendingPathComponent("whole"))
        _ = try whole.train(resume: false, log: { _ in })
        XCTAssertEqual(resumed.crosscoder.params.array, whole.crosscoder.params.array)
        XCTAssertFalse(FileManager.default.fileExists(atPath: state.appendingPathComponent(".save.tmp").path))
        // a damaged save is refused with the reason, never silently retrained over
        let adam = state.appendingPathComponent("save/adam.safetensors")
        try Data(try Data(contentsOf: adam).prefix(100)).write(to: adam)
        XCTAssertTrue(resumeError(cfg).contains("is damaged"), resumeError(cfg))
    }

    func testRecoversPlantedFeaturesAndTheirEmergence() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-cc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let born = [0, 1, 1, 2, 3, 3]
        let dirs = try plantedStore(tmp.appendingPathComponent("store"), born: born, S: 4, rows: 4096)
        let reader = try ActivationReader(tmp.appendingPathComponent("store"))
        var cfg = CrosscoderSettings()
        cfg.features = 24
        cfg.steps = 3000
        cfg.batchSize = 256
        cfg.lr = 3e-3
        cfg.l1 = 0.05
        let trainer = try CrosscoderTrainer(reader: reader, settings: cfg, out: tmp.appendingPathComponent("cc"))
        let result = try trainer.train(resume: false, log: { _ in })
        XCTAssertGreaterThan(result.explainedVariance.min()!, 0.8, "\(result.explainedVariance)")
        let analysis = FeatureAnalysis.strengths(trainer.crosscoder, steps: reader.manifest.snapshots.map(\.step))
        // a planted direction is present at snapshot s when some learned feature's decoder at s points along it
        // (cosine > 0.9) and is there at least at half that feature's peak strength; its first such snapshot
        // must be the one it was planted at (a feature may be split across snapshots: the decoder-norm penalty
        // is indifferent to that)
        let cc = trainer.crosscoder
        for (k, v) in dirs.enumerated() {
            let present = (0..<4).map { s -> Bool in
                (0..<cc.F).contains { i in
                    let row = cc.params.pointer + cc.wDec + i * cc.Sd + s * cc.d
                    var dot: Float = 0
                    for j in 0..<cc.d { dot += row[j] * v[j] }
                    let n = analysis[i].norms[s]
                    return n > 0 && dot / n > 0.9 && n >= 0.5 * analysis[i].norms.max()!
                }
            }
            XCTAssertEqual(present.firstIndex(of: true), born[k], "planted feature \(k): \(present)")
            XCTAssertEqual(present[born[k]...].allSatisfy { $0 }, true, "planted feature \(k): \(present)")
        }
    }
}

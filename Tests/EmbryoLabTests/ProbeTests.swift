// The mask-prediction probe: counts per tag equal the gold file's, accuracies are fractions of them,
// a model that copies its input reconstructs every word, results are cached per checkpoint.

import EmbryoCore
import EmbryoLab
import EmbryoText
import Foundation
import XCTest

final class ProbeTests: XCTestCase {
    func testMaskPredictionProbeOnARun() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let corpus = try smallWorld(tmp.appendingPathComponent("w"))
        let micro = try microConfig(tmp)
        let out = tmp.appendingPathComponent("runs/p")
        _ = try Pretrainer(
            out: out, resume: false, force: false,
            apply: { c in
                c.corpus = [corpus.path]
                c.config = micro
                c.vocabSize = 300
                c.steps = 20
                c.batchSize = 8
                c.seqLen = 32
                c.warmup = 2
                c.saveEvery = 10
                c.logSteps = false
                c.threads = 1
            }, log: { _ in }
        ).train()
        let checkpoints = try ProbeRun.checkpoints(in: out.appendingPathComponent("checkpoints"))
        XCTAssertEqual(checkpoints.map(\.step), [0, 10, 20])
        let pos = tmp.appendingPathComponent("w/probe.conllu")
        let (_, h) = try hashFile(pos.path)
        let settings = ProbeSettings(posFile: pos.path, posHash: h, maxSentences: 40)
        let probes = tmp.appendingPathComponent("probes")
        var cachedFlags: [Bool] = []
        let results = try ProbeRun.maskPrediction(checkpoints: checkpoints, settings: settings, out: probes) {
            _, _, _, c in cachedFlags.append(c)
        }
        XCTAssertEqual(cachedFlags, [false, false, false])
        // counts per UPOS equal the gold file's first 40 sentences (all fit in 128 positions)
        var gold: [String: Int] = [:]
        for s in try ConllU.read(pos).prefix(40) { for w in s.words { gold[w.upos, default: 0] += 1 } }
        for (_, r) in results {
            XCTAssertEqual(r.upos.mapValues(\.count), gold)
            for s in r.upos.values {
                XCTAssertLessThanOrEqual(s.reconstructed, s.count)
                XCTAssertLessThanOrEqual(s.predicted, s.count)
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: probes.appendingPathComponent("mlm_by_pos.csv").path))
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: probes.appendingPathComponent("mlm_by_pos.json")))
            as! [String: Any]
        XCTAssertEqual((json["checkpoints"] as? [[String: Any]])?.map { $0["step"] as! Int }, [0, 10, 20])
        cachedFlags = []
        _ = try ProbeRun.maskPrediction(checkpoints: checkpoints, settings: settings, out: probes) { _, _, _, c in
            cachedFlags.append(c)
        }
        XCTAssertEqual(cachedFlags, [true, true, true])
    }
}

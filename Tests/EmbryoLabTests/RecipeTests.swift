// The recipe's knobs and the measures of the plateau escape: the escape and steepest-descent steps on
// hand-made curves, the held-out unigram cross-entropy against the evaluation batches, --save-steps
// parsing and the schedule it gives, decoupled initialisation and data seeds, the training mask rate (the
// held-out masking stays at 15%), the warmup's starting rate, the embeddings' learning-rate multiplier, and
// the rank statistics behind compare's escape table.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class RecipeTests: ScratchDirectoryTestCase {
    func testTheDefaultMaskRateIsRecordedAndOlderRunsKeepTheirs() throws {
        XCTAssertEqual(PretrainConfig().maskRate, 0.4)
        let enc = JSONEncoder()
        var o = try JSONSerialization.jsonObject(with: enc.encode(PretrainConfig())) as! [String: Any]
        XCTAssertEqual(o["mask_rate"] as? Double, 0.4)
        // a run.json written before the option had no mask_rate: it trained with 15%, and still reads so
        o.removeValue(forKey: "mask_rate")
        let old = try JSONDecoder().decode(PretrainConfig.self, from: JSONSerialization.data(withJSONObject: o))
        XCTAssertNil(old.maskRate)
    }

    func testEscapeStepOnHandMadeCurves() {
        let u = 5.8
        // never 1 nat below the unigram loss: no escape; steepest descent where the drop per step is largest
        let flat = EscapeSummary.analyse([(100, 5.6), (200, 5.4), (300, 5.35), (400, 5.0)], unigram: u)
        XCTAssertNil(flat.escapeStep)
        XCTAssertEqual(flat.steepestDescentStep, 400)
        XCTAssertEqual(flat.escapeText, "none by 400")
        // escaped at the first evaluation (exactly at the margin counts)
        let early = EscapeSummary.analyse([(50, 4.8), (100, 4.5), (150, 4.4)], unigram: u)
        XCTAssertEqual(early.escapeStep, 50)
        XCTAssertEqual(early.steepestDescentStep, 100)
        // a bump: the loss rises, then breaks through; order of the points does not matter, and the
        // steepest descent is per step (a 0.4 drop over 100 steps beats 0.5 over 500)
        let bump = EscapeSummary.analyse(
            [(1000, 5.5), (200, 5.3), (700, 5.2), (1100, 4.7), (1200, 4.6), (100, 5.6)], unigram: u)
        XCTAssertEqual(bump.escapeStep, 1100)
        XCTAssertEqual(bump.steepestDescentStep, 1100)
        XCTAssertEqual(bump.lastStep, 1200)
        // a rising curve has no descent
        XCTAssertNil(EscapeSummary.analyse([(1, 5), (2, 6)], unigram: u).steepestDescentStep)
        let ms = bump.metrics(at: 1200)
        XCTAssertEqual(ms.map(\.key), ["unigram", "escape_step", "steepest_descent_step"])
        XCTAssertEqual(ms.map(\.value), [5.8, 1100, 1100])
        XCTAssertEqual(flat.metrics(at: 400).map(\.key), ["unigram", "steepest_descent_step"])
    }

    func testSaveStepsParsingAndSchedule() throws {
        XCTAssertEqual(try PretrainConfig.parseSteps("1500-1700:50,3000"), [1500, 1550, 1600, 1650, 1700, 3000])
        XCTAssertEqual(try PretrainConfig.parseSteps("7"), [7])
        XCTAssertEqual(try PretrainConfig.parseSteps("3-5,4"), [3, 4, 5])
        XCTAssertEqual(try PretrainConfig.parseSteps("10-25:10"), [10, 20])
        for bad in ["", "a", "5-3", "1-2:0", "1:5", "1-2-3", "1-2:x", "-4", "1,,2", "1-2:3:4"] {
            XCTAssertThrowsError(try PretrainConfig.parseSteps(bad), bad) { e in
                XCTAssertTrue("\(e)".contains("--save-steps"), "\(e)")
            }
        }
        var c = PretrainConfig()
        c.steps = 1000
        c.saveEvery = 400
        c.logSteps = false
        c.saveSteps = "500-700:100,950"
        XCTAssertEqual(c.checkpointSteps(), [0, 400, 500, 600, 700, 800, 950, 1000])
        XCTAssertNoThrow(try c.validate())
        c.saveSteps = "900-1100:100"
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("past the last step"), "\($0)") }
    }

    func microRun(_ name: String, initSeed: Int?, dataSeed: Int?, steps: Int = 1) throws -> URL {
        let corpus = try smallWorld(tmp.appendingPathComponent("w"))
        let micro = try microConfig(tmp)
        let out = tmp.appendingPathComponent(name)
        _ = try Pretrainer(
            out: out, resume: false, force: false,
            apply: { c in
                c.corpus = [corpus.path]
                c.config = micro
                c.vocabSize = 300
                c.steps = steps
                c.warmup = 0
                c.batchSize = 4
                c.seqLen = 32
                c.saveEvery = 10
                c.evalEvery = 10
                c.threads = 1
                c.seed = 1
                c.initSeed = initSeed
                c.dataSeed = dataSeed
            }, log: { _ in }
        ).train()
        return out
    }

    func weights(_ run: URL, _ step: Int) throws -> Data {
        try Data(contentsOf: Run(run).checkpoint(step).appendingPathComponent("model.safetensors"))
    }

    func batch(_ run: URL, step: Int) throws -> [Int32] {
        let r = Run(run)
        let maker = try XCTUnwrap(try r.exampleMaker(try r.manifest()))
        let b = AlbertBatch(B: 4, T: 32)
        maker.fill(b, step: step)
        return b.ids.array + b.mlmLabels.array
    }

    func testDecoupledSeeds() throws {
        let a = try microRun("a", initSeed: 3, dataSeed: 4)
        let sameInit = try microRun("b", initSeed: 3, dataSeed: 5)
        let sameData = try microRun("c", initSeed: 6, dataSeed: 4)
        let plain = try microRun("d", initSeed: nil, dataSeed: nil)
        // same init seed: the same step-0 weights; different data seeds: different first batches
        XCTAssertEqual(try weights(a, 0), try weights(sameInit, 0))
        XCTAssertNotEqual(try batch(a, step: 1), try batch(sameInit, step: 1))
        XCTAssertNotEqual(try weights(a, 1), try weights(sameInit, 1))
        // and the reverse
        XCTAssertNotEqual(try weights(a, 0), try weights(sameData, 0))
        XCTAssertEqual(try batch(a, step: 1), try batch(sameData, step: 1))
        // unset, both follow --seed (1): neither matches a run whose seeds are 3 and 4
        XCTAssertNotEqual(try weights(plain, 0), try weights(a, 0))
        let m = try Run(sameData).manifest().config
        XCTAssertEqual([m.effectiveInitSeed, m.effectiveDataSeed, m.seed], [6, 4, 1])
    }

    func testMaskRateTrainsAtItsRateAndEvaluatesAt15Percent() throws {
        let text = try smallWorld(tmp.appendingPathComponent("world"))
        let trainer = VocabTrainer(lowercase: true)
        let sources = try TokenizedCorpus.describe([text.path])
        try TokenizedCorpus.forEachSentence(sources) { if let t = $0 { trainer.add(t) } }
        let tok = WordPieceTokenizer(vocab: try Vocabulary(tokens: trainer.train(size: 2000)), lowercase: true)
        let corpus = try TokenizedCorpus.build(sources, tokenizer: tok)
        let m = try ExampleMaker(corpus: corpus, vocab: tok.vocab, seqLen: 64, seed: 5, maskRate: 0.4)
        XCTAssertEqual(m.maxPredictions, 26)
        func share(eval: Bool) -> Double {
            let b = AlbertBatch(B: 32, T: 64)
            var targets = 0, tokens = 0
            for step in 0..<4 {
                m.fill(b, step: step, eval: eval)
                for i in 0..<(32 * 64) where b.attentionMask[i] != 0 {
                    tokens += 1
                    if b.mlmLabels[i] >= 0 { targets += 1 }
                }
            }
            return Double(targets) / Double(tokens)
        }
        // whole words cap the share a little below the rate ([CLS] and [SEP] are never masked)
        XCTAssertEqual(share(eval: false), 0.38, accuracy: 0.03)
        XCTAssertEqual(share(eval: true), 0.145, accuracy: 0.015)
    }

    func testHeldOutUnigramLossScoresTheEvaluationTargetsByFrequency() throws {
        let run = try microRun("u", initSeed: nil, dataSeed: nil, steps: 10)
        let r = Run(run)
        let cfg = try r.manifest().config
        let maker = try XCTUnwrap(try r.exampleMaker(try r.manifest()))
        let logp = maker.trainingLogProbabilities()
        XCTAssertEqual(logp.map(exp).reduce(0, +), 1, accuracy: 1e-9)
        // the same quantity from the batches the evaluation fills
        let b = AlbertBatch(B: cfg.batchSize, T: cfg.seqLen)
        var sum = 0.0, n = 0
        for k in 0..<cfg.evalBatches {
            maker.fill(b, step: k, eval: true)
            for l in b.mlmLabels.array where l >= 0 {
                sum -= logp[Int(l)]
                n += 1
            }
        }
        let u = maker.heldOutUnigramLoss(batches: cfg.evalBatches, batchSize: cfg.batchSize)
        XCTAssertEqual(u, sum / Double(n), accuracy: 1e-12)
        // logged with the evaluation, and read back by the escape summary
        let e = try XCTUnwrap(try EscapeSummary.of(r))
        XCTAssertEqual(e.unigram, u, accuracy: 1e-9)
        XCTAssertEqual(e.lastStep, 10)
    }

    func testWarmupStartAndEmbeddingLearningRate() throws {
        let s = LinearSchedule(peak: 2, warmup: 10, total: 100, start: 0.25)
        XCTAssertEqual(s.lr(step: 0), 0.5)
        XCTAssertEqual(s.lr(step: 10), 2)
        XCTAssertEqual(s.lr(step: 5), 1.25, accuracy: 1e-6)
        XCTAssertEqual(s.lr(step: 100), 2 / 90, accuracy: 1e-6)
        XCTAssertEqual(LinearSchedule(peak: 2, warmup: 10, total: 100).lr(step: 3), 0.6, accuracy: 1e-7)

        // one LAMB step with the embeddings' rate 10x: their update is 10x, every other tensor's unchanged
        let config = AlbertConfig(
            vocabSize: 50, embeddingSize: 8, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2,
            intermediateSize: 32, maxPositionEmbeddings: 16)
        func update(scale: Float) throws -> [String: Double] {
            let model = try Albert(config: config)
            model.initializeWeights(seed: 2)
            let before = model.params.array
            var rng = Rng(seed: 9)
            rng.fillNormal(model.grads.pointer, count: model.grads.count, std: 1)
            let opt = Optimizer(kind: .lamb, layout: model.layout)
            for t in model.layout.tensors where t.part == .embeddings { opt.lrScale[t.name] = scale }
            opt.step(params: model.params, grads: model.grads, lr: 0.01)
            var out: [String: Double] = [:]
            for t in model.layout.tensors {
                var d = 0.0
                for i in t.offset..<(t.offset + t.count) { d += abs(Double(model.params[i]) - Double(before[i])) }
                out[t.name] = d
            }
            return out
        }
        let one = try update(scale: 1), ten = try update(scale: 10)
        let model = try Albert(config: config)
        var embeddings = 0
        for t in model.layout.tensors where one[t.name]! > 0 {
            let ratio = ten[t.name]! / one[t.name]!
            if t.part == .embeddings {
                embeddings += 1
                XCTAssertEqual(ratio, 10, accuracy: 1e-3, t.name)
            } else {
                XCTAssertEqual(ratio, 1, accuracy: 1e-9, t.name)
            }
        }
        XCTAssertGreaterThanOrEqual(embeddings, 3)
    }

    func testAttentionNudgeSchedule() throws {
        var c = PretrainConfig()
        XCTAssertEqual(c.attentionNudge(at: 1), 0)
        c.attentionNudge = 4
        c.attentionNudgeSteps = 4
        XCTAssertEqual((1...6).map { c.attentionNudge(at: $0) }, [4, 3, 2, 1, 0, 0])
        XCTAssertNoThrow(try c.validate())
        c.attentionNudgeSteps = nil
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("go together"), "\($0)") }
    }

    func testRankStatisticsWithRunsThatNeverEscape() {
        let inf = Double.infinity
        XCTAssertEqual(SeedStatistics.median([1, 2, 3, 4]), 2.5)
        XCTAssertEqual(SeedStatistics.interpolatedQuantile([1, 2, 3, 4, 5], 0.25), 2)
        XCTAssertEqual(SeedStatistics.interpolatedQuantile([400, 600, inf, inf], 0.5), inf)
        XCTAssertEqual(SeedStatistics.interpolatedQuantile([400, 600, 800, inf, inf], 0.5), 800)
        XCTAssertEqual(SeedStatistics.interpolatedQuantile([400, 600, 800, inf], 0.75), inf)
        XCTAssertTrue(SeedStatistics.median([]).isNaN)
        XCTAssertEqual(TaskMetrics.ranks([30, 10, inf, 10, inf]), [3, 1.5, 4.5, 1.5, 4.5])
        let ci = SeedStatistics.bootstrapMedian([7, 7, 7])
        XCTAssertEqual([ci.low, ci.high], [7, 7])
        // every escape of one group before every escape (or none) of the other: the smallest exact p of 5 vs 5
        let a = [300.0, 400, 400, 500, 600], b = [900.0, 1000, inf, inf, inf]
        let r = TaskMetrics.ranks(a + b)
        let p = SeedStatistics.permutationTest(Array(r[..<5]), Array(r[5...]))
        XCTAssertEqual(p.p, 2.0 / 252, accuracy: 1e-12)
        XCTAssertTrue(p.exact)
    }

    func testSuiteVaryHoldsTheOtherSeed() throws {
        var r = PretrainConfig()
        r.seed = 3
        let initOnly = try SuiteManifest.recipe(r, vary: "init")
        XCTAssertEqual([initOnly.dataSeed, initOnly.initSeed], [3, nil])
        let dataOnly = try SuiteManifest.recipe(r, vary: "data")
        XCTAssertEqual([dataOnly.dataSeed, dataOnly.initSeed], [nil, 3])
        // a member's --seed then moves only the varied seed
        var member = initOnly
        member.seed = 8
        XCTAssertEqual([member.effectiveInitSeed, member.effectiveDataSeed], [8, 3])
        r.dataSeed = 5
        XCTAssertEqual(try SuiteManifest.recipe(r, vary: "init").dataSeed, 5)
        XCTAssertThrowsError(try SuiteManifest.recipe(r, vary: "data"))
        XCTAssertThrowsError(try SuiteManifest.recipe(r, vary: "both"))
    }

    func testSeedVarianceSplitsAFactorialSpread() {
        // 3 init seeds x 2 data seeds; value = init effect + data effect (no interaction)
        let initEffect = [1: 0.0, 2: 2.0, 3: 4.0], dataEffect = [1: 0.0, 2: 1.0]
        var seeds: [(Int, Int)] = [], values: [Double] = []
        for i in 1...3 {
            for d in 1...2 {
                seeds.append((i, d))
                values.append(initEffect[i]! + dataEffect[d]!)
            }
        }
        let v = SeedVariance.analyse(group: "g", metric: "m", seeds: seeds, values: values)
        XCTAssertEqual(v.design, "factorial")
        // SS: init 2 x (4 + 0 + 4) = 16, data 3 x (0.25 + 0.25) = 1.5, total 17.5
        XCTAssertEqual(v.initShare!, 16 / 17.5, accuracy: 1e-12)
        XCTAssertEqual(v.dataShare!, 1.5 / 17.5, accuracy: 1e-12)
        XCTAssertEqual(v.residualShare!, 0, accuracy: 1e-12)
        // pure interaction: every share in the rest
        let x = SeedVariance.analyse(
            group: "g", metric: "m", seeds: [(1, 1), (1, 2), (2, 1), (2, 2)], values: [1, -1, -1, 1])
        XCTAssertEqual([x.initShare!, x.dataShare!, x.residualShare!], [0, 0, 1])
        // other designs are named, not decomposed
        XCTAssertEqual(
            SeedVariance.analyse(group: "g", metric: "m", seeds: [(1, 1), (2, 1)], values: [1, 2]).design, "init")
        XCTAssertEqual(
            SeedVariance.analyse(group: "g", metric: "m", seeds: [(1, 1), (1, 2)], values: [1, 2]).design, "data")
        let both = SeedVariance.analyse(group: "g", metric: "m", seeds: [(1, 1), (2, 2), (3, 3)], values: [1, 2, 4])
        XCTAssertEqual(both.design, "both")
        XCTAssertNil(both.initShare)
    }
}

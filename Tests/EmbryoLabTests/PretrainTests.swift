// Pretraining: example construction statistics (15% masked, 80/10/10, n-gram lengths, SOP balance),
// the checkpoint schedule, a short run whose loss falls, token caching, resume bit-identity after an
// interruption, and the errors a user can run into.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

/// A small built-in world's training text.
func smallWorld(_ dir: URL, tokens: Int = 40_000) throws -> URL {
    var sizes = WorldSizes()
    sizes.tokens = tokens
    sizes.taskTrain = 10
    sizes.taskEval = 10
    sizes.probeSentences = 50
    _ = try World(seed: 3, sizes: sizes).write(to: dir)
    return dir.appendingPathComponent("train.txt")
}

final class PretrainTests: ScratchDirectoryTestCase {
    func testUnigramOutputBiasIsTheTrainingTokensLogFrequency() throws {
        let (m, tok) = try maker()
        let prior = m.trainingLogUnigram()
        XCTAssertEqual(prior.count, tok.vocab.count)
        // counted by hand over the training sentences only (held-out documents excluded), add-one smoothed
        var counts = [Double](repeating: 1, count: tok.vocab.count)
        let held = Set(m.evalStarts)
        XCTAssertFalse(held.isEmpty)
        for s in 0..<m.corpus.sentenceCount where !held.contains(Int32(s)) {
            for t in m.corpus.sentence(s) { counts[Int(t)] += 1 }
        }
        let total = counts.reduce(0, +)
        // softmax of the prior is the smoothed distribution; the prior is centred
        let z = prior.map { exp(Double($0)) }.reduce(0, +)
        for v in [0, tok.vocab.clsId, tok.vocab.id(".") ?? 5, Int32(tok.vocab.count - 1)].map(Int.init) {
            XCTAssertEqual(exp(Double(prior[v])) / z, counts[v] / total, accuracy: 1e-6 * max(1, counts[v] / total))
        }
        XCTAssertEqual(prior.map(Double.init).reduce(0, +) / Double(prior.count), 0, accuracy: 1e-4)
        // a model given the prior predicts word frequency at step 0
        let model = try Albert(config: AlbertConfig.preset("tiny", vocabSize: tok.vocab.count)!)
        model.initializeWeights(seed: 1)
        model.setOutputBias(logPrior: prior)
        let bias = model.parameter("predictions.bias")!
        XCTAssertEqual((0..<prior.count).map { bias[$0] }, prior)
    }

    func testMaskingAndSOPStatistics() throws {
        let (m, tok) = try maker()
        var predicted = 0, eligible = 0, masked = 0, random = 0, kept = 0, swapped = 0
        var ngrams = [0, 0, 0, 0], drawn = [0, 0, 0, 0]
        var rng = Rng(seed: 1)
        let n = 3000
        for _ in 0..<n {
            let ex = m.example(&rng)
            XCTAssertEqual(ex.ids.first, tok.vocab.clsId)
            XCTAssertEqual(ex.ids.filter { $0 == tok.vocab.sepId }.count, 2)
            XCTAssertLessThanOrEqual(ex.ids.count, 64)
            let labelled = ex.labels.filter { $0 >= 0 }.count
            XCTAssertLessThanOrEqual(labelled, m.maxPredictions)
            XCTAssertEqual(labelled, ex.masked + ex.randomized + ex.kept)
            for (i, l) in ex.labels.enumerated() where l >= 0 {
                XCTAssertNotEqual(l, tok.vocab.clsId)
                XCTAssertNotEqual(l, tok.vocab.sepId)
                if ex.ids[i] != tok.vocab.maskId && ex.ids[i] != l { XCTAssertGreaterThan(ex.ids[i], 4) }
            }
            // token types: 0 through the first [SEP], 1 after
            let firstSep = ex.ids.firstIndex(of: tok.vocab.sepId)!
            XCTAssertEqual(
                ex.tokenTypes,
                Array(repeating: 0, count: firstSep + 1) + Array(repeating: 1, count: ex.ids.count - firstSep - 1))
            predicted += labelled
            eligible += ex.ids.count
            masked += ex.masked
            random += ex.randomized
            kept += ex.kept
            swapped += Int(ex.sopLabel)
            for g in ex.ngrams { ngrams[g] += 1 }
            for g in ex.ngramsDrawn { drawn[g] += 1 }
        }
        let rate = Double(predicted) / Double(eligible)
        XCTAssertEqual(rate, 0.15, accuracy: 0.01, "share of positions predicted")
        XCTAssertEqual(Double(masked) / Double(predicted), 0.8, accuracy: 0.02)
        XCTAssertEqual(Double(random) / Double(predicted), 0.1, accuracy: 0.015)
        XCTAssertEqual(Double(kept) / Double(predicted), 0.1, accuracy: 0.015)
        XCTAssertEqual(Double(swapped) / Double(n), 0.5, accuracy: 0.03, "SOP balance")
        // n is drawn with P(n) ~ 1/n (6/11, 3/11, 2/11); fitting the per-sequence budget then shortens some
        let total = Double(drawn.reduce(0, +))
        XCTAssertEqual(Double(drawn[1]) / total, 6.0 / 11.0, accuracy: 0.03)
        XCTAssertEqual(Double(drawn[2]) / total, 3.0 / 11.0, accuracy: 0.03)
        XCTAssertEqual(Double(drawn[3]) / total, 2.0 / 11.0, accuracy: 0.03)
        XCTAssertTrue(ngrams[1] > ngrams[2] && ngrams[2] > ngrams[3] && ngrams[3] > 0, "\(ngrams)")
        // whole words: a continuation piece is never predicted without the piece before it
        var r2 = Rng(seed: 2)
        for _ in 0..<300 {
            let ex = m.example(&r2)
            for i in 1..<ex.ids.count where ex.labels[i] >= 0 {
                let original = ex.labels[i]
                // (a segment may begin inside a word after truncation: [CLS]/[SEP] then precede the piece)
                let before = ex.ids[i - 1]
                if Vocabulary.isContinuation(tok.vocab.token(original)) && before != tok.vocab.clsId
                    && before != tok.vocab.sepId
                {
                    XCTAssertGreaterThanOrEqual(ex.labels[i - 1], 0, "\(i) \(ex.ids.map { tok.vocab.token($0) })")
                }
            }
        }
        // batches are a function of (seed, step)
        let b1 = AlbertBatch(B: 4, T: 64), b2 = AlbertBatch(B: 4, T: 64)
        m.fill(b1, step: 7)
        m.fill(b2, step: 7)
        XCTAssertEqual(b1.ids.array, b2.ids.array)
        XCTAssertEqual(b1.mlmLabels.array, b2.mlmLabels.array)
        m.fill(b2, step: 8)
        XCTAssertNotEqual(b1.ids.array, b2.ids.array)
    }

    func testCheckpointSchedule() {
        var c = PretrainConfig()
        c.steps = 1000
        c.saveEvery = 200
        XCTAssertEqual(c.checkpointSteps(), [0, 1, 2, 4, 8, 16, 32, 64, 128, 200, 400, 600, 800, 1000])
        c.logSteps = false
        c.steps = 1050
        XCTAssertEqual(c.checkpointSteps(), [0, 200, 400, 600, 800, 1000, 1050])
    }

    func config(_ corpus: URL, steps: Int) throws -> (inout PretrainConfig) -> Void {
        let micro = try microConfig(tmp)
        return { c in
            c.corpus = [corpus.path]
            c.config = micro
            c.vocabSize = 300
            c.steps = steps
            c.batchSize = 8
            c.seqLen = 32
            c.lr = 5e-3
            c.warmup = min(5, steps)
            c.saveEvery = 10
            c.evalEvery = 10
            c.logEvery = 1
            c.threads = 2
        }
    }

    func logLines(_ run: URL) throws -> [[String: Any]] {
        try textLines(String(contentsOf: run.appendingPathComponent("train_log.jsonl"), encoding: .utf8)).filter {
            !$0.isEmpty
        }
        .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testLayersOverrideTheConfigsDepth() throws {
        let corpus = try smallWorld(tmp.appendingPathComponent("w"))
        let out = tmp.appendingPathComponent("runs/l")
        let apply = try config(corpus, steps: 2)
        _ = try Pretrainer(
            out: out, resume: false, force: false,
            apply: {
                apply(&$0)
                $0.layers = 1
            }, log: { _ in }
        ).train()
        let cfg = try AlbertConfig.load(out.appendingPathComponent("checkpoints/step-000002/config.json"))
        XCTAssertEqual(cfg.numHiddenLayers, 1)
        // --force replaces the run and what was measured on it, nothing beside it
        let fm = FileManager.default
        for name in [
            "probes/cache", "finetune/task", "reinit/sweep", "activations/layer1", "crosscoder/layer1", "notes",
        ] {
            try fm.createDirectory(at: out.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        _ = try Pretrainer(
            out: out, resume: false, force: true,
            apply: {
                apply(&$0)
                $0.layers = 2
            }, log: { _ in }
        ).train()
        let left = try fm.contentsOfDirectory(atPath: out.path).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertEqual(left, ["checkpoints", "notes", "run.json", "state", "tokenizer", "train_log.jsonl"])
        let cfg2 = try AlbertConfig.load(out.appendingPathComponent("checkpoints/step-000002/config.json"))
        XCTAssertEqual(cfg2.numHiddenLayers, 2)
        XCTAssertThrowsError(
            try Pretrainer(
                out: tmp.appendingPathComponent("runs/bad"), resume: false, force: false, apply: { $0.layers = 0 },
                log: { _ in }))
    }

    func testShortRunLearnsAndWritesLoadableCheckpoints() throws {
        let corpus = try smallWorld(tmp.appendingPathComponent("w"))
        let out = tmp.appendingPathComponent("runs/a")
        // from HF's zero output bias, so the loss starts at ln(vocab) and the drop measures learning
        let apply = try config(corpus, steps: 60)
        let t = try Pretrainer(
            out: out, resume: false, force: false,
            apply: {
                apply(&$0)
                $0.outputBias = .zero
            }, log: { _ in })
        let r = try t.train()
        XCTAssertFalse(r.interrupted)
        let losses = try logLines(out).compactMap { $0["loss"] as? Double }
        XCTAssertEqual(losses.count, 60)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, first - 0.3, "loss \(first) -> \(last)")
        let dirs = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("checkpoints").path)
            .sorted()
        XCTAssertEqual(
            dirs,
            [
                "step-000000", "step-000001", "step-000002", "step-000004", "step-000008", "step-000010",
                "step-000020", "step-000030", "step-000040", "step-000050", "step-000060",
            ])
        for d in dirs {
            let ck = out.appendingPathComponent("checkpoints/\(d)")
            let model = try Albert.load(from: ck)
            XCTAssertEqual(model.config.hiddenSize, 32)
            let tok = try WordPieceTokenizer.load(vocab: ck.appendingPathComponent("vocab.txt"))
            XCTAssertEqual(tok.vocab.count, model.config.vocabSize)
            let st =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: ck.appendingPathComponent("trainer_state.json"))) as! [String: Any]
            XCTAssertEqual(st["step"] as? Int, Int(d.dropFirst(5)))
        }
        let run =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("run.json")))
            as! [String: Any]
        XCTAssertNotNil(run["corpus"])
        XCTAssertEqual((run["machine"] as? [String: Any])?["threads"] as? Int, 2)

        // a second run over the same corpus uses the token cache
        var messages: [String] = []
        let t2 = try Pretrainer(
            out: tmp.appendingPathComponent("runs/b"), resume: false, force: false,
            apply: try config(corpus, steps: 1), log: { messages.append($0) })
        _ = try t2.train()
        XCTAssertTrue(messages.contains { $0.hasPrefix("token cache:") }, "\(messages)")
    }

    func testResumeAfterInterruptionIsBitIdentical() throws {
        let corpus = try smallWorld(tmp.appendingPathComponent("w"))
        let full = tmp.appendingPathComponent("runs/full"), cut = tmp.appendingPathComponent("runs/cut")
        _ = try Pretrainer(out: full, resume: false, force: false, apply: try config(corpus, steps: 30), log: { _ in })
            .train()
        // interrupted at step 13 (as SIGINT would), then resumed
        let r = try Pretrainer(
            out: cut, resume: false, force: false, apply: try config(corpus, steps: 30), log: { _ in }
        ).train { rep in
            if rep.step == 13 { stopRequested = 1 }
        }
        XCTAssertTrue(r.interrupted)
        XCTAssertEqual(r.lastStep, 13)
        stopRequested = 0
        let resumed = try Pretrainer(out: cut, resume: true, force: false, apply: { _ in }, log: { _ in }).train()
        XCTAssertFalse(resumed.interrupted)
        for step in [0, 1, 2, 4, 8, 10, 20, 30] {
            let name = "checkpoints/step-\(String(format: "%06d", step))/model.safetensors"
            XCTAssertEqual(
                try Data(contentsOf: full.appendingPathComponent(name)),
                try Data(contentsOf: cut.appendingPathComponent(name)),
                "step \(step)")
        }
        // the log holds each step once
        let steps = try logLines(cut).filter { $0["loss"] != nil }.map { $0["step"] as! Int }
        XCTAssertEqual(steps, Array(1...30))
    }

    func testUserErrors() throws {
        let corpus = try smallWorld(tmp.appendingPathComponent("w"))
        let out = tmp.appendingPathComponent("runs/e")
        _ = try Pretrainer(out: out, resume: false, force: false, apply: try config(corpus, steps: 2), log: { _ in })
            .train()
        func expect(_ fragment: String, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "message was: \($0)", line: line)
            }
        }
        expect("already holds a run; use --resume to continue it or --force to start over") {
            _ = try Pretrainer(
                out: out, resume: false, force: false, apply: try config(corpus, steps: 2), log: { _ in })
        }
        expect("cannot resume") {
            _ = try Pretrainer(out: out, resume: true, force: false, apply: { $0.batchSize = 4 }, log: { _ in })
        }
        expect("batch_size differs") {
            _ = try Pretrainer(out: out, resume: true, force: false, apply: { $0.batchSize = 4 }, log: { _ in })
        }
        expect("holds no run to resume") {
            _ = try Pretrainer(
                out: tmp.appendingPathComponent("nothing"), resume: true, force: false, apply: { _ in }, log: { _ in })
        }
        func run(_ name: String, _ change: @escaping (inout PretrainConfig) -> Void) throws {
            let base = try config(corpus, steps: 2)
            _ = try Pretrainer(
                out: tmp.appendingPathComponent("runs/\(name)"), resume: false, force: false,
                apply: {
                    base(&$0); change(&$0)
                }, log: { _ in }
            ).train()
        }
        expect("nope.txt: no such file or directory") {
            try run("m") { $0.corpus = [self.tmp.appendingPathComponent("nope.txt").path] }
        }
        let empty = tmp.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        expect("empty.txt: the corpus file is empty") { try run("em") { $0.corpus = [empty.path] } }
        let binary = tmp.appendingPathComponent("binary.txt")
        try Data([0x7F, 0x45, 0x4C, 0x46, 0x00, 0x01, 0x0A]).write(to: binary)
        expect("binary.txt:1: contains NUL bytes") { try run("bin") { $0.corpus = [binary.path] } }
        let small = tmp.appendingPathComponent("small.txt")
        try "tiny text.\n".write(to: small, atomically: true, encoding: .utf8)
        expect("the corpus is too small") { try run("small") { $0.corpus = [small.path] } }
        let badVocab = tmp.appendingPathComponent("vocab.txt")
        try "a\nb\n".write(to: badVocab, atomically: true, encoding: .utf8)
        expect("missing special token(s)") { try run("v") { $0.vocab = badVocab.path } }
        expect("--seq-len 128 exceeds max_position_embeddings 64") { try run("s") { $0.seqLen = 128 } }
        let heads = tmp.appendingPathComponent("heads.json")
        try
            "{\"hidden_size\": 30, \"num_attention_heads\": 4, \"embedding_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 1}"
            .write(to: heads, atomically: true, encoding: .utf8)
        expect("hidden_size 30 is not a multiple of num_attention_heads 4") { try run("h") { $0.config = heads.path } }
    }
}

extension ScratchDirectoryTestCase {
    /// An example maker over a small built-in world with a 600-word vocabulary, in the scratch folder.
    func maker(seqLen: Int = 64) throws -> (ExampleMaker, WordPieceTokenizer) {
        let text = try smallWorld(tmp.appendingPathComponent("world"))
        let trainer = VocabTrainer(lowercase: true)
        let sources = try TokenizedCorpus.describe([text.path])
        try TokenizedCorpus.forEachSentence(sources) { if let t = $0 { trainer.add(t) } }
        // a small vocabulary, so many words are split and whole-word masking has work to do
        let tok = WordPieceTokenizer(vocab: try Vocabulary(tokens: trainer.train(size: 600)), lowercase: true)
        let corpus = try TokenizedCorpus.build(sources, tokenizer: tok)
        return (try ExampleMaker(corpus: corpus, vocab: tok.vocab, seqLen: seqLen, seed: 5), tok)
    }
}

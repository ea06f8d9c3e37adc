// The probes on hand-built models whose right answers are known (a model that copies its input, a model
// that always predicts one token), the subword alignment, the LAMA filtering, the linear-probe recipe and
// its scores, and an end-to-end run: short pretraining on the built-in world, then every probe and the report.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import Foundation
import XCTest

final class ProbeTests: ScratchDirectoryTestCase {
    static let words = ["the", "cat", "dog", "sees", "a", "bird", ".", "alice", "paris", "lives", "in", "walk", "##ed"]

    func tokenizer() throws -> WordPieceTokenizer {
        WordPieceTokenizer(vocab: try Vocabulary(tokens: Vocabulary.specialTokens + ProbeTests.words), lowercase: true)
    }

    /// A model whose MLM head returns its input token: one-hot word embeddings, identity maps, layers that
    /// add nothing (zero attention output and FFN output), LayerNorms with unit gain. With `favour`, the MLM
    /// bias makes that token win everywhere instead.
    func copyModel(vocab: Int, favour: Int32? = nil) throws -> Albert {
        let E = 32
        let c = AlbertConfig(
            vocabSize: vocab, embeddingSize: E, hiddenSize: E, numHiddenLayers: 2, numAttentionHeads: 2,
            intermediateSize: 8, maxPositionEmbeddings: 64)
        let m = try Albert(config: c)
        m.params.pointer.update(repeating: 0, count: m.params.count)
        let word = m.parameter("albert.embeddings.word_embeddings.weight")!
        for v in 0..<vocab { word[v * E + v] = 1 }
        for name in [
            "albert.embeddings.LayerNorm.weight", "predictions.LayerNorm.weight",
            "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm.weight",
            "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight",
        ] {
            let p = m.parameter(name)!
            for i in 0..<E { p[i] = 1 }
        }
        for name in ["albert.encoder.embedding_hidden_mapping_in.weight", "predictions.dense.weight"] {
            let p = m.parameter(name)!
            for i in 0..<E { p[i * E + i] = 1 }
        }
        if let favour { m.parameter("predictions.bias")![Int(favour)] = 100 }
        return m
    }

    func conllu(_ sentences: [[(String, String, Int, String)]]) -> String {
        var s = ""
        for (k, sent) in sentences.enumerated() {
            s += "# sent_id = \(k + 1)\n"
            for (i, w) in sent.enumerated() { s += "\(i + 1)\t\(w.0)\t\(w.0)\t\(w.1)\t_\t_\t\(w.2)\t\(w.3)\t_\t_\n" }
            s += "\n"
        }
        return s
    }

    func probeFile() throws -> URL {
        let url = tmp.appendingPathComponent("p.conllu")
        let s1 = [
            ("The", "DET", 2, "det"), ("cat", "NOUN", 3, "nsubj"), ("walked", "VERB", 0, "root"),
            (".", "PUNCT", 3, "punct"),
        ]
        let s2 = [
            ("Alice", "PROPN", 2, "nsubj"), ("sees", "VERB", 0, "root"), ("a", "DET", 4, "det"),
            ("bird", "NOUN", 2, "obj"),
        ]
        try conllu([s1, s2]).write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testSubwordAlignment() throws {
        let tok = try tokenizer()
        let (s, skipped) = try ProbeSentences.load(try probeFile(), tokenizer: tok, maxLen: 64, limit: nil)
        XCTAssertEqual(skipped, 0)
        XCTAssertEqual(s.count, 2)
        // [CLS] the cat walk ##ed . [SEP]: "walked" covers two subword positions
        XCTAssertEqual(
            s[0].ids.map { tok.vocab.tokens[Int($0)] }, ["[CLS]", "the", "cat", "walk", "##ed", ".", "[SEP]"])
        XCTAssertEqual(s[0].words, [1..<2, 2..<3, 3..<5, 5..<6])
        XCTAssertEqual(s[0].upos, ["DET", "NOUN", "VERB", "PUNCT"])
        XCTAssertEqual(s[0].heads, [2, 3, 0, 3])
        // too long for maxLen: skipped and counted
        XCTAssertEqual(try ProbeSentences.load(try probeFile(), tokenizer: tok, maxLen: 6, limit: nil).skipped, 1)
    }

    func testCopyModelReconstructsEveryWordAndPredictsNoMaskedOne() throws {
        let tok = try tokenizer()
        let (s, _) = try ProbeSentences.load(try probeFile(), tokenizer: tok, maxLen: 64, limit: nil)
        let model = try copyModel(vocab: tok.vocab.count)
        let r = try MaskPredictionProbe.run(model: model, sentences: s, maskId: tok.vocab.maskId)
        XCTAssertEqual(r.words, 8)
        XCTAssertEqual(r.reconstructed, 8)
        XCTAssertEqual(r.predicted, 0)
        XCTAssertEqual(r.upos.mapValues(\.count), ["DET": 2, "NOUN": 2, "VERB": 2, "PUNCT": 1, "PROPN": 1])
        let m = MaskPredictionProbe.metrics(r, step: 7)
        XCTAssertEqual(m.first { $0.key == "reconstruction/upos/NOUN" }?.value, 1)
        XCTAssertEqual(m.first { $0.key == "mask_prediction/all" }?.value, 0)
        // a model that always says "bird" reconstructs exactly the one word "bird", and predicts it masked
        let bird = tok.vocab.ids[ExactString("bird")]!
        let r2 = try MaskPredictionProbe.run(
            model: try copyModel(vocab: tok.vocab.count, favour: bird), sentences: s, maskId: tok.vocab.maskId)
        XCTAssertEqual(r2.reconstructed, 1)
        XCTAssertEqual(r2.predicted, 1)
        XCTAssertEqual(r2.upos["NOUN"]?.reconstructed, 1)
    }

    func testWordFeaturesAreSubwordMeans() throws {
        let tok = try tokenizer()
        let (s, _) = try ProbeSentences.load(try probeFile(), tokenizer: tok, maxLen: 64, limit: nil)
        let model = try copyModel(vocab: tok.vocab.count)
        let f = try LayerProbe.wordFeatures(model: model, sentences: s, layers: [0, 2])
        let H = model.config.hiddenSize
        // reference: encode the first sentence alone
        let ids = s[0].ids
        let batch = AlbertBatch(B: 1, T: ids.count)
        for (t, id) in ids.enumerated() {
            batch.ids[t] = id
            batch.attentionMask[t] = 1
        }
        let acts = Activations(config: model.config, B: 1, T: ids.count, maxPredictions: 0, training: false)
        try model.encode(acts, batch)
        for (li, l) in [0, 2].enumerated() {
            let h = acts.hiddenState(l)
            for j in 0..<H {
                XCTAssertEqual(f[li][2 * H + j], (h[3 * H + j] + h[4 * H + j]) / 2, accuracy: 1e-5)  // "walked"
                XCTAssertEqual(f[li][0 * H + j], h[1 * H + j], accuracy: 1e-5)  // "The"
            }
        }
        // DEPREL rows: dependent then head; the root's head half is zero
        var classes: [String: Int32] = [:]
        let d = LayerProbe.dataset(task: "deprel", sentences: s, features: f[1], H: H, classes: &classes, grow: true)
        XCTAssertEqual(d.dim, 2 * H)
        XCTAssertEqual(d.count, 8)
        XCTAssertEqual(Array(d.x[0..<H]), Array(f[1][0..<H]))  // "The"
        XCTAssertEqual(Array(d.x[H..<(2 * H)]), Array(f[1][H..<(2 * H)]))  // its head "cat"
        XCTAssertEqual(Array(d.x[(2 * 2 * H + H)..<(3 * 2 * H)]), [Float](repeating: 0, count: H))  // root
        XCTAssertEqual(classes.count, 5)  // det nsubj root punct obj
    }

    func testLinearProbeScoresAndRecipe() throws {
        // accuracy and macro-F1 by hand: class 0 F1 0.5, class 1 0.8, class 2 0
        let (acc, f1) = LayerProbe.score(pred: [0, 1, 1, 1, 0], gold: [0, 0, 1, 1, 2])
        XCTAssertEqual(acc, 0.6, accuracy: 1e-12)
        XCTAssertEqual(f1, (0.5 + 0.8 + 0) / 3, accuracy: 1e-12)
        // macro-F1 sums its classes in class order, so the bits are the same on every run (a Set's order is
        // seeded per process): many classes with F1 values whose sum depends on the order
        var rng0 = Rng(seed: 2)
        let gold = (0..<3000).map { _ in Int32(rng0.below(97)) }
        let pred = gold.map { g in rng0.below(3) == 0 ? Int32(rng0.below(97)) : g }
        var tp = [Double](repeating: 0, count: 97), fp = tp, fn = tp
        for (p, g) in zip(pred, gold) {
            if p == g {
                tp[Int(g)] += 1
            } else {
                fp[Int(p)] += 1
                fn[Int(g)] += 1
            }
        }
        var ordered = 0.0
        for c in 0..<97 where tp[c] + fp[c] + fn[c] > 0 { ordered += 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) }
        XCTAssertEqual(LayerProbe.score(pred: pred, gold: gold).macroF1.bitPattern, (ordered / 97).bitPattern)
        // three well-separated Gaussian blobs in 8 dimensions: learnable; the majority class is not
        var rng = Rng(seed: 5)
        func blobs(_ n: Int) -> ProbeDataset {
            var d = ProbeDataset(dim: 8)
            for i in 0..<n {
                let c = i % 5 == 0 ? 2 : i % 2  // class 2 rarer
                for j in 0..<8 { d.x.append(Float(rng.normal()) * 0.5 + (j == c ? 3 : 0)) }
                d.y.append(Int32(c))
            }
            return d
        }
        let train = blobs(600), test = blobs(200)
        let s = LayerProbe.fitAndScore(train: train, test: test, classes: 3, seed: 1)
        XCTAssertGreaterThan(s.accuracy, 0.97)
        XCTAssertGreaterThan(s.macroF1, 0.97)
        XCTAssertEqual(s.testCount, 200)
        XCTAssertEqual(LayerProbe.fitAndScore(train: train, test: test, classes: 3, seed: 1), s)  // deterministic
        let base = LayerProbe.majorityBaseline(train: train, test: test)
        let top = (0..<3).max { c0, c1 in train.y.filter { $0 == c0 }.count < train.y.filter { $0 == c1 }.count }!
        XCTAssertEqual(base.accuracy, Double(test.y.filter { $0 == top }.count) / 200, accuracy: 1e-12)
        // labels that carry no signal: near chance
        var noise = train
        for i in noise.y.indices { noise.y[i] = Int32(rng.below(3)) }
        XCTAssertLessThan(LayerProbe.fitAndScore(train: noise, test: test, classes: 3, seed: 1).accuracy, 0.6)
    }

    func testKnowledgeProbeFilteringAndPAt1() throws {
        let facts = tmp.appendingPathComponent("facts")
        try FileManager.default.createDirectory(at: facts, withIntermediateDirectories: true)
        try """
        {"relation": "r1", "template": "[X] lives in [Y] .", "type": "N-1"}
        {"relation": "r2", "template": "[X] sees [Y] .", "type": "1-1"}

        """.write(to: facts.appendingPathComponent("relations.jsonl"), atomically: true, encoding: .utf8)
        try """
        {"sub_label": "alice", "obj_label": "paris", "count": 0}
        {"sub_label": "the cat", "obj_label": "paris", "count": 3}
        {"sub_label": "a dog", "obj_label": "walked", "count": 3}
        {"sub_label": "a dog", "obj_label": "zebra", "count": 3}

        """.write(to: facts.appendingPathComponent("r1.jsonl"), atomically: true, encoding: .utf8)
        try """
        {"sub_label": "alice", "obj_label": "bird", "count": 50}

        """.write(to: facts.appendingPathComponent("r2.jsonl"), atomically: true, encoding: .utf8)
        let tok = try tokenizer()
        let set = KnowledgeProbe.prepare(try Lama.load(facts.path), tokenizer: tok, maxLen: 64)
        // "walked" is two subwords, "zebra" is [UNK]: both skipped and counted
        XCTAssertEqual(set.multiSubwordObjects, [2, 0])
        XCTAssertEqual(set.items.count, 3)
        XCTAssertEqual(
            set.items[0].ids.map { tok.vocab.tokens[Int($0)] },
            ["[CLS]", "alice", "lives", "in", "[MASK]", ".", "[SEP]"])
        XCTAssertEqual(set.items[0].maskPosition, 4)
        // a model that always says "paris": r1 all right, r2 all wrong
        let paris = tok.vocab.ids[ExactString("paris")]!
        let m = try KnowledgeProbe.run(model: try copyModel(vocab: tok.vocab.count, favour: paris), set: set, step: 3)
        func v(_ k: String) -> Double? { m.first { $0.key == k }?.value }
        XCTAssertEqual(v("p_at_1/relation/r1"), 1)
        XCTAssertEqual(v("p_at_1/relation/r2"), 0)
        XCTAssertEqual(v("p_at_1/mean"), 0.5)
        XCTAssertEqual(v("p_at_1/micro")!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(v("p_at_1/type/N-1"), 1)
        XCTAssertEqual(v("p_at_1/type/1-1"), 0)
        XCTAssertEqual(v("p_at_1/frequency/0"), 1)
        XCTAssertEqual(v("p_at_1/frequency/1-5"), 1)
        XCTAssertEqual(v("p_at_1/frequency/21-100"), 0)
        XCTAssertEqual(v("skipped/relation/r1"), 2)
        XCTAssertEqual(m.first { $0.key == "skipped/relation/r1" }?.count, 4)
        // flat masked_sentences: a sentence without exactly one [MASK] is unusable, not a crash
        let flat = tmp.appendingPathComponent("flat.jsonl")
        try """
        {"sub_label": "alice", "obj_label": "paris", "masked_sentences": ["alice lives in [MASK] ."]}
        {"sub_label": "alice", "obj_label": "paris", "masked_sentences": ["alice lives in paris ."]}

        """.write(to: flat, atomically: true, encoding: .utf8)
        let fset = KnowledgeProbe.prepare(try Lama.load(flat.path), tokenizer: tok, maxLen: 64)
        XCTAssertEqual(fset.items.count, 1)
        XCTAssertEqual(fset.unusable, [1])
    }

    func testParaphrasesSubsetsAndMissingRelations() throws {
        let tok = try tokenizer()
        let facts = [
            LamaFact(subject: "alice", object: "paris", count: nil, maskedSentences: []),
            LamaFact(subject: "the cat", object: "bird", count: nil, maskedSentences: []),
        ]
        let relations = [
            LamaRelation(
                name: "TREx/r1", template: "[X] lives in [Y] .", label: nil, type: nil, facts: facts, subset: "TREx"),
            LamaRelation(
                name: "Squad/test", template: nil, label: nil, type: nil,
                facts: [LamaFact(subject: "", object: "paris", count: nil, maskedSentences: ["a dog sees [MASK] ."])],
                subset: "Squad"),
        ]
        // patterns are matched by the relation's name after its subset
        let patterns = ["r1": ["[X] lives in [Y] .", "[Y] sees [X] .", "in [Y] , [X] walked ."]]
        let set = KnowledgeProbe.prepare(
            relations, patterns: patterns, missing: ["TREx/r9"], tokenizer: tok, maxLen: 64)
        XCTAssertEqual(set.patternCounts, [3, 0])
        XCTAssertEqual(set.items.filter { $0.kind == .paraphrase }.count, 6)
        // a model that always says "paris": every pattern agrees on every fact, and is right for alice only
        let paris = tok.vocab.ids[ExactString("paris")]!
        let m = try KnowledgeProbe.run(model: try copyModel(vocab: tok.vocab.count, favour: paris), set: set, step: 1)
        func v(_ k: String) -> ProbeMetric? { m.first { $0.key == k } }
        for k in 1...3 { XCTAssertEqual(v("paraphrase/p_at_1/relation/TREx/r1/pattern_\(k)")?.value, 0.5) }
        XCTAssertEqual(v("paraphrase/p_at_1/relation/TREx/r1")?.count, 6)
        XCTAssertEqual(v("paraphrase/consistency/relation/TREx/r1")?.value, 1)
        XCTAssertEqual(v("paraphrase/consistency/relation/TREx/r1")?.count, 6, "3 pattern pairs for each of 2 facts")
        XCTAssertNil(v("paraphrase/consistency/relation/Squad/test"))
        XCTAssertEqual(v("p_at_1/subset/TREx")?.value, 0.5)
        XCTAssertEqual(v("p_at_1/subset/Squad")?.value, 1)
        XCTAssertEqual(v("p_at_1/mean")?.value, 0.75)
        XCTAssertEqual(v("missing/relation/TREx/r9")?.value, 1)
        // consistency counts agreeing pairs of top predictions: fact 0 says a, a, b (1 of 3 pairs agree),
        // fact 1 says c, c (1 of 1): 2 of 4 pairs
        var two = KnowledgeSet()
        two.relations = [(name: "r", type: String?.none)]
        two.patternCounts = [3]
        let c = KnowledgeProbe.paraphraseMetrics(
            set: two, right: [0: [1, 0, 1]], n: [0: [2, 2, 1]],
            topByFact: [0: [(0, 7), (1, 7), (2, 9)], 1: [(0, 4), (1, 4)]], relationOfFact: [0: 0, 1: 0], step: 0)
        func cv(_ k: String) -> Double? { c.first { $0.key == k }?.value }
        XCTAssertEqual(cv("paraphrase/consistency/relation/r"), 0.5)
        XCTAssertEqual(cv("paraphrase/p_at_1/relation/r/pattern_1"), 0.5)
        XCTAssertEqual(cv("paraphrase/p_at_1/relation/r/pattern_3"), 1)
        XCTAssertEqual(cv("paraphrase/p_at_1/relation/r")!, 2.0 / 5, accuracy: 1e-12)
    }

    func testEndToEndOnTheBuiltInWorld() throws {
        let run = try trainMicroRun()
        let checkpoints = run.appendingPathComponent("checkpoints")
        // a half-written and an empty snapshot are skipped with a warning
        try FileManager.default.createDirectory(
            at: checkpoints.appendingPathComponent("step-000030"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: checkpoints.appendingPathComponent("step-000010/config.json"),
            to: checkpoints.appendingPathComponent("step-000030/config.json"))
        try FileManager.default.createDirectory(
            at: checkpoints.appendingPathComponent("step-000040"), withIntermediateDirectories: true)
        var warnings: [String] = []
        var o = ProbeOptions()
        o.maxSentences = 60
        o.pairsPerParadigm = 20  // the world's pairs are a default probe
        let runner = try ProbeRunner(run: Run.open(checkpoints.path), options: o, warn: { warnings.append($0) })
        let refs = try runner.scan()
        XCTAssertEqual(refs.map(\.step), [0, 10, 20])
        XCTAssertEqual(warnings.count, 2)
        XCTAssertTrue(warnings[0].contains("no model.safetensors"), warnings[0])
        var cached: [Bool] = []
        let metrics = try runner.run(refs) { _, _, _, c in cached.append(c) }
        XCTAssertEqual(cached, [false, false, false])
        for probe in ProbeRegistry.defaults + ["pairs"] {
            XCTAssertEqual(Set(metrics.filter { $0.probe == probe }.map(\.step)), [0, 10, 20], probe)
        }
        // every layer 0...2 and both tasks, with the majority baseline
        for k in [
            "upos/layer_0/accuracy", "upos/layer_2/macro_f1", "deprel/layer_1/accuracy", "upos/majority/accuracy",
        ] {
            XCTAssertNotNil(metrics.first { $0.probe == "layers" && $0.key == k }, k)
        }
        let unbounded = ["mlm_loss", "unigram", "escape_step", "steepest_descent_step"]
        for m in metrics where (m.probe != "knowledge" || !m.key.hasPrefix("skipped")) && !m.key.hasPrefix("left_out") {
            XCTAssertTrue(m.value >= 0 && (m.value <= 1 || unbounded.contains(m.key)), "\(m)")
        }
        // the run's escape measures at its last snapshot, from its training log
        let unigram = try XCTUnwrap(metrics.first { $0.probe == "loss" && $0.key == "unigram" })
        XCTAssertEqual(unigram.step, 20)
        XCTAssertEqual(unigram.value, try XCTUnwrap(EscapeSummary.of(Run(run))).unigram)
        // the loss probe at the last step is the pretrainer's own held-out evaluation (same batches)
        let log = try String(contentsOf: run.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
        let evalLine = log.split(separator: "\n").last { $0.contains("eval_mlm_loss") }!
        let logged = try JSONSerialization.jsonObject(with: Data(evalLine.utf8)) as! [String: Any]
        XCTAssertEqual(logged["step"] as? Int, 20)
        let probed = metrics.first { $0.probe == "loss" && $0.step == 20 && $0.key == "mlm_loss" }!.value
        XCTAssertEqual(probed, logged["eval_mlm_loss"] as! Double, accuracy: 1e-5)
        // outputs: tables and a report with data in every section
        let out = run.appendingPathComponent("probes")
        XCTAssertEqual(try MetricTables.read(out.appendingPathComponent("metrics.jsonl")), metrics)
        let csv = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 4)
        XCTAssertTrue(csv.hasPrefix("step,"))
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for section in ["part of speech", "Layer-wise linear probes", "World knowledge", "Losses"] {
            XCTAssertTrue(html.contains(section), section)
        }
        for empty in ["Not probed", "no data"] {
            let at = html.range(of: empty).map {
                html.index($0.lowerBound, offsetBy: -400, limitedBy: html.startIndex) ?? html.startIndex
            }
            XCTAssertTrue(at == nil, at.map { String(html[$0...].prefix(500)) } ?? "")
        }
        XCTAssertFalse(html.contains("http://") && html.contains("<script"))
        XCTAssertEqual(ProbeReport.summary(metrics).count, 6 + 1 + 6)  // the pairs mean and its 6 terms
        // re-running reuses every result; a changed vocabulary is caught, not silently mis-tokenized
        let vocab = checkpoints.appendingPathComponent("step-000020/vocab.txt")
        let lines = try String(contentsOf: vocab, encoding: .utf8).split(separator: "\n").dropLast(5)
        cached = []
        let again = try ProbeRunner(run: Run.open(checkpoints.path), options: o, warn: { warnings.append($0) })
        XCTAssertEqual(try again.run(refs) { _, _, _, c in cached.append(c) }, metrics)
        XCTAssertEqual(cached, [true, true, true])
        try (lines.joined(separator: "\n") + "\n").write(to: vocab, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: out)
        warnings = []
        let third = try ProbeRunner(run: Run.open(checkpoints.path), options: o, warn: { warnings.append($0) })
        let m3 = try third.run(refs) { _, _, _, _ in }
        XCTAssertEqual(Set(m3.map(\.step)), [0, 10])
        XCTAssertTrue(warnings.contains { $0.contains("vocab_size") }, "\(warnings)")
    }
}

extension ScratchDirectoryTestCase {
    /// A 20-step micro run on a small built-in world, snapshots every 10 steps.
    func trainMicroRun() throws -> URL {
        let micro = try microConfig(tmp)
        let run = tmp.appendingPathComponent("runs/w")
        _ = try Pretrainer(
            out: run, resume: false, force: false,
            apply: { c in
                c.worldTokens = 40_000
                c.config = micro
                c.vocabSize = 400
                c.steps = 20
                c.batchSize = 8
                c.seqLen = 32
                c.warmup = 2
                c.saveEvery = 10
                c.evalEvery = 10
                c.logSteps = false
                c.threads = 1
            }, log: { _ in }
        ).train()
        return run
    }
}

// The layer probes' word-type views on hand-built sentences: which forms count as ambiguous, that control
// tags are fixed per word type and seed, and that the trained and held-out knowledge phrasings are scored
// apart with the metric keys scripts rely on.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation
import XCTest

final class WordTypeTaskTests: XCTestCase {
    func sentence(_ words: [(String, String)]) -> ProbeSentence {
        ProbeSentence(
            text: words.map(\.0).joined(separator: " "), ids: [], words: [], upos: words.map(\.1),
            xpos: words.map { _ in "_" }, heads: words.map { _ in 0 }, deprels: words.map { _ in "dep" },
            forms: words.map { $0.0.lowercased() })
    }

    func testAmbiguousFormsComeFromTheProbeData() {
        let a = sentence([("I", "PRON"), ("run", "VERB"), ("that", "DET"), ("race", "NOUN"), (".", "PUNCT")])
        let b = sentence([("The", "DET"), ("run", "NOUN"), ("that", "PRON"), ("ended", "VERB"), (".", "PUNCT")])
        let c = sentence([("I", "PRON"), ("said", "VERB"), ("that", "SCONJ"), ("Race", "_")])
        let wt = WordTypeTasks(sentences: [a, b, c], seed: 1)
        // "run" (VERB, NOUN) and "that" (DET, PRON, SCONJ); "race" has one tag (the "_" is not a tag)
        XCTAssertEqual(wt.ambiguous, ["run", "that"])
        // dataset rows skip untagged words: c has 3 rows, so its "that" is row 2
        XCTAssertEqual(wt.ambiguousRows([a]), [1, 2])
        XCTAssertEqual(wt.ambiguousRows([b, c]), [1, 2, 7])
        // with only one sentence, nothing is ambiguous
        XCTAssertTrue(WordTypeTasks(sentences: [a], seed: 1).ambiguous.isEmpty)
    }

    func testControlTagsAreFixedPerWordTypeAndSeed() {
        var rng = Rng(seed: 3)
        let tags = ["NOUN", "VERB", "DET", "ADJ", "PUNCT", "PRON"]
        let forms = (0..<300).map { "w\($0)" }
        let sentences = (0..<200).map { _ in
            sentence((0..<8).map { _ in (rng.pick(forms), rng.pick(tags)) })
        }
        let wt = WordTypeTasks(sentences: sentences, seed: 11)
        // the same type has the same tag in every sentence, whatever its UPOS there
        let d = ProbeDataset(
            dim: 1, x: Array(repeating: 0, count: 1600), y: Array(repeating: 0, count: 1600))
        let control = wt.controlDataset(d, sentences: sentences)
        var seen: [String: Int32] = [:]
        var r = 0
        for s in sentences {
            for f in s.forms {
                if let t = seen[f] { XCTAssertEqual(t, control.y[r], f) }
                seen[f] = control.y[r]
                XCTAssertEqual(control.y[r], wt.control[f])
                r += 1
            }
        }
        XCTAssertEqual(wt.controlClasses, tags.count)
        // the tag of a type depends on the data's tag distribution and the seed, not on sentence order
        let reordered = WordTypeTasks(sentences: sentences.reversed(), seed: 11)
        XCTAssertEqual(reordered.control, wt.control)
        let other = WordTypeTasks(sentences: sentences, seed: 12)
        XCTAssertGreaterThan(forms.filter { other.control[$0] != wt.control[$0] }.count, 100)
        // tags follow the empirical distribution: every tag is used
        XCTAssertEqual(Set(wt.control.values).count, tags.count)
    }

    func testTrainedAndHeldOutPhrasingsAreScoredApart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-wt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        {"relation": "r1", "template": "[X] lives in [Y] .", "type": "N-1"}

        """.write(to: dir.appendingPathComponent("relations.jsonl"), atomically: true, encoding: .utf8)
        try """
        {"sub_label": "alice", "obj_label": "paris", "count": 2, "trained_templates": ["[X] lives in [Y] .", "[Y] sees [X] ."], "heldout_template": "[X] walk [Y] ."}
        {"sub_label": "bob", "obj_label": "paris", "count": 500, "trained_templates": ["[X] walk [Y] ."], "heldout_template": "[X] lives in [Y] ."}

        """.write(to: dir.appendingPathComponent("r1.jsonl"), atomically: true, encoding: .utf8)
        let words = ["alice", "bob", "paris", "lives", "in", "sees", "walk", "."]
        let tok = WordPieceTokenizer(
            vocab: try Vocabulary(tokens: Vocabulary.specialTokens + words), lowercase: true)
        let rels = try Lama.load(dir.path)
        XCTAssertEqual(rels[0].facts[0].trainedTemplates.count, 2)
        let set = KnowledgeProbe.prepare(rels, tokenizer: tok, maxLen: 32)
        XCTAssertEqual(
            set.items.map(\.kind.rawValue), ["lama", "trained", "trained", "heldout", "lama", "trained", "heldout"])
        // a model that always says "paris" gets everything right; the keys are all there with their counts
        let model = try Albert(
            config: AlbertConfig(
                vocabSize: tok.vocab.count, embeddingSize: 4, hiddenSize: 4, numHiddenLayers: 1,
                numAttentionHeads: 1, intermediateSize: 8))
        model.initializeWeights(seed: 1)
        let paris = tok.vocab.ids[ExactString("paris")]!
        let bias = model.layout.tensors.first { $0.name == "predictions.bias" }!
        model.params.pointer[bias.offset + Int(paris)] = 100
        let m = try KnowledgeProbe.run(model: model, set: set, step: 1)
        func v(_ k: String) -> (Double, Int)? { m.first { $0.key == k }.map { ($0.value, $0.count) } }
        XCTAssertEqual(v("p_at_1/trained/mean")?.0, 1)
        XCTAssertEqual(v("p_at_1/trained/mean")?.1, 3)
        XCTAssertEqual(v("p_at_1/heldout/mean")?.1, 2)
        XCTAssertEqual(v("p_at_1/trained/frequency/1-5")?.1, 2)
        XCTAssertEqual(v("p_at_1/trained/frequency/101-1000")?.1, 1)
        XCTAssertEqual(v("p_at_1/heldout/frequency/101-1000")?.1, 1)
        XCTAssertEqual(v("p_at_1/mean")?.1, 2, "the LAMA keys count the relation template only")
        // a malformed per-fact template is an error with file and line
        try """
        {"sub_label": "alice", "obj_label": "paris", "heldout_template": "no slots"}

        """.write(to: dir.appendingPathComponent("r1.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Lama.load(dir.path)) { e in
            XCTAssertTrue("\(e)".contains("r1.jsonl:1"), "\(e)")
        }
    }
}

// Minimal pairs: BLiMP's layout as distributed (its published keys), a line missing a sentence, an empty
// folder; word-l2r masking on a hand-built two-piece word; ties counted wrong; pseudo-log-likelihoods
// against transformers on a committed checkpoint (Scripts/check-pll.py wrote the fixture); the probe on
// every snapshot of a short run; a folder written with every key and value type BLiMP's own files carry.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import EmbryoText
import XCTest

final class PairsProbeTests: ScratchDirectoryTestCase {
    var fixtures: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }

    func testBLiMPLayoutAndItsErrors() throws {
        let pairs = try MinimalPairs.read(fixtures.appendingPathComponent("pll/pairs"))
        XCTAssertEqual(pairs.count, 20)
        XCTAssertEqual(pairs[0].good, "she is a teacher .")
        XCTAssertEqual(pairs[0].bad, "she are a teacher .")
        XCTAssertEqual(
            [pairs[0].uid, pairs[0].term, pairs[0].field], ["agreement", "subject_verb_agreement", "morphology"])
        XCTAssertEqual(pairs[10].uid, "word_order")
        // one file alone; a fixed sample per paradigm, the same every time
        XCTAssertEqual(try MinimalPairs.read(fixtures.appendingPathComponent("pll/pairs/word_order.jsonl")).count, 10)
        let sample = MinimalPairs.sample(pairs, perParadigm: 3)
        XCTAssertEqual(sample.count, 6)
        XCTAssertEqual(sample, MinimalPairs.sample(pairs, perParadigm: 3))
        // a line without both sentences names file and line; a folder without pair files lists what it holds
        let bad = dir.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try "{\"sentence_good\": \"a b .\", \"sentence_bad\": \"b a .\"}\n{\"sentence_good\": \"c d .\"}\n".write(
            to: bad.appendingPathComponent("x.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MinimalPairs.read(bad)) {
            XCTAssertTrue("\($0)".contains("x.jsonl:2: a minimal pair needs the strings sentence_good"), "\($0)")
        }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try "x".write(to: empty.appendingPathComponent("README"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MinimalPairs.read(empty)) {
            XCTAssertTrue("\($0)".contains("no minimal-pair files") && "\($0)".contains("README"), "\($0)")
        }
    }

    func testWordL2RMasksTheLaterPiecesOfTheWordOnly() {
        // [CLS] a b1 b2 c [SEP], b split in two pieces
        let ids: [Int32] = [2, 10, 11, 12, 13, 3], words: [Int32] = [-1, 0, 1, 1, 2, -1], M: Int32 = 4
        let original = PseudoLikelihood.rows(ids: ids, words: words, maskId: M, variant: .original)
        let l2r = PseudoLikelihood.rows(ids: ids, words: words, maskId: M, variant: .wordL2R)
        XCTAssertEqual(
            original.map(\.ids),
            [[2, 4, 11, 12, 13, 3], [2, 10, 4, 12, 13, 3], [2, 10, 11, 4, 13, 3], [2, 10, 11, 12, 4, 3]])
        XCTAssertEqual(
            l2r.map(\.ids),
            [[2, 4, 11, 12, 13, 3], [2, 10, 4, 4, 13, 3], [2, 10, 11, 4, 13, 3], [2, 10, 11, 12, 4, 3]])
        // each row scores its own piece only
        XCTAssertEqual(l2r[1].labels, [-100, -100, 11, -100, -100, -100])
        XCTAssertEqual(l2r.map { $0.labels.filter { $0 >= 0 }.count }, [1, 1, 1, 1])
    }

    func testATieIsWrong() {
        let p = MinimalPair(good: "a", bad: "b", uid: "u", term: "t", field: "f", pairID: "0")
        let ms = PairsMeasurement.metrics([(p, false), (p, true)], step: 3, identical: 1, tooLong: 0, withUnk: 1)
        XCTAssertEqual(ms.first { $0.key == "accuracy/uid/u" }?.value, 0.5)
        XCTAssertEqual(ms.first { $0.key == "accuracy/mean" }?.value, 0.5)
        XCTAssertEqual(ms.first { $0.key == "unk_share" }?.value, 0.5)
        XCTAssertEqual(ms.first { $0.key == "left_out/identical" }?.value, 1)
        XCTAssertFalse(PairsMeasurement.isRight(good: -3.5, bad: -3.5))
        XCTAssertTrue(PairsMeasurement.isRight(good: -3.4, bad: -3.5))
    }

    func testPseudoLikelihoodsEqualTransformers() throws {
        let snapshot = try Run.open(fixtures.appendingPathComponent("fill/checkpoint").path).requireSnapshots()[0]
        let (model, tok) = try snapshot.load()
        let expected = try String(contentsOf: fixtures.appendingPathComponent("pll/expected.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(expected.count, 40)
        let encoded = expected.map { PseudoLikelihood.encode($0["sentence"] as! String, tok) }
        XCTAssertTrue(encoded.contains { e in zip(e.words, e.words.dropFirst()).contains { $0 == $1 && $0 >= 0 } })
        for (variant, key) in [(PLLVariant.original, "pll_original"), (.wordL2R, "pll_word_l2r")] {
            let scored = try PseudoLikelihood.score(
                model: model, sentences: encoded, maskId: tok.vocab.maskId, variant: variant)
            for (s, e) in zip(scored, expected) {
                XCTAssertEqual(s.reduce(0, +), e[key] as! Double, accuracy: 1e-3, "\(variant) \(e["sentence"]!)")
            }
        }
    }

    func testThePairsProbeOnEverySnapshot() throws {
        let run = try Run(trainMicroRun())
        var o = ProbeOptions()
        o.probes = ["pairs"]
        o.pairs = fixtures.appendingPathComponent("pll/pairs")
        let runner = try ProbeRunner(run: run, options: o, warn: { XCTFail($0) })
        let ms = try runner.run(try runner.scan()) { _, _, _, _ in }
        for key in [
            "accuracy/mean", "accuracy/phenomena", "accuracy/uid/agreement", "accuracy/term/word_order", "unk_share",
        ] {
            XCTAssertEqual(ms.filter { $0.key == key }.map(\.step), [0, 10, 20], key)
        }
        let html = try String(contentsOf: run.probes.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Minimal pairs"))
        // without --pairs, a run on the built-in world reads its world's pairs/, and pairs is a default probe
        o.pairs = nil
        let defaulted = try ProbeRunner(run: run, options: o, warn: { _ in }).options.pairs
        XCTAssertEqual(defaulted?.standardizedFileURL, run.worldDir.appendingPathComponent("pairs").standardizedFileURL)
        XCTAssertEqual(ProbeRegistry.defaults(for: run), ProbeRegistry.defaults + ["pairs"])
        // a folder of checkpoints has no world: the pairs probe needs --pairs
        let bare = dir.appendingPathComponent("bare")
        try FileManager.default.copyItem(at: run.checkpoints, to: bare)
        let bareRun = try Run.open(bare.path)
        XCTAssertEqual(ProbeRegistry.defaults(for: bareRun), ProbeRegistry.defaults)
        XCTAssertThrowsError(try ProbeRunner(run: bareRun, options: o, warn: { _ in })) {
            XCTAssertTrue("\($0)".contains("needs --pairs PATH"), "\($0)")
        }
    }

    func testEveryKeyAndTypeOfBLiMPsFilesIsRead() throws {
        // BLiMP's data/ files carry booleans (the method flags), an integer (dependency_length), prefixes and
        // words for the prefix methods, and one paradigm whose field is "syntax/semantics"; written here with
        // sentences of our own. A case-only pair tokenises alike under an uncased vocabulary and is left out.
        let blimp = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: blimp, withIntermediateDirectories: true)
        let flags = "\"simple_LM_method\": true, \"one_prefix_method\": false, \"two_prefix_method\": true"
        try [
            "{\"sentence_good\": \"Ann's dogs don't bark.\", \"sentence_bad\": \"Ann's dogs doesn't bark.\", "
                + "\"one_prefix_prefix\": \"Ann's dogs\", \"one_prefix_word_good\": \"don't\", "
                + "\"one_prefix_word_bad\": \"doesn't\", \"field\": \"syntax/semantics\", "
                + "\"linguistics_term\": \"binding\", \"UID\": \"p_one\", \(flags), "
                + "\"lexically_identical\": false, \"pairID\": \"0\", \"dependency_length\": 2, "
                + "\"crucial_item\": \"dogs\"}",
            "{\"sentence_good\": \"The Cat sleeps.\", \"sentence_bad\": \"the cat sleeps.\", "
                + "\"two_prefix_prefix_good\": \"The Cat\", \"two_prefix_prefix_bad\": \"the cat\", "
                + "\"two_prefix_word\": \" sleeps\", \"field\": \"syntax/semantics\", "
                + "\"linguistics_term\": \"binding\", \"UID\": \"p_one\", \(flags), "
                + "\"lexically_identical\": true, \"pairID\": \"1\"}",
        ].joined(separator: "\n").write(
            to: blimp.appendingPathComponent("p_one.jsonl"), atomically: true, encoding: .utf8)
        let pairs = try MinimalPairs.read(blimp)
        XCTAssertEqual(pairs.map(\.good), ["Ann's dogs don't bark.", "The Cat sleeps."])
        XCTAssertEqual(
            [pairs[0].uid, pairs[0].term, pairs[0].field, pairs[1].pairID],
            ["p_one", "binding", "syntax/semantics", "1"])
        let run = try Run(trainMicroRun())
        var o = ProbeOptions()
        o.probes = ["pairs"]
        o.pairs = blimp
        let runner = try ProbeRunner(run: run, options: o, warn: { XCTFail($0) })
        let last = try runner.run(try runner.scan()) { _, _, _, _ in }.filter { $0.step == 20 }
        func value(_ key: String) -> Double? { last.first { $0.key == key }?.value }
        XCTAssertEqual(value("left_out/identical"), 1)
        XCTAssertNotNil(value("accuracy/field/syntax/semantics"))
        XCTAssertEqual(last.first { $0.key == "accuracy/uid/p_one" }?.count, 1)
        // the world has no apostrophe, so the micro run's vocabulary reads "'" as [UNK]
        XCTAssertEqual(value("unk_share"), 1)
    }
}

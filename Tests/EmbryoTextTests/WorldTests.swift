// The built-in world: same seed, same bytes; a valid CoNLL-U probe set disjoint from train.txt; fact
// counts equal to the statements in train.txt; balanced task labels; readers accept what it writes.

import EmbryoCore
import EmbryoText
import Foundation
import XCTest

final class WorldTests: XCTestCase {
    static var dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-world-\(UUID().uuidString)")
        var sizes = WorldSizes()
        sizes.tokens = 60_000
        sizes.taskTrain = 400
        sizes.taskEval = 100
        sizes.probeSentences = 500
        _ = try! World(seed: 7, sizes: sizes).write(to: d)
        return d
    }()

    override class func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String) throws -> Data { try Data(contentsOf: WorldTests.dir.appendingPathComponent(name)) }

    func testReplayedHeadsEqualTheWrittenOnesAndCheckTheText() throws {
        var sizes = WorldSizes()
        sizes.tokens = 60_000
        let world = World(seed: 7, sizes: sizes)
        let replayed = WorldTests.dir.appendingPathComponent("replayed.heads")
        defer { try? FileManager.default.removeItem(at: replayed) }
        let train = WorldTests.dir.appendingPathComponent("train.txt")
        try world.writeHeads(to: replayed, checking: train)
        XCTAssertEqual(try Data(contentsOf: replayed), try file(World.headsFile))
        // another world's text is not this generator's: refused, naming the line
        XCTAssertThrowsError(try World(seed: 8, sizes: sizes).writeHeads(to: replayed, checking: train)) {
            XCTAssertTrue("\($0)".contains("train.txt:1"), "\($0)")
        }
    }

    func testSameSeedSameBytes() throws {
        var sizes = WorldSizes()
        sizes.tokens = 60_000
        sizes.taskTrain = 400
        sizes.taskEval = 100
        sizes.probeSentences = 500
        let again = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-world-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: again) }
        _ = try World(seed: 7, sizes: sizes).write(to: again)
        for name in [
            "train.txt", "probe.conllu", "world.json", "facts/relations.jsonl", "facts/born_in.jsonl",
            "tasks/grammar/train.tsv", "tasks/factcheck/dev.tsv", "tasks/paraphrase/test.tsv",
        ] {
            XCTAssertEqual(try file(name), try Data(contentsOf: again.appendingPathComponent(name)), name)
        }
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-world-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: other) }
        _ = try World(seed: 8, sizes: sizes).write(to: other)
        XCTAssertNotEqual(try file("train.txt"), try Data(contentsOf: other.appendingPathComponent("train.txt")))
    }

    func testProbeSetIsValidConllUAndHeldOut() throws {
        let sentences = try ConllU.read(WorldTests.dir.appendingPathComponent("probe.conllu"))
        XCTAssertEqual(sentences.count, 500)
        let upos: Set<String> = [
            "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
            "PUNCT", "SCONJ", "SYM", "VERB", "X",
        ]
        let train = Set(String(decoding: try file("train.txt"), as: UTF8.self).split(separator: "\n").map(String.init))
        var tags = Set<String>()
        for s in sentences {
            XCTAssertNotNil(s.sentId)
            XCTAssertEqual(
                s.text,
                s.words.map { $0.form + ($0.spaceAfter ? " " : "") }.joined().trimmingCharacters(in: .whitespaces))
            XCTAssertFalse(train.contains(s.surfaceText), "probe sentence in train.txt: \(s.surfaceText)")
            for w in s.words {
                XCTAssertTrue(upos.contains(w.upos), w.upos)
                XCTAssertFalse(w.xpos.isEmpty || w.xpos == "_")
                XCTAssertFalse(w.deprel.isEmpty || w.deprel == "_")
                XCTAssertEqual(w.deprel == "root", w.head == 0)
                if w.feats != "_" {
                    let names = w.feats.split(separator: "|").map { String($0.split(separator: "=")[0]) }
                    XCTAssertEqual(
                        names, names.sorted { $0.lowercased() < $1.lowercased() }, "FEATS sorted: \(w.feats)")
                }
                tags.insert(w.upos)
            }
        }
        XCTAssertTrue(
            tags.isSuperset(of: ["NOUN", "VERB", "ADJ", "ADV", "DET", "ADP", "PRON", "AUX", "PROPN", "PUNCT"]),
            "\(tags)")
    }

    /// Every fact statement of train.txt, matched against every phrasing: (relation, phrasing, subject, object).
    func statements() throws -> [(String, Int, String, String)] {
        let relLines = String(decoding: try file("facts/relations.jsonl"), as: UTF8.self).split(separator: "\n")
        var templates: [(String, Int, [String])] = []  // relation, phrasing, words (final "." dropped)
        for l in relLines {
            let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            let all = o["templates"] as! [String]
            XCTAssertEqual(all[0], o["template"] as? String, "the LAMA template is the first phrasing")
            for (i, t) in all.enumerated() {
                templates.append(
                    (o["relation"] as! String, i, Array(t.dropLast(2).split(separator: " ").map(String.init))))
            }
        }
        var out: [(String, Int, String, String)] = []
        for line in String(decoding: try file("train.txt"), as: UTF8.self).split(separator: "\n") {
            guard line.hasSuffix(".") else { continue }
            let words = line.dropLast().split(separator: " ").map(String.init)
            for (rel, i, t) in templates where t.count == words.count {
                var x = "", y = "", ok = true
                for (tw, w) in zip(t, words) {
                    if tw == "[X]" { x = w } else if tw == "[Y]" { y = w } else if tw != w { ok = false; break }
                }
                if ok { out.append((rel, i, x, y)) }
            }
        }
        return out
    }

    func testFactCountsEqualStatementsInTrainText() throws {
        var seen: [String: Int] = [:]
        for (rel, _, x, y) in try statements() { seen["\(rel)\t\(x)\t\(y)", default: 0] += 1 }
        var total = 0, tail = 0, frequent = 0
        for rel in try Lama.load(WorldTests.dir.appendingPathComponent("facts").path) {
            for f in rel.facts {
                let key = "\(rel.name)\t\(f.subject)\t\(f.object)"
                XCTAssertEqual(f.count, seen[key] ?? 0, key)
                seen[key] = nil
                total += f.count ?? 0
                if let c = f.count, c >= 1 && c <= 5 { tail += 1 }
                if let c = f.count, c > 30 { frequent += 1 }
            }
        }
        XCTAssertTrue(seen.isEmpty, "statements of facts that are not in the knowledge base: \(seen.keys.prefix(3))")
        XCTAssertGreaterThan(total, 500)
        XCTAssertGreaterThan(tail, 50, "some facts appear only a handful of times")
        // (this world is 60,000 tokens, 1/33 of the default one)
        XCTAssertGreaterThan(frequent, 5, "some facts appear very often: \(frequent) above 30 statements")
    }

    func testHeldOutPhrasingsNeverStateTheirFact() throws {
        let rels = try Lama.load(WorldTests.dir.appendingPathComponent("facts").path)
        let relLines = String(decoding: try file("facts/relations.jsonl"), as: UTF8.self).split(separator: "\n")
        var phrasings: [String: [String]] = [:]
        for l in relLines {
            let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            phrasings[o["relation"] as! String] = o["templates"] as? [String]
        }
        var held: [String: Int] = [:]
        for r in rels {
            let all = phrasings[r.name]!
            XCTAssertGreaterThanOrEqual(all.count, 3, "every relation has several phrasings")
            for f in r.facts {
                // trained and held-out phrasings are disjoint and together make the relation's phrasings
                let h = try XCTUnwrap(f.heldOutTemplate)
                XCTAssertFalse(f.trainedTemplates.contains(h))
                XCTAssertEqual(Set(f.trainedTemplates + [h]), Set(all))
                XCTAssertEqual(f.trainedTemplates.count, all.count - 1)
                held["\(r.name)\t\(f.subject)\t\(f.object)"] = all.firstIndex(of: h)!
            }
        }
        var usedFor: [String: Set<Int>] = [:]  // relation -> phrasings used in train.txt
        var perPhrasing: [String: [Int: Int]] = [:]
        for (rel, i, x, y) in try statements() {
            XCTAssertNotEqual(held["\(rel)\t\(x)\t\(y)"], i, "held-out phrasing \(i) states \(rel)(\(x), \(y))")
            usedFor[rel, default: []].insert(i)
            perPhrasing[rel, default: [:]][i, default: 0] += 1
        }
        // a held-out phrasing is still used for the relation's other facts
        for r in rels where (usedFor[r.name]?.count ?? 0) > 0 {
            XCTAssertEqual(usedFor[r.name]!.count, phrasings[r.name]!.count, r.name)
        }
        // world.json's per-phrasing counts are exact
        let o = try JSONSerialization.jsonObject(with: try file("world.json")) as! [String: Any]
        for (name, v) in o["relations"] as! [String: Any] {
            let ph = (v as! [String: Any])["phrasings"] as! [[String: Any]]
            for (i, p) in ph.enumerated() {
                XCTAssertEqual(p["statements"] as? Int, perPhrasing[name]?[i] ?? 0, "\(name) phrasing \(i)")
            }
        }
    }

    func testSelectionalClassesHoldInEverySentence() throws {
        var sizes = WorldSizes()
        sizes.tokens = 30_000
        let world = World(seed: 5, sizes: sizes)
        let lx = world.lexicon
        var nounClass: [String: Int] = [:], verbIndex: [String: Int] = [:], adjClass: [String: Int] = [:]
        for n in lx.nouns { nounClass[n.singular] = n.cls }
        for (i, v) in lx.verbs.enumerated() { verbIndex[v.base] = i }
        for (i, a) in lx.adjectives.enumerated() { adjClass[a] = lx.adjectiveClass[i] }
        var rng = Rng(seed: 9)
        var checked = (objects: 0, subjects: 0, adjectives: 0, copulas: 0)
        for _ in 0..<400 {
            for s in world.document(&rng) {
                let t = s.tokens
                for (i, w) in t.enumerated() where w.head > 0 {
                    let head = t[w.head - 1]
                    if w.upos == "NOUN" && head.upos == "VERB", let c = nounClass[w.lemma],
                        let v = verbIndex[head.lemma]
                    {
                        if w.deprel == "obj" {
                            XCTAssertEqual(c, lx.verbs[v].objectClass, "\(s.text): \(w.form) as object of \(head.form)")
                            checked.objects += 1
                        } else if w.deprel == "nsubj" {
                            XCTAssertEqual(
                                c, lx.verbs[v].subjectClass, "\(s.text): \(w.form) as subject of \(head.form)")
                            checked.subjects += 1
                        }
                    }
                    if w.upos == "ADJ" && w.deprel == "amod" && head.upos == "NOUN", let c = nounClass[head.lemma] {
                        XCTAssertEqual(adjClass[w.lemma], c, "\(s.text): \(w.form) \(head.form)")
                        checked.adjectives += 1
                    }
                    if w.upos == "NOUN" && w.deprel == "nsubj" && head.upos == "ADJ", let c = nounClass[w.lemma] {
                        XCTAssertEqual(adjClass[head.lemma], c, "\(s.text): \(w.form) is \(head.form)")
                        checked.copulas += 1
                    }
                    _ = i
                }
            }
        }
        XCTAssertGreaterThan(checked.objects, 300)
        XCTAssertGreaterThan(checked.subjects, 100)
        XCTAssertGreaterThan(checked.adjectives, 300)
        XCTAssertGreaterThan(checked.copulas, 50)
    }

    func testTasksAreBalancedGlueTables() throws {
        for (task, columns) in [
            ("grammar", ["sentence", "label"]), ("factcheck", ["sentence", "label"]),
            ("paraphrase", ["sentence1", "sentence2", "label"]),
        ] {
            for (split, n) in [("train", 400), ("dev", 100), ("test", 100)] {
                let t = try Tsv.read(WorldTests.dir.appendingPathComponent("tasks/\(task)/\(split).tsv"), header: true)
                XCTAssertEqual(t.header, columns)
                XCTAssertEqual(t.rows.count, n)
                let labels = t.rows.map { $0.last! }
                XCTAssertEqual(labels.filter { $0 == "1" }.count, n / 2, "\(task) \(split)")
                XCTAssertEqual(labels.filter { $0 == "0" }.count, n / 2, "\(task) \(split)")
                if task == "paraphrase" {
                    for r in t.rows where r[2] == "1" {
                        XCTAssertNotEqual(r[0], r[1], "a paraphrase pair is two wordings")
                    }
                }
            }
        }
    }

    func testSummaryDescribesTheWorld() throws {
        let o = try JSONSerialization.jsonObject(with: try file("world.json")) as! [String: Any]
        XCTAssertEqual(o["seed"] as? Int, 7)
        XCTAssertGreaterThanOrEqual(o["tokens"] as? Int ?? 0, 60_000)
        let upos = o["upos_counts"] as! [String: Int]
        let top = upos.sorted { $0.value > $1.value }.prefix(5).map(\.key)
        XCTAssertTrue(top.contains("NOUN") && top.contains("PUNCT") && top.contains("VERB"), "\(top)")
        XCTAssertNotNil((o["relations"] as? [String: Any])?["born_in"])
    }

    func testLexiconHasAmbiguousForms() {
        var rng = Rng(seed: 1)
        let lx = Lexicon(rng: &rng, sizes: WorldSizes())
        let verbs = Set(lx.verbs.map(\.base))
        XCTAssertEqual(lx.nouns.filter { verbs.contains($0.singular) }.count, lx.ambiguous)
        XCTAssertGreaterThan(lx.ambiguous, 0)
        XCTAssertGreaterThan(lx.nouns.count + lx.verbs.count + lx.adjectives.count + lx.people.count, 2500)
    }
}

// The world-BLiMP: 500 pairs per paradigm in BLiMP's layout, no bad sentence in train.txt, every word of
// every pair in it, and labels that hold by an independent check of the world's grammar: every good
// sentence obeys it (as every sentence of train.txt's generator does), every bad one breaks it.

import EmbryoCore
import EmbryoText
import Foundation
import XCTest

/// The world grammar's constraints on an annotated sentence, checked from the gold tree and the lexicon:
/// a well-formed tree, agreement (subject-verb, determiner-noun, a/an), selectional classes, valency, and
/// order (determiners and subjects before their heads, objects after). Returns what is broken.
struct WorldGrammarCheck {
    let lx: Lexicon
    var nounClass: [String: Int] = [:], verbIndex: [String: Int] = [:], adjClass: [String: Int] = [:]

    init(_ lx: Lexicon) {
        self.lx = lx
        for n in lx.nouns { nounClass[n.singular] = n.cls }
        for (i, v) in lx.verbs.enumerated() { verbIndex[v.base] = i }
        for (i, a) in lx.adjectives.enumerated() { adjClass[a] = lx.adjectiveClass[i] }
    }

    static let singularDeterminers: Set = ["this", "that", "a", "an", "every", "each"]
    static let pluralDeterminers: Set = ["these", "those", "some", "many"]

    func violations(_ s: WorldSentence) -> [String] {
        let t = s.tokens
        var out: [String] = []
        if t.filter({ $0.head == 0 }).count != 1 { out.append("tree: not one root") }
        for (i, w) in t.enumerated() {
            guard w.head >= 0 && w.head <= t.count && w.head != i + 1 else { return out + ["tree: head of \(w.form)"] }
            var seen = Set<Int>(), h = i + 1
            while h != 0 && seen.insert(h).inserted { h = t[h - 1].head }
            if h != 0 { return out + ["tree: cycle through \(w.form)"] }
        }
        func dependents(_ h: Int) -> [Int] { t.indices.filter { t[$0].head == h + 1 } }
        func number(_ i: Int) -> String? {
            t[i].feats.contains("Number=Plur") ? "Plur" : t[i].feats.contains("Number=Sing") ? "Sing" : nil
        }
        for (i, w) in t.enumerated() where w.head > 0 {
            let h = w.head - 1, head = t[h]
            switch w.deprel {
            case "det":
                let lower = w.form.lowercased()
                if Self.singularDeterminers.contains(lower) && number(h) != "Sing" { out.append("det: \(w.form)") }
                if Self.pluralDeterminers.contains(lower) && number(h) != "Plur" { out.append("det: \(w.form)") }
                if ["a", "an"].contains(lower), i + 1 < t.count {
                    let vowel = "aeiou".contains(t[i + 1].form.first!)
                    if vowel != (lower == "an") { out.append("article: \(w.form) \(t[i + 1].form)") }
                }
                if i > h { out.append("order: determiner after its noun") }
            case "nsubj":
                if i > h { out.append("order: subject after its head") }
                let subjectNoun = w.upos == "NOUN" ? i : w.lemma == "that" ? t[h].head - 1 : nil
                guard let n = subjectNoun, n >= 0, t[n].upos == "NOUN",
                    !dependents(n).contains(where: { t[$0].deprel == "conj" })
                else { continue }
                // the finite form: the first auxiliary or copula, else the head itself
                let finite =
                    (dependents(h).filter { ["aux", "cop"].contains(t[$0].deprel) }.first).map { t[$0] } ?? head
                let sing = number(n) == "Sing"
                if (finite.xpos == "VBZ" && !sing) || (finite.xpos == "VBP" && sing)
                    || (finite.form == "was" && !sing) || (finite.form == "were" && sing)
                {
                    out.append("agreement: \(t[n].form) ... \(finite.form)")
                }
                if let c = nounClass[t[n].lemma] {
                    if head.upos == "VERB", let v = verbIndex[head.lemma], lx.verbs[v].subjectClass != c {
                        out.append("selection: \(t[n].form) as subject of \(head.form)")
                    }
                    if head.upos == "ADJ", adjClass[head.lemma] != c {
                        out.append("selection: \(t[n].form) is \(head.form)")
                    }
                }
            case "obj":
                if i < h { out.append("order: object before its verb") }
                if let c = nounClass[w.lemma], let v = verbIndex[head.lemma], lx.verbs[v].objectClass != c {
                    out.append("selection: \(w.form) as object of \(head.form)")
                }
            case "amod":
                if let c = nounClass[head.lemma], adjClass[w.lemma] != c {
                    out.append("selection: \(w.form) \(head.form)")
                }
            default: break
            }
        }
        for (i, w) in t.enumerated() where w.upos == "VERB" {
            // a generated stem can equal a real lemma ("bear" of "born"): only the stem's own forms count
            guard let v = verbIndex[w.lemma],
                [lx.verbs[v].base, lx.verbs[v].third, lx.verbs[v].past, lx.verbs[v].ing].contains(w.form.lowercased())
            else { continue }
            let hasObject = dependents(i).contains { t[$0].deprel == "obj" }
            if hasObject != lx.verbs[v].transitive { out.append("valency: \(w.form)") }
        }
        return out
    }
}

final class WorldPairsTests: XCTestCase {
    static let world: World = {
        var sizes = WorldSizes()
        sizes.taskTrain = 100
        sizes.taskEval = 10
        return World(seed: 3, sizes: sizes)
    }()
    static let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embryo-pairs-\(UUID().uuidString)")
    static let summary: WorldSummary = try! world.write(to: dir)

    override class func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func trainLines() throws -> [Substring] {
        _ = Self.summary  // written once, by whichever test comes first
        let text = String(decoding: try Data(contentsOf: Self.dir.appendingPathComponent("train.txt")), as: UTF8.self)
        return text.split(separator: "\n")
    }

    func testFilesHold500PairsInBLiMPLayoutNoneBadInTrainEveryWordInIt() throws {
        let lines = try trainLines()
        let train = Set(lines.map(String.init)), forms = Set(lines.flatMap { World.forms(ofLine: $0) })
        let pairs = try MinimalPairs.read(Self.dir.appendingPathComponent("pairs"))
        let byUID = Dictionary(grouping: pairs, by: \.uid)
        XCTAssertEqual(byUID.count, 15)
        for (uid, ps) in byUID {
            XCTAssertEqual(ps.count, 500, uid)
            XCTAssertEqual(Set(ps.map { $0.good + "|" + $0.bad }).count, 500, "\(uid): repeated pairs")
            XCTAssertEqual(Set(ps.map(\.term)).count, 1, uid)
            XCTAssertEqual(Self.summary.pairs[uid], 500, uid)
        }
        for p in pairs {
            XCTAssertFalse(train.contains(p.bad), "\(p.uid): bad sentence in train.txt: \(p.bad)")
            XCTAssertNotEqual(p.good, p.bad)
            for w in World.forms(ofLine: Substring(p.good)) + World.forms(ofLine: Substring(p.bad)) {
                XCTAssertTrue(forms.contains(w), "\(p.uid): '\(w)' of '\(p.good)' / '\(p.bad)' not in train.txt")
            }
        }
        // BLiMP's keys, as distributed
        let first = try String(contentsOf: Self.dir.appendingPathComponent("pairs/sva_simple.jsonl"), encoding: .utf8)
            .split(separator: "\n")[0]
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        for k in ["sentence_good", "sentence_bad", "field", "linguistics_term", "UID", "pairID"] {
            XCTAssertNotNil(o[k], k)
        }
    }

    func testTheCheckAcceptsEverySentenceTheGrammarGenerates() {
        let check = WorldGrammarCheck(Self.world.lexicon)
        var rng = Rng(seed: 11)
        var sentences = 0
        for _ in 0..<300 {
            for s in Self.world.document(&rng) {
                XCTAssertEqual(check.violations(s), [], s.text)
                sentences += 1
            }
        }
        XCTAssertGreaterThan(sentences, 2000)
    }

    func testEveryGoodSentenceObeysTheGrammarAndEveryBadOneBreaksIt() throws {
        let lines = try trainLines()
        let pairs = Self.world.minimalPairs(
            train: Set(lines.map(String.init)), forms: Set(lines.flatMap { World.forms(ofLine: $0) }), perParadigm: 100)
        let check = WorldGrammarCheck(Self.world.lexicon)
        // what each family's bad sentence must break
        let broken = [
            "sva": "agreement", "dna": "det", "sel": "selection", "arg": "valency", "order": "order",
        ]
        var trueStatements = Set<String>()
        for fact in Self.world.knowledge.facts {
            for t in 0..<worldRelations[fact.relation].phrasings.count {
                var words = worldRelations[fact.relation].phrasings[t].split(separator: " ").map {
                    String($0.split(separator: "|")[0])
                }
                words = words.map { $0 == "[X]" ? fact.subject : $0 == "[Y]" ? fact.object : $0 }
                trueStatements.insert((words.joined(separator: " ") + " .").lowercased())
            }
        }
        func spaced(_ s: WorldSentence) -> String { s.tokens.map(\.form).joined(separator: " ").lowercased() }
        for (uid, ps) in pairs {
            XCTAssertEqual(ps.count, 100, uid)
            for p in ps {
                XCTAssertEqual(check.violations(p.good), [], "\(uid): \(p.good.text)")
                if uid.hasPrefix("facts") {
                    XCTAssertTrue(trueStatements.contains(spaced(p.good)), "\(uid): \(p.good.text)")
                    XCTAssertFalse(trueStatements.contains(spaced(p.bad)), "\(uid): \(p.bad.text)")
                    continue
                }
                let family = String(uid.split(separator: "_")[0])
                let kind = try XCTUnwrap(broken[family], uid)
                let found = check.violations(p.bad)
                XCTAssertTrue(found.contains { $0.hasPrefix(kind) }, "\(uid): \(p.bad.text) breaks only \(found)")
            }
        }
    }
}

// The built-in world: a generated English-like corpus with gold annotation and a knowledge base,
// written in the field's formats (plain text, CoNLL-U, LAMA jsonl, GLUE-style TSV) so that probes read
// it exactly as they read real data. Everything is a function of the seed and the sizes.

import EmbryoCore
import Foundation

public struct WorldSizes: Codable, Sendable, Equatable {
    public var tokens = 2_000_000
    public var nouns = 1200
    public var verbs = 600
    public var adjectives = 400
    public var adverbs = 150
    public var people = 500
    public var cities = 60
    public var countries = 20
    public var occupations = 30
    public var probeSentences = 2000
    public var taskTrain = 20000
    public var taskEval = 2000
    /// Share of a person document's sentences (after the first) that state one of its facts.
    public var factShare = 0.3
    /// Semantic classes of nouns (and of the verbs and adjectives that select them).
    public var classes = 24

    public init() {}
}

public final class World {
    public static let version = 3
    /// Beside train.txt, line for line: each sentence's gold heads (1-based word indices, 0 for the root).
    public static let headsFile = "train.heads"
    public let seed: UInt64
    public let sizes: WorldSizes
    public let lexicon: Lexicon
    public let knowledge: KnowledgeBase
    let grammar: Grammar
    let personSampler: ZipfSampler, citySampler: ZipfSampler

    public init(seed: UInt64, sizes: WorldSizes = WorldSizes()) {
        self.seed = seed
        self.sizes = sizes
        var rng = Rng(seed: seed ^ stableHash("lexicon"))
        lexicon = Lexicon(rng: &rng, sizes: sizes)
        knowledge = KnowledgeBase(lexicon: lexicon, rng: &rng)
        grammar = Grammar(lexicon: lexicon)
        personSampler = ZipfSampler(count: lexicon.people.count)
        citySampler = ZipfSampler(count: lexicon.cities.count)
    }

    /// One document about one entity. Mostly a person: a statement of one of their facts, then sentences
    /// that refer to them by pronoun or name, return to a few nouns and to their cities, restate their
    /// facts in other phrasings, and carry discourse markers that follow the document's order. Otherwise
    /// a city: its facts and its country's, among sentences set there.
    public func document(_ rng: inout Rng) -> [WorldSentence] {
        if rng.chance(0.2) { return cityDocument(&rng) }
        let p = personSampler.sample(&rng)
        let name = lexicon.people[p]
        let facts = knowledge.factsBySubject[name] ?? []
        let places = facts.filter {
            ["born_in", "lives_in"].contains(worldRelations[knowledge.facts[$0].relation].name)
        }
        .map { knowledge.facts[$0].object }
        var d = grammar.discourse(
            &rng, topic: Grammar.Topic(name: name, female: lexicon.genders[p]), places: Array(Set(places)).sorted())
        let first = statement(rng.pick(facts), &rng)
        return body(first: first, facts: facts, sentences: 6 + rng.below(14), d: &d, &rng)
    }

    func cityDocument(_ rng: inout Rng) -> [WorldSentence] {
        let city = lexicon.cities[citySampler.sample(&rng)]
        var facts = knowledge.factsBySubject[city] ?? []
        if let loc = facts.first(where: { worldRelations[knowledge.facts[$0].relation].name == "located_in" }) {
            facts += knowledge.factsBySubject[knowledge.facts[loc].object] ?? []
        }
        var d = grammar.discourse(&rng, topic: nil, places: [city])
        let first = statement(facts[0], &rng)
        return body(first: first, facts: facts, sentences: 4 + rng.below(8), d: &d, &rng)
    }

    /// A document after its first sentence: n sentences, each a statement of one of `facts` (with
    /// probability factShare) or a sentence of the discourse with its marker.
    func body(
        first: WorldSentence, facts: [Int], sentences n: Int, d: inout Grammar.Discourse, _ rng: inout Rng
    ) -> [WorldSentence] {
        var doc = [first]
        for k in 0..<n {
            if rng.chance(sizes.factShare) {
                doc.append(statement(rng.pick(facts), &rng))
            } else {
                doc.append(grammar.sentence(&rng, d: &d, marker: marker(k, of: n, &rng)))
            }
        }
        return doc
    }

    /// A discourse marker for body sentence k of n (about half the sentences get one): early ones open
    /// a document, late ones close it, which is what sentence-order prediction can learn from.
    func marker(_ k: Int, of n: Int, _ rng: inout Rng) -> String? {
        guard rng.chance(0.5) else { return nil }
        let phase = k * 3 < n ? 0 : k * 3 < 2 * n ? 1 : 2
        return rng.pick(Lexicon.discourseMarkers[phase])
    }

    /// A statement of fact `f` in one of its trained phrasings (never its held-out one).
    func statement(_ f: Int, _ rng: inout Rng) -> WorldSentence {
        let fact = knowledge.facts[f]
        let t = rng.pick(fact.trainedPhrasings)
        var s = Grammar.statement(fact, phrasing: t)
        s.fact = f
        s.phrasing = t
        return s
    }
}

/// What `World.write` produced, for world.json and the caller.
public struct WorldSummary: Sendable {
    public var tokens = 0
    public var sentences = 0
    public var documents = 0
    public var probeSentences = 0
    public var factCounts: [Int] = []
    /// Statements per relation and phrasing.
    public var phrasingCounts: [[Int]] = []
    public var uposCounts: [String: Int] = [:]
    public var forms = Set<String>()
    /// Minimal pairs written per paradigm (pairs/).
    public var pairs: [String: Int] = [:]
}

extension World {
    /// Writes train.txt, train.heads, pairs/, probe.conllu, facts/, tasks/ and world.json into `dir`.
    public func write(to dir: URL, progress: ((Int, Int) -> Void)? = nil) throws -> WorldSummary {
        let fm = FileManager.default
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw EmbryoError.io(dir.path, "cannot create directory: \(error.localizedDescription)")
        }
        var summary = WorldSummary()
        summary.factCounts = Array(repeating: 0, count: knowledge.facts.count)
        summary.phrasingCounts = worldRelations.map { Array(repeating: 0, count: $0.phrasings.count) }
        var trainSet = Set<String>()
        var out = Data(), heads = Data()
        forEachTrainingDocument { doc in
            if summary.documents > 0 {
                out.append(0x0A)
                heads.append(0x0A)
            }
            for s in doc {
                let text = s.text
                out.append(contentsOf: text.utf8)
                out.append(0x0A)
                heads.append(contentsOf: s.headsLine.utf8)
                heads.append(0x0A)
                trainSet.insert(text)
                summary.tokens += s.tokens.count
                summary.sentences += 1
                if let f = s.fact {
                    summary.factCounts[f] += 1
                    summary.phrasingCounts[knowledge.facts[f].relation][s.phrasing!] += 1
                }
                for t in s.tokens {
                    summary.uposCounts[t.upos, default: 0] += 1
                    summary.forms.insert(t.form.lowercased())
                }
            }
            summary.documents += 1
            if summary.documents % 2000 == 0 { progress?(summary.tokens, sizes.tokens) }
        }
        try writeAtomically(out, to: dir.appendingPathComponent("train.txt"))
        try writeAtomically(heads, to: dir.appendingPathComponent(World.headsFile))
        progress?(sizes.tokens, sizes.tokens)
        summary.pairs = try writePairs(to: dir.appendingPathComponent("pairs"), train: trainSet, forms: summary.forms)

        // held-out probe sentences: same distribution, none that occurs in train.txt
        var probeRng = Rng(seed: seed ^ stableHash("probe"))
        var probe: [WorldSentence] = []
        var probeTexts = Set<String>()
        let wanted = min(sizes.probeSentences, max(50, summary.sentences / 10))
        var attempts = 0
        while probe.count < wanted && attempts < wanted * 50 {
            for s in document(&probeRng) where probe.count < wanted {
                attempts += 1
                let t = s.text
                if trainSet.contains(t) || probeTexts.contains(t) { continue }
                probeTexts.insert(t)
                probe.append(s)
            }
        }
        summary.probeSentences = probe.count
        try writeAtomically(Data(conllu(probe).utf8), to: dir.appendingPathComponent("probe.conllu"))
        try writeFacts(to: dir.appendingPathComponent("facts"), counts: summary.factCounts)
        let taskSizes = try writeTasks(to: dir.appendingPathComponent("tasks"))
        try writeSummary(summary, taskSizes: taskSizes, to: dir.appendingPathComponent("world.json"))
        return summary
    }

    /// The documents of train.txt in order, as the generator makes them: until the requested tokens are
    /// reached, from the training stream of the seed.
    func forEachTrainingDocument(_ body: ([WorldSentence]) throws -> Void) rethrows {
        var rng = Rng(seed: seed ^ stableHash("train")), tokens = 0
        while tokens < sizes.tokens {
            let doc = document(&rng)
            try body(doc)
            tokens += doc.reduce(0) { $0 + $1.tokens.count }
        }
    }

    /// train.heads alone, replaying the generator exactly as `write` does (for a world written before the
    /// file existed; an edited world cannot be replayed), checked line by line against its train.txt.
    public func writeHeads(to url: URL, checking train: URL) throws {
        let text = String(decoding: try readFile(train), as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        var heads = Data(), line = 0
        try forEachTrainingDocument { doc in
            if line > 0 {
                heads.append(0x0A)
                line += 1
            }
            for s in doc {
                guard line < text.count, text[line] == s.text else {
                    throw EmbryoError.format(
                        "\(train.path):\(line + 1)",
                        "not the sentence this world's generator makes there, so its gold trees cannot be replayed")
                }
                line += 1
                heads.append(contentsOf: s.headsLine.utf8)
                heads.append(0x0A)
            }
        }
        try writeAtomically(heads, to: url)
    }

    /// CoNLL-U text of `sentences` (sent_id probe-N, # text, SpaceAfter=No where the text has no space).
    public func conllu(_ sentences: [WorldSentence]) -> String {
        var s = ""
        for (n, sent) in sentences.enumerated() {
            s += "# sent_id = probe-\(n + 1)\n# text = \(sent.text)\n"
            for (i, t) in sent.tokens.enumerated() {
                let misc = t.spaceAfter || i == sent.tokens.count - 1 ? "_" : "SpaceAfter=No"
                s +=
                    "\(i + 1)\t\(t.form)\t\(t.lemma)\t\(t.upos)\t\(t.xpos)\t\(t.feats)\t\(t.head)\t\(t.deprel)\t_\t\(misc)\n"
            }
            s += "\n"
        }
        return s
    }

    /// facts/: LAMA's layout (relations.jsonl with each relation's template, <relation>.jsonl with
    /// sub_label and obj_label), plus per fact how often train.txt states it, the phrasings it was stated
    /// with and the one held out for it. `objects` replaces the facts' objects (an edited world's).
    func writeFacts(to dir: URL, counts: [Int], objects: [String]? = nil, only: Set<Int>? = nil) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var relLines: [String] = []
        for (ri, r) in worldRelations.enumerated() {
            let templates = r.phrasings.map { plainTemplate($0) }
            relLines.append(
                jsonLine([
                    ("relation", r.name), ("template", r.template), ("label", r.label), ("type", r.type),
                    ("templates", templates),
                    (
                        "note",
                        "train.txt states each fact in every template but its heldout_template, which it uses for other facts"
                    ),
                ]))
            var lines: [String] = []
            for (f, fact) in knowledge.facts.enumerated() where fact.relation == ri && only?.contains(f) != false {
                lines.append(
                    jsonLine([
                        ("sub_label", fact.subject), ("obj_label", objects?[f] ?? fact.object), ("count", counts[f]),
                        ("trained_templates", fact.trainedPhrasings.map { templates[$0] }),
                        ("heldout_template", templates[fact.heldOutPhrasing]),
                    ]))
            }
            if lines.isEmpty && only != nil {
                relLines.removeLast()  // a subset without this relation
                continue
            }
            try writeAtomically(
                Data((lines.joined(separator: "\n") + "\n").utf8), to: dir.appendingPathComponent("\(r.name).jsonl"))
        }
        try writeAtomically(
            Data((relLines.joined(separator: "\n") + "\n").utf8), to: dir.appendingPathComponent("relations.jsonl"))
    }

    func writeSummary(_ s: WorldSummary, taskSizes: [String: [String: Int]], to url: URL) throws {
        var relations: [String: Any] = [:]
        for (ri, r) in worldRelations.enumerated() {
            let counts = knowledge.facts.indices.filter { knowledge.facts[$0].relation == ri }.map { s.factCounts[$0] }
            relations[r.name] =
                [
                    "type": r.type, "facts": counts.count, "statements": counts.reduce(0, +),
                    "max_count": counts.max() ?? 0,
                    "unseen": counts.filter { $0 == 0 }.count,
                    "seen_1_to_5": counts.filter { $0 >= 1 && $0 <= 5 }.count,
                    "seen_over_100": counts.filter { $0 > 100 }.count,
                    "phrasings": r.phrasings.enumerated().map { (t, ph) in
                        ["template": plainTemplate(ph), "statements": s.phrasingCounts[ri][t]] as [String: Any]
                    },
                ] as [String: Any]
        }
        let obj: [String: Any] = [
            "generator": "embryo world", "generator_version": World.version, "seed": seed,
            "requested_tokens": sizes.tokens, "tokens": s.tokens, "sentences": s.sentences, "documents": s.documents,
            "probe_sentences": s.probeSentences, "distinct_word_forms": s.forms.count,
            "upos_counts": s.uposCounts,
            "lexicon": [
                "nouns": lexicon.nouns.count, "verbs": lexicon.verbs.count, "noun_verb_ambiguous": lexicon.ambiguous,
                "adjectives": lexicon.adjectives.count, "adverbs": lexicon.adverbs.count,
                "people": lexicon.people.count,
                "cities": lexicon.cities.count, "countries": lexicon.countries.count,
                "languages": lexicon.languages.count,
                "occupations": lexicon.occupations.count, "function_words": Lexicon.functionWords.count,
                "semantic_classes": lexicon.classes,
            ],
            "structure": [
                "selectional_preferences":
                    "transitive verbs select their object's class, every verb the class of a common-noun subject, adjectives their noun's class",
                "documents":
                    "80% about one person (Zipf over people), 20% about one city; each states and restates its topic's facts",
                "discourse":
                    "six recurring nouns per document (a on first mention, the after), one narrative tense, position-graded discourse markers",
                "fact_share": sizes.factShare,
            ],
            "relations": relations, "tasks": taskSizes, "pairs": s.pairs,
            "files": [
                "train.txt", "train.heads", "probe.conllu", "facts/relations.jsonl", "facts/<relation>.jsonl",
                "tasks/<task>/{train,dev,test}.tsv", "pairs/<UID>.jsonl",
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data + Data("\n".utf8), to: url)
    }
}

/// "[X] was born in [Y] ." from an annotated template.
func plainTemplate(_ t: String) -> String {
    t.split(separator: " ").map { String($0.split(separator: "|")[0]) }.joined(separator: " ") + " ."
}

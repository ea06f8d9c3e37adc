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
    /// Share of sentences that state a fact.
    public var factShare = 0.22

    public init() {}
}

public final class World {
    public static let version = 2
    public let seed: UInt64
    public let sizes: WorldSizes
    public let lexicon: Lexicon
    public let knowledge: KnowledgeBase
    let grammar: Grammar
    let factSampler: ZipfSampler

    public init(seed: UInt64, sizes: WorldSizes = WorldSizes()) {
        self.seed = seed
        self.sizes = sizes
        var rng = Rng(seed: seed ^ stableHash("lexicon"))
        lexicon = Lexicon(rng: &rng, sizes: sizes)
        knowledge = KnowledgeBase(lexicon: lexicon, rng: &rng)
        grammar = Grammar(lexicon: lexicon)
        factSampler = ZipfSampler(weights: knowledge.weights)
    }

    func topic(for name: String) -> Grammar.Topic? {
        guard let i = lexicon.people.firstIndex(of: name) else { return nil }
        return Grammar.Topic(name: name, female: lexicon.genders[i])
    }

    /// One document: a named statement of a (Zipf-sampled) fact, then sentences that refer to its subject
    /// by pronoun (when a person), interleaved with further named fact statements.
    public func document(_ rng: inout Rng) -> [WorldSentence] {
        let first = factSampler.sample(&rng)
        let subject = knowledge.facts[first].subject
        let topic = self.topic(for: subject)
        var doc = [statement(first, &rng)]
        let n = 8 + rng.below(16)
        for _ in 0..<n {
            if rng.chance(sizes.factShare) {
                doc.append(statement(factSampler.sample(&rng), &rng))
            } else {
                doc.append(grammar.sentence(&rng, topic: topic))
            }
        }
        return doc
    }

    func statement(_ f: Int, _ rng: inout Rng) -> WorldSentence {
        let fact = knowledge.facts[f]
        var s = Grammar.statement(fact, template: rng.below(worldRelations[fact.relation].trainTemplates.count))
        s.fact = f
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
    public var uposCounts: [String: Int] = [:]
    public var forms = Set<String>()
}

extension World {
    /// Writes train.txt, probe.conllu, facts/, tasks/ and world.json into `dir`.
    public func write(to dir: URL, progress: ((Int, Int) -> Void)? = nil) throws -> WorldSummary {
        let fm = FileManager.default
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw EmbryoError.io(dir.path, "cannot create directory: \(error.localizedDescription)")
        }
        var summary = WorldSummary()
        summary.factCounts = Array(repeating: 0, count: knowledge.facts.count)
        var trainSet = Set<String>()
        var out = Data()
        var rng = Rng(seed: seed ^ stableHash("train"))
        while summary.tokens < sizes.tokens {
            let doc = document(&rng)
            if summary.documents > 0 { out.append(0x0A) }
            for s in doc {
                let text = s.text
                out.append(contentsOf: text.utf8)
                out.append(0x0A)
                trainSet.insert(text)
                summary.tokens += s.tokens.count
                summary.sentences += 1
                if let f = s.fact { summary.factCounts[f] += 1 }
                for t in s.tokens {
                    summary.uposCounts[t.upos, default: 0] += 1
                    summary.forms.insert(t.form.lowercased())
                }
            }
            summary.documents += 1
            if summary.documents % 2000 == 0 { progress?(summary.tokens, sizes.tokens) }
        }
        try writeAtomically(out, to: dir.appendingPathComponent("train.txt"))
        progress?(sizes.tokens, sizes.tokens)

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

    func writeFacts(to dir: URL, counts: [Int]) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var relLines: [String] = []
        for (ri, r) in worldRelations.enumerated() {
            let train = r.trainTemplates.map { plainTemplate($0) }
            relLines.append(
                jsonLine([
                    ("relation", r.name), ("template", r.probeTemplate), ("label", r.label), ("type", r.type),
                    ("train_templates", train),
                    (
                        "note",
                        "the probe template never appears in train.txt; the training text states facts only through train_templates"
                    ),
                ]))
            var lines: [String] = []
            for (f, fact) in knowledge.facts.enumerated() where fact.relation == ri {
                lines.append(
                    jsonLine([("sub_label", fact.subject), ("obj_label", fact.object), ("count", counts[f])]))
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
            ],
            "relations": relations, "tasks": taskSizes,
            "files": [
                "train.txt", "probe.conllu", "facts/relations.jsonl", "facts/<relation>.jsonl",
                "tasks/<task>/{train,dev,test}.tsv",
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

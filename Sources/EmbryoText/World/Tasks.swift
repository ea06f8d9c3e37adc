// Downstream tasks over the built-in world, in GLUE's TSV layout (header row, train/dev/test):
//   grammar     single sentence: grammatical (1) or minimally corrupted (0), like CoLA
//   factcheck   single sentence: a true statement about the world (1) or a false one (0)
//   paraphrase  sentence pair: the two sentences state the same fact (1) or not (0)
// Labels are balanced; every split is drawn from its own seeded stream.

import EmbryoCore
import Foundation

extension World {
    /// Writes tasks/<task>/{train,dev,test}.tsv; returns the example counts.
    func writeTasks(to dir: URL) throws -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        let splits = [("train", sizes.taskTrain), ("dev", sizes.taskEval), ("test", sizes.taskEval)]
        for (task, header) in [
            ("grammar", "sentence\tlabel"), ("factcheck", "sentence\tlabel"),
            ("paraphrase", "sentence1\tsentence2\tlabel"),
        ] {
            let tdir = dir.appendingPathComponent(task)
            try FileManager.default.createDirectory(at: tdir, withIntermediateDirectories: true)
            for (si, (split, n)) in splits.enumerated() {
                var rng = Rng(seed: seed ^ stableHash("task \(task) \(si)"))
                var lines = [header]
                for i in 0..<n {
                    let label = i % 2 == 0 ? 1 : 0  // balanced, then shuffled below
                    switch task {
                    case "grammar": lines.append("\(grammarExample(&rng, grammatical: label == 1))\t\(label)")
                    case "factcheck": lines.append("\(factExample(&rng, truth: label == 1))\t\(label)")
                    default:
                        let (a, b) = paraphraseExample(&rng, same: label == 1)
                        lines.append("\(a)\t\(b)\t\(label)")
                    }
                }
                var body = Array(lines.dropFirst())
                rng.shuffle(&body)
                try writeAtomically(
                    Data(([header] + body).joined(separator: "\n").utf8 + Data("\n".utf8)),
                    to: tdir.appendingPathComponent("\(split).tsv"))
                counts[task, default: [:]][split] = n
            }
        }
        return counts
    }

    /// A generated sentence, or a minimal corruption of one: broken agreement, wrong pronoun case,
    /// or two adjacent words swapped.
    func grammarExample(_ rng: inout Rng, grammatical: Bool) -> String {
        while true {
            var d = grammar.discourse(&rng, topic: nil, places: [])
            let s = grammar.sentence(&rng, d: &d)
            if grammatical { return s.text }
            if let bad = corrupt(s, &rng) { return bad }
        }
    }

    func corrupt(_ s: WorldSentence, _ rng: inout Rng) -> String? {
        var t = s.tokens
        let swaps: [String: String] = [
            "is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has",
            "does": "do", "do": "does", "he": "him", "she": "her", "they": "them", "we": "us",
            "him": "he", "them": "they", "us": "we",
        ]
        var options: [() -> Void] = []
        for i in t.indices {
            let lower = t[i].form.lowercased()
            if let r = swaps[lower], t[i].upos == "AUX" || (t[i].upos == "PRON" && t[i].xpos == "PRP") {
                options.append { t[i].form = i == 0 ? r.prefix(1).uppercased() + r.dropFirst() : r }
            }
            if t[i].upos == "VERB" && t[i].xpos == "VBZ", let v = lexicon.verbs.first(where: { $0.third == t[i].form })
            {
                options.append { t[i].form = v.base }
            }
            if t[i].upos == "VERB" && t[i].xpos == "VBP", let v = lexicon.verbs.first(where: { $0.base == t[i].form }) {
                options.append { t[i].form = v.third }
            }
            if i + 1 < t.count && t[i].upos != "PUNCT" && t[i + 1].upos != "PUNCT" && t[i].form != t[i + 1].form
                && (t[i].upos == "DET" || t[i].upos == "ADJ")
            {
                options.append {
                    let a = t[i].form, b = t[i + 1].form
                    t[i].form = i == 0 ? b.prefix(1).uppercased() + b.dropFirst() : b
                    t[i + 1].form = i == 0 ? a.lowercased() : a
                }
            }
        }
        guard !options.isEmpty else { return nil }
        rng.pick(options)()
        let text = WorldSentence(tokens: t).text
        return text == s.text ? nil : text
    }

    /// A fact statement in one of its trained phrasings; false ones swap in another object of the same
    /// kind. Subjects are drawn as often as the corpus talks about them, so what pretraining saw most is
    /// what the task asks most.
    func factExample(_ rng: inout Rng, truth: Bool) -> String {
        let f = frequentFact(&rng)
        var fact = knowledge.facts[f]
        let t = rng.pick(fact.trainedPhrasings)
        if !truth { fact = fact.with(object: otherObject(fact, &rng)) }
        return Grammar.statement(fact, phrasing: t).text
    }

    /// A fact of a person drawn with the corpus's Zipf weights.
    func frequentFact(_ rng: inout Rng) -> Int {
        rng.pick(knowledge.factsBySubject[lexicon.people[personSampler.sample(&rng)]]!)
    }

    func otherObject(_ fact: Fact, _ rng: inout Rng) -> String {
        let pool: [String]
        switch worldRelations[fact.relation].object {
        case .city: pool = lexicon.cities
        case .country: pool = lexicon.countries
        case .language: pool = lexicon.languages
        case .occupation: pool = lexicon.occupations.map(\.singular)
        case .person: pool = lexicon.people
        }
        while true {
            let o = rng.pick(pool)
            if o != fact.object { return o }
        }
    }

    /// Two statements of one fact in different phrasings, or of two facts sharing the subject and relation.
    func paraphraseExample(_ rng: inout Rng, same: Bool) -> (String, String) {
        let fact = knowledge.facts[rng.below(knowledge.facts.count)]
        let n = worldRelations[fact.relation].phrasings.count
        let t1 = rng.below(n)
        let t2 = (t1 + 1 + rng.below(n - 1)) % n
        let other = same ? fact : fact.with(object: otherObject(fact, &rng))
        return (
            Grammar.statement(fact, phrasing: t1).text,
            Grammar.statement(other, phrasing: same || rng.chance(0.5) ? t2 : t1).text
        )
    }
}

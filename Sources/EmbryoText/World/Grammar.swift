// The built-in world's probabilistic grammar: noun phrases (determiners, adjectives, prepositional
// modifiers, relative clauses), verb phrases with tense, aspect, negation and agreement, copular
// clauses, subordinate and coordinated clauses, yes/no questions, and the knowledge base's phrasings.
// Content words obey selectional preferences (a verb picks the class of its object and of a common-noun
// subject, an adjective the class of its noun), and a Discourse carries what a document has said: its
// topic, its recurring nouns (introduced with "a", then "the"), its tense and its places.
// Each word is added with its gold UPOS, Penn tag, features, head and UD relation.

import EmbryoCore

struct Grammar {
    let lx: Lexicon
    let nounZipf, verbZipf, adjZipf, advZipf, personZipf: ZipfSampler
    /// Zipf samplers over the members of each class's lists (same order as the lexicon's indices).
    let classNounZipf: [ZipfSampler]

    init(lexicon: Lexicon) {
        lx = lexicon
        nounZipf = ZipfSampler(count: lexicon.nouns.count)
        verbZipf = ZipfSampler(count: lexicon.verbs.count)
        adjZipf = ZipfSampler(count: lexicon.adjectives.count)
        advZipf = ZipfSampler(count: lexicon.adverbs.count)
        personZipf = ZipfSampler(count: lexicon.people.count)
        classNounZipf = lexicon.nounsByClass.map { ZipfSampler(count: max(1, $0.count)) }
    }

    /// Who a pronoun in this document refers to (the topic person), if anyone.
    struct Topic {
        var name: String
        var female: Bool
    }

    /// What a document has established so far.
    struct Discourse {
        var topic: Topic? = nil
        /// Nouns the document keeps returning to, and those already introduced (definite from then on).
        var scene: [Int] = []
        var mentioned = Set<Int>()
        var tense: Tense = .past
        /// Cities the document is about (the topic's home and birthplace, or the topic city).
        var places: [String] = []
    }

    /// A new document's discourse: two classes and six nouns from them, a narrative tense.
    func discourse(_ rng: inout Rng, topic: Topic?, places: [String]) -> Discourse {
        var d = Discourse(topic: topic, places: places)
        let c1 = rng.below(lx.classes), c2 = rng.below(lx.classes)
        for k in 0..<6 { d.scene.append(classNoun(k % 2 == 0 ? c1 : c2, &rng)) }
        d.tense = rng.chance(0.6) ? .past : .present
        return d
    }

    func classNoun(_ c: Int, _ rng: inout Rng) -> Int { lx.nounsByClass[c][classNounZipf[c].sample(&rng)] }

    /// A noun for a slot that selects class `c` (nil: any): mostly one the document already uses.
    func pickNoun(_ d: Discourse, _ rng: inout Rng, cls c: Int?) -> Int {
        let fitting = c.map { c in d.scene.filter { lx.nouns[$0].cls == c } } ?? d.scene
        if !fitting.isEmpty && rng.chance(0.7) { return rng.pick(fitting) }
        if let c { return classNoun(c, &rng) }
        return nounZipf.sample(&rng)
    }

    func adjective(for noun: Int, _ rng: inout Rng) -> String {
        let pool = lx.adjectivesByClass[lx.nouns[noun].cls]
        return lx.adjectives[pool.isEmpty ? adjZipf.sample(&rng) : pool[ZipfSampler.small(pool.count, &rng)]]
    }

    struct NP {
        var head: Int
        var plural: Bool
        var person: Int  // 1, 2 or 3
        var noun: Int? = nil  // lexicon index of a common noun head
    }

    // MARK: noun phrases

    /// A subject or object: the topic, a pronoun, a person, or a common noun (of class `cls` when the verb
    /// selects one; `animate` allows the non-common choices).
    func nounPhrase(
        _ b: inout SentenceBuilder, _ rng: inout Rng, accusative: Bool, depth: Int, d: inout Discourse, cls: Int?,
        animate: Bool
    ) -> NP {
        if animate {
            let r = rng.uniform()
            if let topic = d.topic, r < 0.3 { return topicPronoun(&b, topic, accusative: accusative) }
            if r < 0.4 { return pronoun(&b, &rng, accusative: accusative) }
            if r < 0.48 {
                let name = d.topic.map(\.name) ?? lx.people[personZipf.sample(&rng)]
                return NP(head: b.add(name, name, "PROPN", "NNP", "Number=Sing"), plural: false, person: 3)
            }
        }
        let noun = pickNoun(d, &rng, cls: cls)
        let np = commonNP(&b, &rng, noun: noun, depth: depth, d: &d)
        if depth < 2 && rng.chance(0.05) {
            // coordination: "NP and NP" is plural; the second noun from the same class
            let c = rng.pick(["and", "and", "or"])
            let cc = b.add(c, c, "CCONJ", "CC")
            let second = commonNP(&b, &rng, noun: pickNoun(d, &rng, cls: lx.nouns[noun].cls), depth: depth + 1, d: &d)
            b.attach(cc, to: second.head, "cc")
            b.attach(second.head, to: np.head, "conj")
            return NP(head: np.head, plural: c == "and" || np.plural, person: 3, noun: noun)
        }
        return np
    }

    func topicPronoun(_ b: inout SentenceBuilder, _ t: Topic, accusative: Bool) -> NP {
        let form = t.female ? (accusative ? "her" : "she") : (accusative ? "him" : "he")
        let feats =
            "Case=\(accusative ? "Acc" : "Nom")|Gender=\(t.female ? "Fem" : "Masc")|Number=Sing|Person=3|PronType=Prs"
        return NP(head: b.add(form, t.female ? "she" : "he", "PRON", "PRP", feats), plural: false, person: 3)
    }

    func pronoun(_ b: inout SentenceBuilder, _ rng: inout Rng, accusative: Bool) -> NP {
        // (nominative, accusative, person, plural)
        let all: [(String, String, Int, Bool)] = [
            ("i", "me", 1, false), ("you", "you", 2, false), ("we", "us", 1, true), ("they", "them", 3, true),
        ]
        let (nom, acc, person, plural) = rng.pick(all)
        let form = accusative ? acc : nom
        var feats =
            "Case=\(accusative ? "Acc" : "Nom")|Number=\(plural ? "Plur" : "Sing")|Person=\(person)|PronType=Prs"
        if person == 2 { feats = "Case=\(accusative ? "Acc" : "Nom")|Person=2|PronType=Prs" }
        let id = b.add(form == "i" ? "I" : form, nom == "i" ? "I" : nom, "PRON", "PRP", feats)
        return NP(head: id, plural: plural, person: person)
    }

    /// A common-noun phrase headed by `noun`: its determiner follows the discourse (indefinite on first
    /// mention, definite after), its adjective the noun's class.
    func commonNP(_ b: inout SentenceBuilder, _ rng: inout Rng, noun n: Int, depth: Int, d: inout Discourse) -> NP {
        let plural = rng.chance(0.3)
        let noun = lx.nouns[n]
        let known = d.mentioned.contains(n)
        d.mentioned.insert(n)
        var dependents: [(Int, String)] = []
        if let topic = d.topic, known, rng.chance(0.12) {
            let form = topic.female ? "her" : "his"
            let id = b.add(
                form, topic.female ? "she" : "he", "PRON", "PRP$",
                "Gender=\(topic.female ? "Fem" : "Masc")|Number=Sing|Person=3|Poss=Yes|PronType=Prs")
            dependents.append((id, "nmod:poss"))
        } else if plural && !known && rng.chance(0.15) {
            let num = rng.pick(Lexicon.numbers)
            dependents.append((b.add(num, num, "NUM", "CD", "NumForm=Word|NumType=Card"), "nummod"))
        } else if plural {
            let det =
                known
                ? (rng.chance(0.8) ? "the" : rng.pick(["these", "those"]))
                : (rng.chance(0.5) ? nil : rng.pick(["some", "some", "many", "no"]))
            if let det { dependents.append((b.add(det, det, "DET", "DT", detFeats(det)), "det")) }
        } else {
            var det =
                known
                ? (rng.chance(0.85) ? "the" : rng.pick(["this", "that"]))
                : (rng.chance(0.8) ? "a" : rng.pick(["every", "each", "no"]))
            let adj = rng.chance(0.3) ? adjective(for: n, &rng) : nil
            if det == "a" && "aeiou".contains((adj ?? noun.singular).first!) { det = "an" }
            dependents.append((b.add(det, det == "an" ? "a" : det, "DET", "DT", detFeats(det)), "det"))
            if let adj { dependents.append((b.add(adj, adj, "ADJ", "JJ", "Degree=Pos"), "amod")) }
            return finishNoun(&b, &rng, noun: n, plural: false, dependents: dependents, depth: depth, d: &d)
        }
        if rng.chance(0.3) {
            let adj = adjective(for: n, &rng)
            dependents.append((b.add(adj, adj, "ADJ", "JJ", "Degree=Pos"), "amod"))
        }
        return finishNoun(&b, &rng, noun: n, plural: plural, dependents: dependents, depth: depth, d: &d)
    }

    func finishNoun(
        _ b: inout SentenceBuilder, _ rng: inout Rng, noun n: Int, plural: Bool, dependents: [(Int, String)],
        depth: Int, d: inout Discourse
    ) -> NP {
        let noun = lx.nouns[n]
        let head = b.add(
            plural ? noun.plural : noun.singular, noun.singular, "NOUN", plural ? "NNS" : "NN",
            "Number=\(plural ? "Plur" : "Sing")")
        for (dep, rel) in dependents { b.attach(dep, to: head, rel) }
        if depth < 2 && rng.chance(0.08) {
            // prepositional modifier with another of the document's nouns
            let p = rng.pick(Lexicon.prepositions)
            let case_ = b.add(p, p, "ADP", "IN")
            let np = commonNP(&b, &rng, noun: pickNoun(d, &rng, cls: nil), depth: depth + 1, d: &d)
            b.attach(case_, to: np.head, "case")
            b.attach(np.head, to: head, "nmod")
        } else if depth < 1 && rng.chance(0.07) {
            // relative clause: "that VP", the verb selecting the head noun as its subject
            let rel = b.add("that", "that", "PRON", "WDT", "PronType=Rel")
            let subject = NP(head: rel, plural: plural, person: 3, noun: n)
            let v = verbPhrase(&b, &rng, subject: subject, depth: depth + 1, d: &d, question: false)
            b.attach(rel, to: v, "nsubj")
            b.attach(v, to: head, "acl:relcl")
        }
        return NP(head: head, plural: plural, person: 3, noun: n)
    }

    func detFeats(_ d: String) -> String {
        switch d {
        case "the": return "Definite=Def|PronType=Art"
        case "a", "an": return "Definite=Ind|PronType=Art"
        case "this", "that": return "Number=Sing|PronType=Dem"
        case "these", "those": return "Number=Plur|PronType=Dem"
        case "no": return "PronType=Neg"
        case "every", "each": return "PronType=Tot"
        default: return "PronType=Ind"
        }
    }
}

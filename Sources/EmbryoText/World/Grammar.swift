// The built-in world's probabilistic grammar: noun phrases (determiners, adjectives, prepositional
// modifiers, relative clauses), verb phrases with tense, aspect, negation and agreement, copular
// clauses, subordinate and coordinated clauses, yes/no questions, and the knowledge base's templates.
// Each word is added with its gold UPOS, Penn tag, features, head and UD relation.

import EmbryoCore

struct Grammar {
    let lx: Lexicon
    let nounZipf, verbZipf, transZipf, intransZipf, adjZipf, advZipf, personZipf: ZipfSampler
    let transitive: [Int], intransitive: [Int]

    init(lexicon: Lexicon) {
        lx = lexicon
        nounZipf = ZipfSampler(count: lexicon.nouns.count)
        verbZipf = ZipfSampler(count: lexicon.verbs.count)
        transitive = lexicon.verbs.indices.filter { lexicon.verbs[$0].transitive }
        intransitive = lexicon.verbs.indices.filter { !lexicon.verbs[$0].transitive }
        transZipf = ZipfSampler(count: transitive.count)
        intransZipf = ZipfSampler(count: intransitive.count)
        adjZipf = ZipfSampler(count: lexicon.adjectives.count)
        advZipf = ZipfSampler(count: lexicon.adverbs.count)
        personZipf = ZipfSampler(count: lexicon.people.count)
    }

    /// Who a pronoun in this document refers to (the topic person), if anyone.
    struct Topic {
        var name: String
        var female: Bool
    }

    struct NP {
        var head: Int
        var plural: Bool
        var person: Int  // 1, 2 or 3
    }

    // MARK: noun phrases

    func nounPhrase(_ b: inout SentenceBuilder, _ rng: inout Rng, accusative: Bool, depth: Int, topic: Topic?) -> NP {
        let r = rng.uniform()
        if let topic, r < 0.25 {
            return topicPronoun(&b, topic, accusative: accusative)
        }
        if r < 0.37 { return pronoun(&b, &rng, accusative: accusative) }
        if r < 0.45 {
            let name = lx.people[personZipf.sample(&rng)]
            return NP(head: b.add(name, name, "PROPN", "NNP", "Number=Sing"), plural: false, person: 3)
        }
        let np = commonNP(&b, &rng, depth: depth, topic: topic)
        if depth < 2 && rng.chance(0.06) {
            // coordination: "NP and NP" is plural
            let c = rng.pick(["and", "and", "or"])
            let cc = b.add(c, c, "CCONJ", "CC")
            let second = commonNP(&b, &rng, depth: depth + 1, topic: topic)
            b.attach(cc, to: second.head, "cc")
            b.attach(second.head, to: np.head, "conj")
            return NP(head: np.head, plural: c == "and" || np.plural, person: 3)
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
            ("i", "me", 1, false), ("you", "you", 2, false), ("it", "it", 3, false),
            ("we", "us", 1, true), ("they", "them", 3, true),
        ]
        let (nom, acc, person, plural) = rng.pick(all)
        let form = accusative ? acc : nom
        var feats =
            "Case=\(accusative ? "Acc" : "Nom")|Number=\(plural ? "Plur" : "Sing")|Person=\(person)|PronType=Prs"
        if person == 2 { feats = "Case=\(accusative ? "Acc" : "Nom")|Person=2|PronType=Prs" }
        let id = b.add(form == "i" ? "I" : form, nom == "i" ? "I" : nom, "PRON", "PRP", feats)
        return NP(head: id, plural: plural, person: person)
    }

    func commonNP(_ b: inout SentenceBuilder, _ rng: inout Rng, depth: Int, topic: Topic?) -> NP {
        let plural = rng.chance(0.3)
        let noun = lx.nouns[nounZipf.sample(&rng)]
        var dependents: [(Int, String)] = []
        // determiner, possessive or number
        if let topic, rng.chance(0.15) {
            let form = topic.female ? "her" : "his"
            let id = b.add(
                form, topic.female ? "she" : "he", "PRON", "PRP$",
                "Gender=\(topic.female ? "Fem" : "Masc")|Number=Sing|Person=3|Poss=Yes|PronType=Prs")
            dependents.append((id, "nmod:poss"))
        } else if plural && rng.chance(0.12) {
            let n = rng.pick(Lexicon.numbers)
            dependents.append((b.add(n, n, "NUM", "CD", "NumForm=Word|NumType=Card"), "nummod"))
        } else if plural {
            if !rng.chance(0.4) {
                let d = rng.pick(["the", "the", "the", "these", "those", "some", "many", "no"])
                dependents.append((b.add(d, d, "DET", "DT", detFeats(d)), "det"))
            }
        } else {
            var d = rng.pick(["the", "the", "the", "the", "a", "a", "a", "this", "that", "every", "each", "no"])
            let adjFirst = rng.chance(0.3)
            let adj = adjFirst ? lx.adjectives[adjZipf.sample(&rng)] : nil
            if d == "a" && "aeiou".contains((adj ?? noun.singular).first!) { d = "an" }
            dependents.append((b.add(d, d == "an" ? "a" : d, "DET", "DT", detFeats(d)), "det"))
            if let adj { dependents.append((b.add(adj, adj, "ADJ", "JJ", "Degree=Pos"), "amod")) }
            return finishNoun(&b, &rng, noun: noun, plural: false, dependents: dependents, depth: depth, topic: topic)
        }
        if rng.chance(0.3) {
            let adj = lx.adjectives[adjZipf.sample(&rng)]
            dependents.append((b.add(adj, adj, "ADJ", "JJ", "Degree=Pos"), "amod"))
        }
        return finishNoun(&b, &rng, noun: noun, plural: plural, dependents: dependents, depth: depth, topic: topic)
    }

    func finishNoun(
        _ b: inout SentenceBuilder, _ rng: inout Rng, noun: Noun, plural: Bool, dependents: [(Int, String)],
        depth: Int, topic: Topic?
    ) -> NP {
        let head = b.add(
            plural ? noun.plural : noun.singular, noun.singular, "NOUN", plural ? "NNS" : "NN",
            "Number=\(plural ? "Plur" : "Sing")")
        for (d, rel) in dependents { b.attach(d, to: head, rel) }
        if depth < 2 && rng.chance(0.08) {
            // prepositional modifier
            let p = rng.pick(Lexicon.prepositions)
            let case_ = b.add(p, p, "ADP", "IN")
            let np = commonNP(&b, &rng, depth: depth + 1, topic: topic)
            b.attach(case_, to: np.head, "case")
            b.attach(np.head, to: head, "nmod")
        } else if depth < 1 && rng.chance(0.07) {
            // relative clause: "that/who VP"
            let rel = b.add("that", "that", "PRON", "WDT", "PronType=Rel")
            let v = verbPhrase(
                &b, &rng, subject: NP(head: rel, plural: plural, person: 3), depth: depth + 1, topic: topic,
                question: false)
            b.attach(rel, to: v, "nsubj")
            b.attach(v, to: head, "acl:relcl")
        }
        return NP(head: head, plural: plural, person: 3)
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

    // MARK: verb phrases

    enum Tense: CaseIterable { case present, past, progressive, perfect, future, modal }

    /// Builds auxiliaries, the predicate and its complements after an already-built subject; returns the
    /// clause head (the verb, or the adjective of a copular clause). In a question the first auxiliary
    /// was already placed before the subject and is passed in `frontAux`.
    func verbPhrase(
        _ b: inout SentenceBuilder, _ rng: inout Rng, subject: NP, depth: Int, topic: Topic?, question: Bool,
        plan: ClausePlan? = nil, frontAux: Int? = nil
    ) -> Int {
        let plan = plan ?? ClausePlan.random(&rng, question: question)
        let third = subject.person == 3 && !subject.plural
        var auxIds: [Int] = []
        if let frontAux { auxIds.append(frontAux) }
        let lemmaVerbIndex: Int
        switch plan.kind {
        case .copula: lemmaVerbIndex = -1
        case .transitive: lemmaVerbIndex = transitive[transZipf.sample(&rng)]
        case .intransitive: lemmaVerbIndex = intransitive[intransZipf.sample(&rng)]
        }
        // auxiliaries not yet placed
        let auxForms = plan.auxiliaries(
            subjectThird: third, subjectFirstSingular: subject.person == 1 && !subject.plural)
        for (k, aux) in auxForms.enumerated() where !(k == 0 && frontAux != nil) {
            auxIds.append(b.add(aux.form, aux.lemma, "AUX", aux.xpos, aux.feats))
        }
        var neg: Int? = nil
        if plan.negated {
            neg = b.add("not", "not", "PART", "RB", "Polarity=Neg")
        }
        var pre: Int? = nil
        if rng.chance(0.08) {
            let adv = lx.adverbs[advZipf.sample(&rng)]
            pre = b.add(adv, adv, "ADV", "RB")
        }
        let head: Int
        if plan.kind == .copula {
            let adj = lx.adjectives[adjZipf.sample(&rng)]
            if rng.chance(0.15) { pre = pre ?? b.add("very", "very", "ADV", "RB") }
            head = b.add(adj, adj, "ADJ", "JJ", "Degree=Pos")
            for (k, a) in auxIds.enumerated() { b.attach(a, to: head, k == auxIds.count - 1 ? "cop" : "aux") }
        } else {
            let v = lx.verbs[lemmaVerbIndex]
            let (form, xpos, feats) = plan.verbForm(v, subjectThird: third)
            head = b.add(form, v.base, "VERB", xpos, feats)
            for a in auxIds { b.attach(a, to: head, "aux") }
            if plan.kind == .transitive {
                let obj = nounPhrase(&b, &rng, accusative: true, depth: depth + 1, topic: topic)
                b.attach(obj.head, to: head, "obj")
            }
        }
        if let neg { b.attach(neg, to: head, "advmod") }
        if let pre { b.attach(pre, to: head, "advmod") }
        if depth < 2 && rng.chance(0.2) {
            let p = rng.pick(Lexicon.prepositions)
            let c = b.add(p, p, "ADP", "IN")
            let np = nounPhrase(&b, &rng, accusative: true, depth: depth + 1, topic: topic)
            b.attach(c, to: np.head, "case")
            b.attach(np.head, to: head, "obl")
        }
        if plan.kind != .copula && rng.chance(0.2) {
            let adv = lx.adverbs[advZipf.sample(&rng)]
            b.attach(b.add(adv, adv, "ADV", "RB"), to: head, "advmod")
        }
        return head
    }

    /// A full clause (subject + predicate); returns its head.
    func clause(_ b: inout SentenceBuilder, _ rng: inout Rng, depth: Int, topic: Topic?) -> Int {
        let subj = nounPhrase(&b, &rng, accusative: false, depth: depth, topic: topic)
        let head = verbPhrase(&b, &rng, subject: subj, depth: depth, topic: topic, question: false)
        b.attach(subj.head, to: head, "nsubj")
        return head
    }

    /// A generic sentence: declarative (with optional subordinate or coordinated clause) or a question.
    func sentence(_ rng: inout Rng, topic: Topic?) -> WorldSentence {
        var b = SentenceBuilder()
        if rng.chance(0.08) {
            let plan = ClausePlan.random(&rng, question: true)
            // the first auxiliary goes before the subject; its agreement needs the subject, so pick the
            // subject's number first by building it after a placeholder auxiliary
            let auxIndex = b.add("_", "_", "AUX", "_")
            let subj = nounPhrase(&b, &rng, accusative: false, depth: 0, topic: topic)
            let third = subj.person == 3 && !subj.plural
            let first = plan.auxiliaries(subjectThird: third, subjectFirstSingular: subj.person == 1 && !subj.plural)[0]
            b.tokens[auxIndex - 1].form = first.form
            b.tokens[auxIndex - 1].lemma = first.lemma
            b.tokens[auxIndex - 1].xpos = first.xpos
            b.tokens[auxIndex - 1].feats = first.feats
            let head = verbPhrase(
                &b, &rng, subject: subj, depth: 0, topic: topic, question: true, plan: plan, frontAux: auxIndex)
            b.attach(subj.head, to: head, "nsubj")
            return b.finish(root: head, punct: "?")
        }
        var subordinateFirst = false
        var mark = 0, sub = 0
        if rng.chance(0.05) {
            subordinateFirst = true
            let m = rng.pick(Lexicon.subordinators)
            mark = b.add(m, m, "SCONJ", "IN")
            sub = clause(&b, &rng, depth: 1, topic: topic)
            b.attach(mark, to: sub, "mark")
            let comma = b.add(",", ",", "PUNCT", ",")
            b.attach(comma, to: sub, "punct")
        }
        let head = clause(&b, &rng, depth: 0, topic: topic)
        if subordinateFirst { b.attach(sub, to: head, "advcl") }
        if !subordinateFirst && rng.chance(0.1) {
            let m = rng.pick(Lexicon.subordinators)
            let markId = b.add(m, m, "SCONJ", "IN")
            let s = clause(&b, &rng, depth: 1, topic: topic)
            b.attach(markId, to: s, "mark")
            b.attach(s, to: head, "advcl")
        } else if rng.chance(0.08) {
            let comma = b.add(",", ",", "PUNCT", ",")
            let c = rng.pick(Lexicon.conjunctions)
            let cc = b.add(c, c, "CCONJ", "CC")
            let s = clause(&b, &rng, depth: 1, topic: topic)
            b.attach(comma, to: s, "punct")
            b.attach(cc, to: s, "cc")
            b.attach(s, to: head, "conj")
        }
        return b.finish(root: head, punct: ".")
    }

    /// A sentence stating `fact` through one of its relation's training templates.
    static func statement(_ fact: Fact, template t: Int) -> WorldSentence {
        var b = SentenceBuilder()
        let rel = worldRelations[fact.relation]
        var root = 0
        for spec in rel.trainTemplates[t].split(separator: " ") {
            let f = spec.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            var form = f[0], lemma = f[1]
            if form == "[X]" { form = fact.subject; lemma = fact.subject }
            if form == "[Y]" { form = fact.object; lemma = fact.object }
            let feats = f.count > 6 ? f[6...].joined(separator: "|") : "_"
            let id = b.add(form, lemma, f[2], f[3], feats)
            let head = Int(f[4])!
            if head == 0 { root = id } else { b.tokens[id - 1].head = head; b.tokens[id - 1].deprel = f[5] }
        }
        var s = b.finish(root: root, punct: ".")
        s.fact = nil
        return s
    }
}

/// What a clause's predicate looks like: its kind, tense and aspect, negation.
struct ClausePlan {
    enum Kind { case transitive, intransitive, copula }
    var kind: Kind
    var tense: Grammar.Tense
    var negated: Bool

    static func random(_ rng: inout Rng, question: Bool) -> ClausePlan {
        let r = rng.uniform()
        let kind: Kind = r < 0.5 ? .transitive : r < 0.78 ? .intransitive : .copula
        let t = rng.uniform()
        var tense: Grammar.Tense =
            t < 0.36
            ? .present : t < 0.72 ? .past : t < 0.82 ? .progressive : t < 0.9 ? .perfect : t < 0.95 ? .future : .modal
        if kind == .copula && (tense == .progressive || tense == .perfect) { tense = .present }
        return ClausePlan(kind: kind, tense: tense, negated: !question && rng.chance(0.1), isQuestion: question)
    }

    struct Aux {
        var form: String, lemma: String, xpos: String, feats: String
    }

    /// The auxiliary chain, in order (empty for affirmative simple tenses outside questions).
    func auxiliaries(subjectThird: Bool, subjectFirstSingular: Bool) -> [Aux] {
        let pres3 = "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", presN = "Mood=Ind|Tense=Pres|VerbForm=Fin"
        let past = "Mood=Ind|Tense=Past|VerbForm=Fin"
        func be(_ pastTense: Bool) -> Aux {
            if pastTense {
                return subjectThird || subjectFirstSingular
                    ? Aux(form: "was", lemma: "be", xpos: "VBD", feats: past)
                    : Aux(form: "were", lemma: "be", xpos: "VBD", feats: past)
            }
            if subjectFirstSingular { return Aux(form: "am", lemma: "be", xpos: "VBP", feats: presN) }
            return subjectThird
                ? Aux(form: "is", lemma: "be", xpos: "VBZ", feats: pres3)
                : Aux(form: "are", lemma: "be", xpos: "VBP", feats: presN)
        }
        switch (kind, tense) {
        case (.copula, .past): return [be(true)]
        case (.copula, .future):
            return [
                Aux(form: "will", lemma: "will", xpos: "MD", feats: "VerbForm=Fin"),
                Aux(form: "be", lemma: "be", xpos: "VB", feats: "VerbForm=Inf"),
            ]
        case (.copula, .modal):
            return [
                Aux(form: "can", lemma: "can", xpos: "MD", feats: "VerbForm=Fin"),
                Aux(form: "be", lemma: "be", xpos: "VB", feats: "VerbForm=Inf"),
            ]
        case (.copula, _): return [be(false)]
        case (_, .present):
            guard negated || isQuestion else { return [] }
            return [
                subjectThird
                    ? Aux(form: "does", lemma: "do", xpos: "VBZ", feats: pres3)
                    : Aux(form: "do", lemma: "do", xpos: "VBP", feats: presN)
            ]
        case (_, .past):
            guard negated || isQuestion else { return [] }
            return [Aux(form: "did", lemma: "do", xpos: "VBD", feats: past)]
        case (_, .progressive): return [be(false)]
        case (_, .perfect):
            return [
                subjectThird
                    ? Aux(form: "has", lemma: "have", xpos: "VBZ", feats: pres3)
                    : Aux(form: "have", lemma: "have", xpos: "VBP", feats: presN)
            ]
        case (_, .future): return [Aux(form: "will", lemma: "will", xpos: "MD", feats: "VerbForm=Fin")]
        case (_, .modal): return [Aux(form: "can", lemma: "can", xpos: "MD", feats: "VerbForm=Fin")]
        }
    }

    /// Questions always have an auxiliary.
    var isQuestion = false

    func verbForm(_ v: Verb, subjectThird: Bool) -> (String, String, String) {
        switch tense {
        case .present where !(negated || isQuestion):
            return subjectThird
                ? (v.third, "VBZ", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin")
                : (v.base, "VBP", "Mood=Ind|Tense=Pres|VerbForm=Fin")
        case .past where !(negated || isQuestion): return (v.past, "VBD", "Mood=Ind|Tense=Past|VerbForm=Fin")
        case .progressive: return (v.ing, "VBG", "Tense=Pres|VerbForm=Part")
        case .perfect: return (v.participle, "VBN", "Tense=Past|VerbForm=Part")
        default: return (v.base, "VB", "VerbForm=Inf")
        }
    }
}

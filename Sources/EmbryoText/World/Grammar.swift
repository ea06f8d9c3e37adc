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

    // MARK: verb phrases

    enum Tense: CaseIterable { case present, past, progressive, perfect, future, modal }

    /// The verb for a clause of `kind` whose subject is `subject`: chosen by the subject's class when it is
    /// a common noun; otherwise (transitive) by the class of an object noun chosen first.
    func chooseVerb(_ kind: ClausePlan.Kind, subject: NP, d: Discourse, _ rng: inout Rng) -> (verb: Int, object: Int?) {
        if kind == .transitive {
            if let s = subject.noun {
                let pool = lx.transitiveBySubjectClass[lx.nouns[s].cls]
                let v = pool[ZipfSampler.small(pool.count, &rng)]
                return (v, pickNoun(d, &rng, cls: lx.verbs[v].objectClass))
            }
            let o = pickNoun(d, &rng, cls: nil)
            let pool = lx.transitiveByObjectClass[lx.nouns[o].cls]
            return (pool[ZipfSampler.small(pool.count, &rng)], o)
        }
        let c = subject.noun.map { lx.nouns[$0].cls } ?? lx.nouns[rng.pick(d.scene)].cls
        let pool = lx.intransitiveBySubjectClass[c]
        return (pool[ZipfSampler.small(pool.count, &rng)], nil)
    }

    /// Builds auxiliaries, the predicate and its complements after an already-built subject; returns the
    /// clause head (the verb, or the adjective of a copular clause). In a question the first auxiliary
    /// was already placed before the subject and is passed in `frontAux`.
    func verbPhrase(
        _ b: inout SentenceBuilder, _ rng: inout Rng, subject: NP, depth: Int, d: inout Discourse, question: Bool,
        plan: ClausePlan? = nil, frontAux: Int? = nil
    ) -> Int {
        let plan = plan ?? ClausePlan.random(&rng, question: question, narrative: d.tense)
        let third = subject.person == 3 && !subject.plural
        var auxIds: [Int] = []
        if let frontAux { auxIds.append(frontAux) }
        let chosen: (verb: Int, object: Int?)? =
            plan.kind == .copula ? nil : chooseVerb(plan.kind, subject: subject, d: d, &rng)
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
        if rng.chance(0.06) {
            let adv = lx.adverbs[advZipf.sample(&rng)]
            pre = b.add(adv, adv, "ADV", "RB")
        }
        let head: Int
        if let chosen {
            let v = lx.verbs[chosen.verb]
            let (form, xpos, feats) = plan.verbForm(v, subjectThird: third)
            head = b.add(form, v.base, "VERB", xpos, feats)
            for a in auxIds { b.attach(a, to: head, "aux") }
            if let o = chosen.object {
                let obj = commonNP(&b, &rng, noun: o, depth: depth + 1, d: &d)
                b.attach(obj.head, to: head, "obj")
            }
        } else {
            // copula: an adjective of the subject's class (of a document noun's class for people)
            let n = subject.noun ?? rng.pick(d.scene)
            let adj = adjective(for: n, &rng)
            if rng.chance(0.15) { pre = pre ?? b.add("very", "very", "ADV", "RB") }
            head = b.add(adj, adj, "ADJ", "JJ", "Degree=Pos")
            for (k, a) in auxIds.enumerated() { b.attach(a, to: head, k == auxIds.count - 1 ? "cop" : "aux") }
        }
        if let neg { b.attach(neg, to: head, "advmod") }
        if let pre { b.attach(pre, to: head, "advmod") }
        if depth < 2 && rng.chance(0.25) {
            // an oblique: the verb's own preposition, with one of the document's places or nouns
            let p = chosen.map { rng.chance(0.7) ? Lexicon.prepositions[lx.verbs[$0.verb].preposition] : nil } ?? nil
            if !d.places.isEmpty && rng.chance(0.3) {
                let c = b.add("in", "in", "ADP", "IN")
                let city = rng.pick(d.places)
                let pn = b.add(city, city, "PROPN", "NNP", "Number=Sing")
                b.attach(c, to: pn, "case")
                b.attach(pn, to: head, "obl")
            } else {
                let prep = p ?? rng.pick(Lexicon.prepositions)
                let c = b.add(prep, prep, "ADP", "IN")
                let np = commonNP(&b, &rng, noun: pickNoun(d, &rng, cls: nil), depth: depth + 1, d: &d)
                b.attach(c, to: np.head, "case")
                b.attach(np.head, to: head, "obl")
            }
        }
        if let chosen, rng.chance(0.2) {
            // mostly the verb's own adverb
            let v = lx.verbs[chosen.verb]
            let adv = rng.chance(0.7) ? lx.adverbs[v.adverb % lx.adverbs.count] : lx.adverbs[advZipf.sample(&rng)]
            b.attach(b.add(adv, adv, "ADV", "RB"), to: head, "advmod")
        }
        return head
    }

    /// A full clause (subject + predicate); returns its head.
    func clause(_ b: inout SentenceBuilder, _ rng: inout Rng, depth: Int, d: inout Discourse) -> Int {
        let subj = nounPhrase(&b, &rng, accusative: false, depth: depth, d: &d, cls: nil, animate: true)
        let head = verbPhrase(&b, &rng, subject: subj, depth: depth, d: &d, question: false)
        b.attach(subj.head, to: head, "nsubj")
        return head
    }

    /// A generic sentence: declarative (with optional subordinate or coordinated clause) or a question,
    /// optionally opened by a discourse marker ("then ,").
    func sentence(_ rng: inout Rng, d: inout Discourse, marker: String? = nil) -> WorldSentence {
        var b = SentenceBuilder()
        if marker == nil && rng.chance(0.06) {
            let plan = ClausePlan.random(&rng, question: true, narrative: d.tense)
            // the first auxiliary goes before the subject; its agreement needs the subject, so pick the
            // subject's number first by building it after a placeholder auxiliary
            let auxIndex = b.add("_", "_", "AUX", "_")
            let subj = nounPhrase(&b, &rng, accusative: false, depth: 0, d: &d, cls: nil, animate: true)
            let third = subj.person == 3 && !subj.plural
            let first = plan.auxiliaries(subjectThird: third, subjectFirstSingular: subj.person == 1 && !subj.plural)[0]
            b.tokens[auxIndex - 1].form = first.form
            b.tokens[auxIndex - 1].lemma = first.lemma
            b.tokens[auxIndex - 1].xpos = first.xpos
            b.tokens[auxIndex - 1].feats = first.feats
            let head = verbPhrase(
                &b, &rng, subject: subj, depth: 0, d: &d, question: true, plan: plan, frontAux: auxIndex)
            b.attach(subj.head, to: head, "nsubj")
            return b.finish(root: head, punct: "?")
        }
        var opener: [Int] = []
        if let marker {
            opener.append(b.add(marker, marker, "ADV", "RB"))
            opener.append(b.add(",", ",", "PUNCT", ","))
        }
        var subordinateFirst = false
        var mark = 0, sub = 0
        if rng.chance(0.05) {
            subordinateFirst = true
            let m = rng.pick(Lexicon.subordinators)
            mark = b.add(m, m, "SCONJ", "IN")
            sub = clause(&b, &rng, depth: 1, d: &d)
            b.attach(mark, to: sub, "mark")
            let comma = b.add(",", ",", "PUNCT", ",")
            b.attach(comma, to: sub, "punct")
        }
        let head = clause(&b, &rng, depth: 0, d: &d)
        if opener.count == 2 {
            b.attach(opener[0], to: head, "advmod")
            b.attach(opener[1], to: head, "punct")
        }
        if subordinateFirst { b.attach(sub, to: head, "advcl") }
        if !subordinateFirst && rng.chance(0.1) {
            let m = rng.pick(Lexicon.subordinators)
            let markId = b.add(m, m, "SCONJ", "IN")
            let s = clause(&b, &rng, depth: 1, d: &d)
            b.attach(markId, to: s, "mark")
            b.attach(s, to: head, "advcl")
        } else if rng.chance(0.08) {
            let comma = b.add(",", ",", "PUNCT", ",")
            let c = rng.pick(Lexicon.conjunctions)
            let cc = b.add(c, c, "CCONJ", "CC")
            let s = clause(&b, &rng, depth: 1, d: &d)
            b.attach(comma, to: s, "punct")
            b.attach(cc, to: s, "cc")
            b.attach(s, to: head, "conj")
        }
        return b.finish(root: head, punct: ".")
    }

    /// A sentence stating `fact` through phrasing `t` of its relation.
    static func statement(_ fact: Fact, phrasing t: Int) -> WorldSentence {
        var b = SentenceBuilder()
        let rel = worldRelations[fact.relation]
        var root = 0
        for spec in rel.phrasings[t].split(separator: " ") {
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

    /// A random plan; the tense is mostly the document's narrative tense.
    static func random(_ rng: inout Rng, question: Bool, narrative: Grammar.Tense) -> ClausePlan {
        let r = rng.uniform()
        let kind: Kind = r < 0.5 ? .transitive : r < 0.78 ? .intransitive : .copula
        let t = rng.uniform()
        var tense: Grammar.Tense =
            t < 0.75
            ? narrative : t < 0.84 ? .progressive : t < 0.92 ? .perfect : t < 0.96 ? .future : .modal
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

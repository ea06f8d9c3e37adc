// The built-in world's grammar, continued: verb phrases (tense, aspect, negation, agreement, objects and
// modifiers), clauses and whole sentences, the knowledge base's phrasings, and the plan of a clause's
// predicate.

import EmbryoCore

extension Grammar {
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

// The world-BLiMP's paradigms: agreement (subject-verb, simple and across an adjective, a relative clause
// or a prepositional phrase; determiner-noun), selectional restrictions, argument structure, word order and
// facts. Each pair is built with the world grammar's annotation; the bad sentence is the good one with one
// thing changed (a form, a word of the wrong class, a verb of the wrong valency, an order, an object).

import EmbryoCore

struct PairMaker {
    let lx: Lexicon
    let grammar: Grammar
    let knowledge: KnowledgeBase
    let objects: [String]
    /// Nouns none of whose forms is a verb form, by class; verbs whose stem is no noun, by subject class.
    let nouns: [[Int]]
    let transitive: [[Int]], intransitive: [[Int]]
    /// The distinct objects of each relation (the distractors of the facts paradigms).
    let objectsByRelation: [[String]]

    init(world: World, objects: [String]) {
        let lx = world.lexicon, facts = world.knowledge.facts
        self.lx = lx
        grammar = world.grammar
        knowledge = world.knowledge
        self.objects = objects
        let verbForms = Set(lx.verbs.flatMap { [$0.base, $0.third, $0.past, $0.ing] })
        nouns = lx.nounsByClass.map {
            $0.filter { !verbForms.contains(lx.nouns[$0].singular) && !verbForms.contains(lx.nouns[$0].plural) }
        }
        let plain = { (pool: [Int]) in pool.filter { $0 >= lx.ambiguous } }
        transitive = lx.transitiveBySubjectClass.map(plain)
        intransitive = lx.intransitiveBySubjectClass.map(plain)
        objectsByRelation = worldRelations.indices.map { r in
            Array(Set(facts.indices.filter { facts[$0].relation == r }.map { objects[$0] })).sorted()
        }
    }

    indirect enum Modifier {
        case preposition(String, NounPhrase)
        /// "that VERB OBJECT", the verb in the present, agreeing with the head noun.
        case relative(verb: Int, object: NounPhrase)
    }

    struct NounPhrase {
        var noun: Int
        var plural: Bool
        var det = "the"
        var adj: String? = nil
        var modifier: Modifier? = nil
    }

    enum VerbShape { case present(plural: Bool), past }

    // MARK: the paradigms

    var paradigms: [WorldParadigm] {
        let agreement = "subject_verb_agreement", dna = "determiner_noun_agreement"
        let sel = "selectional_restrictions", arg = "argument_structure", order = "word_order"
        return [
            WorldParadigm(uid: "sva_simple", term: agreement, field: "morphology", lexicallyIdentical: false) {
                agreementPair(&$0, decorate: { s, _ in s })
            },
            WorldParadigm(
                uid: "sva_across_adjective", term: agreement, field: "morphology", lexicallyIdentical: false
            ) {
                agreementPair(&$0) { s, rng in
                    var s = s
                    s.adj = grammar.adjective(for: s.noun, &rng)
                    return s
                }
            },
            WorldParadigm(
                uid: "sva_across_relative_clause", term: agreement, field: "morphology", lexicallyIdentical: false
            ) { rng in
                agreementPair(&rng) { s, rng in
                    guard let v = verb(transitive, class: lx.nouns[s.noun].cls, &rng),
                        let o = noun(lx.verbs[v].objectClass, &rng)
                    else { return nil }
                    var s = s
                    s.modifier = .relative(verb: v, object: NounPhrase(noun: o, plural: !s.plural))
                    return s
                }
            },
            WorldParadigm(
                uid: "sva_across_prepositional_phrase", term: agreement, field: "morphology",
                lexicallyIdentical: false
            ) { rng in
                agreementPair(&rng) { s, rng in
                    guard let a = noun(rng.below(lx.classes), &rng) else { return nil }
                    var s = s
                    s.modifier = .preposition(rng.pick(Lexicon.prepositions), NounPhrase(noun: a, plural: !s.plural))
                    return s
                }
            },
            WorldParadigm(uid: "dna_this_these", term: dna, field: "morphology", lexicallyIdentical: false) {
                determinerPair(&$0, singular: ["this", "that"], plural: ["these", "those"])
            },
            WorldParadigm(uid: "dna_a_some", term: dna, field: "morphology", lexicallyIdentical: false) {
                determinerPair(&$0, singular: ["a"], plural: ["some"])
            },
            WorldParadigm(uid: "sel_verb_subject", term: sel, field: "semantics", lexicallyIdentical: false) {
                selectionPair(&$0, wrongSubject: true)
            },
            WorldParadigm(uid: "sel_verb_object", term: sel, field: "semantics", lexicallyIdentical: false) {
                selectionPair(&$0, wrongSubject: false)
            },
            WorldParadigm(uid: "sel_adjective_noun", term: sel, field: "semantics", lexicallyIdentical: false) {
                adjectivePair(&$0)
            },
            WorldParadigm(
                uid: "arg_transitive_without_object", term: arg, field: "syntax", lexicallyIdentical: false
            ) { valencyPair(&$0, withObject: false) },
            WorldParadigm(
                uid: "arg_intransitive_with_object", term: arg, field: "syntax", lexicallyIdentical: false
            ) { valencyPair(&$0, withObject: true) },
            WorldParadigm(uid: "order_determiner_after_noun", term: order, field: "syntax", lexicallyIdentical: true) {
                orderPair(&$0, verbFirst: false)
            },
            WorldParadigm(uid: "order_verb_before_subject", term: order, field: "syntax", lexicallyIdentical: true) {
                orderPair(&$0, verbFirst: true)
            },
            WorldParadigm(uid: "facts_trained_phrasing", term: "facts", field: "knowledge", lexicallyIdentical: false) {
                factPair(&$0, heldOut: false)
            },
            WorldParadigm(uid: "facts_heldout_phrasing", term: "facts", field: "knowledge", lexicallyIdentical: false) {
                factPair(&$0, heldOut: true)
            },
        ]
    }

    /// "The N V the O ." in the present, the verb agreeing with the subject (bad: with the other number);
    /// `decorate` adds what stands between subject and verb.
    func agreementPair(_ rng: inout Rng, decorate: (NounPhrase, inout Rng) -> NounPhrase?) -> (
        good: WorldSentence, bad: WorldSentence
    )? {
        guard let (s, v, o) = transitiveClause(&rng), let subject = decorate(s, &rng) else { return nil }
        return (
            clause(subject, v, .present(plural: subject.plural), o),
            clause(subject, v, .present(plural: !subject.plural), o)
        )
    }

    /// The object's determiner agrees with its number (bad: the determiner of the other number).
    func determinerPair(_ rng: inout Rng, singular: [String], plural: [String]) -> (
        good: WorldSentence, bad: WorldSentence
    )? {
        guard let (s, v, o) = transitiveClause(&rng) else { return nil }
        let k = rng.below(singular.count)
        var good = o, bad = o
        good.det = o.plural ? plural[k] : singular[k]
        bad.det = o.plural ? singular[k] : plural[k]
        return (clause(s, v, .past, good), clause(s, v, .past, bad))
    }

    /// A transitive verb with a subject (or an object) of its class, against one of another class.
    func selectionPair(_ rng: inout Rng, wrongSubject: Bool) -> (good: WorldSentence, bad: WorldSentence)? {
        guard let (s, v, o) = transitiveClause(&rng) else { return nil }
        let right = wrongSubject ? s : o
        let c = lx.nouns[right.noun].cls, other = (c + 1 + rng.below(lx.classes - 1)) % lx.classes
        guard let n = noun(other, &rng) else { return nil }
        var wrong = right
        wrong.noun = n
        let bad = wrongSubject ? clause(wrong, v, .past, o) : clause(s, v, .past, wrong)
        return (clause(s, v, .past, o), bad)
    }

    /// "The N was ADJ ." with an adjective of the noun's class, against one of another class.
    func adjectivePair(_ rng: inout Rng) -> (good: WorldSentence, bad: WorldSentence)? {
        let c = rng.below(lx.classes), other = (c + 1 + rng.below(lx.classes - 1)) % lx.classes
        guard let n = noun(c, &rng), !lx.adjectivesByClass[other].isEmpty else { return nil }
        let s = NounPhrase(noun: n, plural: rng.chance(0.5))
        let pool = lx.adjectivesByClass[other]
        let wrong = lx.adjectives[pool[ZipfSampler.small(pool.count, &rng)]]
        return (copular(s, grammar.adjective(for: n, &rng)), copular(s, wrong))
    }

    /// An intransitive verb alone and a transitive one with its object (bad: the two verbs swapped).
    func valencyPair(_ rng: inout Rng, withObject: Bool) -> (good: WorldSentence, bad: WorldSentence)? {
        guard let (s, vt, o) = transitiveClause(&rng),
            let vi = verb(intransitive, class: lx.nouns[s.noun].cls, &rng)
        else { return nil }
        if withObject { return (clause(s, vt, .past, o), clause(s, vi, .past, o)) }
        return (clause(s, vi, .past, nil), clause(s, vt, .past, nil))
    }

    /// Bad: the object's determiner after its noun, or the verb before the subject.
    func orderPair(_ rng: inout Rng, verbFirst: Bool) -> (good: WorldSentence, bad: WorldSentence)? {
        guard let (s, v, o) = transitiveClause(&rng) else { return nil }
        let good = clause(s, v, .past, o)
        let verbAt = good.tokens.firstIndex { $0.upos == "VERB" }!
        var order = Array(good.tokens.indices)
        if verbFirst {
            order.remove(at: verbAt)
            order.insert(verbAt, at: 0)
        } else {
            order.swapAt(verbAt + 1, verbAt + 2)  // the object's determiner and its noun
        }
        return (good, Self.rearranged(good, order: order))
    }

    /// A fact in one of its trained phrasings (or its held-out one) against another object of its relation.
    func factPair(_ rng: inout Rng, heldOut: Bool) -> (good: WorldSentence, bad: WorldSentence)? {
        let f = rng.below(knowledge.facts.count), fact = knowledge.facts[f]
        let others = objectsByRelation[fact.relation].filter { $0 != objects[f] }
        guard !others.isEmpty else { return nil }
        let t = heldOut ? fact.heldOutPhrasing : rng.pick(fact.trainedPhrasings)
        return (
            Grammar.statement(fact.with(object: objects[f]), phrasing: t),
            Grammar.statement(fact.with(object: rng.pick(others)), phrasing: t)
        )
    }

    // MARK: building

    /// A subject of a random class, a transitive verb that selects it, and an object of the verb's class.
    /// Both numbers are even odds, so that a scorer's preference for one form (a pseudo-log-likelihood sums
    /// one term per piece, and "-s" forms can have more pieces) does not decide the agreement paradigms.
    func transitiveClause(_ rng: inout Rng) -> (NounPhrase, Int, NounPhrase)? {
        let c = rng.below(lx.classes)
        guard let v = verb(transitive, class: c, &rng), let s = noun(c, &rng),
            let o = noun(lx.verbs[v].objectClass, &rng)
        else { return nil }
        let objectPlural = rng.chance(0.5)
        let det = rng.chance(0.6) ? "the" : objectPlural ? "some" : "a"
        return (NounPhrase(noun: s, plural: rng.chance(0.5)), v, NounPhrase(noun: o, plural: objectPlural, det: det))
    }

    func noun(_ c: Int, _ rng: inout Rng) -> Int? {
        nouns[c].isEmpty ? nil : nouns[c][ZipfSampler.small(nouns[c].count, &rng)]
    }

    func verb(_ pools: [[Int]], class c: Int, _ rng: inout Rng) -> Int? {
        pools[c].isEmpty ? nil : pools[c][ZipfSampler.small(pools[c].count, &rng)]
    }

    func clause(_ subject: NounPhrase, _ v: Int, _ shape: VerbShape, _ object: NounPhrase?) -> WorldSentence {
        var b = SentenceBuilder()
        let s = addNounPhrase(&b, subject)
        let head = addVerb(&b, v, shape)
        b.attach(s, to: head, "nsubj")
        if let object { b.attach(addNounPhrase(&b, object), to: head, "obj") }
        return b.finish(root: head, punct: ".")
    }

    func copular(_ subject: NounPhrase, _ adj: String) -> WorldSentence {
        var b = SentenceBuilder()
        let s = addNounPhrase(&b, subject)
        let past = "Mood=Ind|Tense=Past|VerbForm=Fin"
        let cop = b.add(subject.plural ? "were" : "was", "be", "AUX", "VBD", past)
        let head = b.add(adj, adj, "ADJ", "JJ", "Degree=Pos")
        b.attach(s, to: head, "nsubj")
        b.attach(cop, to: head, "cop")
        return b.finish(root: head, punct: ".")
    }

    func addNounPhrase(_ b: inout SentenceBuilder, _ np: NounPhrase) -> Int {
        let noun = lx.nouns[np.noun]
        let form = np.plural ? noun.plural : noun.singular
        var det = np.det
        if det == "a" || det == "an" { det = "aeiou".contains((np.adj ?? form).first!) ? "an" : "a" }
        var dependents = [(b.add(det, det == "an" ? "a" : det, "DET", "DT", grammar.detFeats(det)), "det")]
        if let adj = np.adj { dependents.append((b.add(adj, adj, "ADJ", "JJ", "Degree=Pos"), "amod")) }
        let head = b.add(form, noun.singular, "NOUN", np.plural ? "NNS" : "NN", "Number=\(np.plural ? "Plur" : "Sing")")
        for (d, rel) in dependents { b.attach(d, to: head, rel) }
        switch np.modifier {
        case .preposition(let p, let inner):
            let c = b.add(p, p, "ADP", "IN")
            let h = addNounPhrase(&b, inner)
            b.attach(c, to: h, "case")
            b.attach(h, to: head, "nmod")
        case .relative(let v, let object):
            let rel = b.add("that", "that", "PRON", "WDT", "PronType=Rel")
            let verb = addVerb(&b, v, .present(plural: np.plural))
            b.attach(rel, to: verb, "nsubj")
            b.attach(addNounPhrase(&b, object), to: verb, "obj")
            b.attach(verb, to: head, "acl:relcl")
        case nil: break
        }
        return head
    }

    func addVerb(_ b: inout SentenceBuilder, _ v: Int, _ shape: VerbShape) -> Int {
        let verb = lx.verbs[v]
        switch shape {
        case .present(plural: false):
            return b.add(verb.third, verb.base, "VERB", "VBZ", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin")
        case .present(plural: true):
            return b.add(verb.base, verb.base, "VERB", "VBP", "Mood=Ind|Tense=Pres|VerbForm=Fin")
        case .past: return b.add(verb.past, verb.base, "VERB", "VBD", "Mood=Ind|Tense=Past|VerbForm=Fin")
        }
    }

    /// `s` with its tokens in `order` (old indices), heads renumbered, spacing and capitals redone.
    static func rearranged(_ s: WorldSentence, order: [Int]) -> WorldSentence {
        var position = [Int](repeating: 0, count: order.count)
        for (new, old) in order.enumerated() { position[old] = new }
        var tokens = order.map { s.tokens[$0] }
        for i in tokens.indices {
            if tokens[i].head > 0 { tokens[i].head = position[tokens[i].head - 1] + 1 }
            tokens[i].spaceAfter = i + 1 < tokens.count && tokens[i + 1].upos != "PUNCT"
            if tokens[i].upos != "PROPN" { tokens[i].form = tokens[i].form.lowercased() }
        }
        if let f = tokens.first?.form, let c = f.first { tokens[0].form = c.uppercased() + f.dropFirst() }
        return WorldSentence(tokens: tokens)
    }
}

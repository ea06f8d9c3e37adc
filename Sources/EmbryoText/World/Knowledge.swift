// The built-in world's knowledge base: people, cities, countries, languages and occupations, and
// relations between them. Each relation has several annotated phrasings; every fact has one held-out
// phrasing that train.txt never uses for it (it does for other facts of the relation), so a probe can
// ask for a fact through a phrasing it was stated with (memorisation) and through one it was not
// (generalisation across phrasings).

import EmbryoCore
import Foundation

public enum EntityKind: String, Sendable { case person, city, country, language, occupation }

public struct Relation: Sendable {
    public let name: String
    public let label: String
    public let type: String  // LAMA: 1-1, N-1, N-M
    public let subject: EntityKind
    public let object: EntityKind
    /// Annotated phrasings: tokens "form|lemma|UPOS|XPOS|head|deprel|feats" (feats optional). Every fact
    /// is stated in train.txt through all of them but one, its held-out phrasing (see heldOutPhrasing).
    public let phrasings: [String]

    /// The LAMA template of the relation (its first phrasing, plain text with [X] and [Y]).
    public var template: String { plainTemplate(phrasings[0]) }
}

public struct Fact: Sendable {
    public let relation: Int
    public let subject: String
    public let object: String
    /// The phrasing of its relation that train.txt never uses for this fact (it does for other facts).
    public let heldOutPhrasing: Int

    /// The same subject and relation with another object (a false statement).
    func with(object: String) -> Fact {
        Fact(relation: relation, subject: subject, object: object, heldOutPhrasing: heldOutPhrasing)
    }

    /// Phrasings train.txt states this fact with.
    public var trainedPhrasings: [Int] {
        (0..<worldRelations[relation].phrasings.count).filter { $0 != heldOutPhrasing }
    }
}

private let be3 = "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"
private let pres3 = "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"
private let the = "Definite=Def|PronType=Art"
private let a = "Definite=Ind|PronType=Art"
private let sg = "Number=Sing"

/// "[X]|[X]|PROPN|NNP|head|rel|Number=Sing": an entity slot of a phrasing.
private func slot(_ xy: String, _ head: Int, _ rel: String, upos: String = "PROPN", xpos: String = "NNP") -> String {
    "\(xy)|\(xy)|\(upos)|\(xpos)|\(head)|\(rel)|\(sg)"
}
private func w(
    _ form: String, _ lemma: String, _ upos: String, _ xpos: String, _ head: Int, _ rel: String, _ feats: String = "_"
)
    -> String
{
    feats == "_"
        ? "\(form)|\(lemma)|\(upos)|\(xpos)|\(head)|\(rel)" : "\(form)|\(lemma)|\(upos)|\(xpos)|\(head)|\(rel)|\(feats)"
}
private func phrase(_ words: String...) -> String { words.joined(separator: " ") }
private let isCop = { (h: Int) in w("is", "be", "AUX", "VBZ", h, "cop", be3) }
private func theDet(_ h: Int, cap: Bool = false) -> String { w(cap ? "The" : "the", "the", "DET", "DT", h, "det", the) }
private func aDet(_ h: Int) -> String { w("a", "a", "DET", "DT", h, "det", a) }
private func noun(_ f: String, _ h: Int, _ rel: String) -> String { w(f, f, "NOUN", "NN", h, rel, sg) }
private func adp(_ f: String, _ h: Int) -> String { w(f, f, "ADP", "IN", h, "case") }

public let worldRelations: [Relation] = [
    Relation(
        name: "born_in", label: "place of birth", type: "N-1", subject: .person, object: .city,
        phrasings: [
            phrase(
                slot("[X]", 3, "nsubj:pass"),
                w("was", "be", "AUX", "VBD", 3, "aux:pass", "Mood=Ind|Number=Sing|Person=3|Tense=Past|VerbForm=Fin"),
                w("born", "bear", "VERB", "VBN", 0, "root", "Tense=Past|VerbForm=Part|Voice=Pass"), adp("in", 5),
                slot("[Y]", 3, "obl")),
            phrase(
                theDet(2, cap: true), noun("birthplace", 6, "nsubj"), adp("of", 4), slot("[X]", 2, "nmod"), isCop(6),
                slot("[Y]", 0, "root")),
            phrase(
                slot("[Y]", 4, "nsubj"), isCop(4), theDet(4), noun("birthplace", 0, "root"), adp("of", 6),
                slot("[X]", 4, "nmod")),
            phrase(
                slot("[X]", 4, "nsubj"), isCop(4), aDet(4), noun("native", 0, "root"), adp("of", 6),
                slot("[Y]", 4, "nmod")),
        ]),
    Relation(
        name: "lives_in", label: "residence", type: "N-1", subject: .person, object: .city,
        phrasings: [
            phrase(
                slot("[X]", 2, "nsubj"), w("lives", "live", "VERB", "VBZ", 0, "root", pres3), adp("in", 4),
                slot("[Y]", 2, "obl")),
            phrase(
                slot("[X]", 2, "nsubj"), w("has", "have", "VERB", "VBZ", 0, "root", pres3), aDet(4),
                noun("home", 2, "obj"),
                adp("in", 6), slot("[Y]", 4, "nmod")),
            phrase(
                theDet(2, cap: true), noun("home", 7, "nsubj"), adp("of", 4), slot("[X]", 2, "nmod"), isCop(7),
                adp("in", 7),
                slot("[Y]", 0, "root")),
            phrase(
                slot("[X]", 2, "nsubj"), w("resides", "reside", "VERB", "VBZ", 0, "root", pres3), adp("in", 4),
                slot("[Y]", 2, "obl")),
        ]),
    Relation(
        name: "works_as", label: "occupation", type: "N-1", subject: .person, object: .occupation,
        phrasings: [
            phrase(
                slot("[X]", 2, "nsubj"), w("works", "work", "VERB", "VBZ", 0, "root", pres3), adp("as", 5), aDet(5),
                slot("[Y]", 2, "obl", upos: "NOUN", xpos: "NN")),
            phrase(
                slot("[X]", 4, "nsubj"), isCop(4), aDet(4), slot("[Y]", 0, "root", upos: "NOUN", xpos: "NN"),
                adp("by", 6),
                noun("trade", 4, "nmod")),
            phrase(
                slot("[X]", 2, "nsubj"), w("earns", "earn", "VERB", "VBZ", 0, "root", pres3), aDet(4),
                noun("living", 2, "obj"),
                adp("as", 7), aDet(7), slot("[Y]", 2, "obl", upos: "NOUN", xpos: "NN")),
            phrase(
                slot("[X]", 4, "nsubj"), isCop(4), aDet(4), slot("[Y]", 0, "root", upos: "NOUN", xpos: "NN"),
                adp("by", 6),
                noun("profession", 4, "nmod")),
        ]),
    Relation(
        name: "speaks", label: "languages spoken", type: "N-1", subject: .person, object: .language,
        phrasings: [
            phrase(
                slot("[X]", 2, "nsubj"), w("speaks", "speak", "VERB", "VBZ", 0, "root", pres3), slot("[Y]", 2, "obj")),
            phrase(
                theDet(2, cap: true), noun("language", 6, "nsubj"), adp("of", 4), slot("[X]", 2, "nmod"), isCop(6),
                slot("[Y]", 0, "root")),
            phrase(
                slot("[X]", 2, "nsubj"), w("communicates", "communicate", "VERB", "VBZ", 0, "root", pres3),
                adp("in", 4),
                slot("[Y]", 2, "obl")),
            phrase(
                slot("[Y]", 4, "nsubj"), isCop(4), theDet(4), noun("language", 0, "root"), adp("of", 6),
                slot("[X]", 4, "nmod")),
        ]),
    Relation(
        name: "capital_of", label: "capital of", type: "1-1", subject: .city, object: .country,
        phrasings: [
            phrase(
                slot("[X]", 4, "nsubj"), isCop(4), theDet(4), noun("capital", 0, "root"), adp("of", 6),
                slot("[Y]", 4, "nmod")),
            phrase(
                theDet(2, cap: true), noun("capital", 6, "nsubj"), adp("of", 4), slot("[Y]", 2, "nmod"), isCop(6),
                slot("[X]", 0, "root")),
            phrase(
                slot("[X]", 2, "nsubj"), w("serves", "serve", "VERB", "VBZ", 0, "root", pres3), adp("as", 5), theDet(5),
                noun("capital", 2, "obl"), adp("of", 7), slot("[Y]", 5, "nmod")),
        ]),
    Relation(
        name: "located_in", label: "located in", type: "N-1", subject: .city, object: .country,
        phrasings: [
            phrase(
                slot("[X]", 3, "nsubj:pass"), w("is", "be", "AUX", "VBZ", 3, "aux:pass", be3),
                w("located", "locate", "VERB", "VBN", 0, "root", "Tense=Past|VerbForm=Part|Voice=Pass"), adp("in", 5),
                slot("[Y]", 3, "obl")),
            phrase(
                slot("[X]", 4, "nsubj"), isCop(4), aDet(4), noun("city", 0, "root"), adp("in", 6),
                slot("[Y]", 4, "nmod")),
            phrase(
                slot("[X]", 2, "nsubj"), w("lies", "lie", "VERB", "VBZ", 0, "root", pres3), adp("in", 4),
                slot("[Y]", 2, "obl")),
        ]),
    Relation(
        name: "language_of", label: "official language", type: "1-1", subject: .country, object: .language,
        phrasings: [
            phrase(
                w("People", "people", "NOUN", "NNS", 4, "nsubj", "Number=Plur"), adp("in", 3), slot("[X]", 1, "nmod"),
                w("speak", "speak", "VERB", "VBP", 0, "root", "Mood=Ind|Tense=Pres|VerbForm=Fin"), slot("[Y]", 4, "obj")
            ),
            phrase(
                theDet(3, cap: true), w("official", "official", "ADJ", "JJ", 3, "amod", "Degree=Pos"),
                noun("language", 7, "nsubj"), adp("of", 5), slot("[X]", 3, "nmod"), isCop(7), slot("[Y]", 0, "root")),
            phrase(
                theDet(2, cap: true), noun("language", 7, "nsubj"),
                w("spoken", "speak", "VERB", "VBN", 2, "acl", "Tense=Past|VerbForm=Part|Voice=Pass"), adp("in", 5),
                slot("[X]", 3, "obl"), isCop(7), slot("[Y]", 0, "root")),
        ]),
]

public struct KnowledgeBase: Sendable {
    public var facts: [Fact] = []
    /// Facts per subject (for documents about one entity).
    public var factsBySubject: [String: [Int]] = [:]

    public init(lexicon lx: Lexicon, rng: inout Rng) {
        // each country: one capital among its cities, one official language
        var cityCountry: [Int] = []
        for c in lx.cities.indices { cityCountry.append(c < lx.countries.count ? c : rng.below(lx.countries.count)) }
        func add(_ r: String, _ s: String, _ o: String) {
            let ri = worldRelations.firstIndex { $0.name == r }!
            factsBySubject[s, default: []].append(facts.count)
            let held = Int(stableHash("held-out \(r) \(s)") % UInt64(worldRelations[ri].phrasings.count))
            facts.append(Fact(relation: ri, subject: s, object: o, heldOutPhrasing: held))
        }
        for (i, p) in lx.people.enumerated() {
            let born = rng.below(lx.cities.count)
            add("born_in", p, lx.cities[born])
            add("lives_in", p, lx.cities[rng.chance(0.6) ? born : rng.below(lx.cities.count)])
            add("works_as", p, lx.occupations[ZipfSampler(count: lx.occupations.count).sample(&rng)].singular)
            let native = cityCountry[born]
            add("speaks", p, lx.languages[rng.chance(0.8) ? native : rng.below(lx.languages.count)])
            _ = i
        }
        for (c, country) in lx.countries.enumerated() {
            add("capital_of", lx.cities[c], country)
            add("language_of", country, lx.languages[c])
        }
        for (c, city) in lx.cities.enumerated() { add("located_in", city, lx.countries[cityCountry[c]]) }
    }
}

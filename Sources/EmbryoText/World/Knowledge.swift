// The built-in world's knowledge base: people, cities, countries, languages and occupations, and
// relations between them, each stated in training text through annotated paraphrase templates and
// probed (LAMA style) through one more template that never appears in the training text.

import EmbryoCore
import Foundation

public enum EntityKind: String, Sendable { case person, city, country, language, occupation }

public struct Relation: Sendable {
    public let name: String
    public let label: String
    public let type: String  // LAMA: 1-1, N-1, N-M
    public let subject: EntityKind
    public let object: EntityKind
    /// Annotated templates used in train.txt: tokens "form|lemma|UPOS|XPOS|head|deprel|feats" (feats optional).
    public let trainTemplates: [String]
    /// The LAMA probe template (plain text with [X] and [Y]); never used in train.txt.
    public let probeTemplate: String
}

public struct Fact: Sendable {
    public let relation: Int
    public let subject: String
    public let object: String
}

private let be3 = "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"
private let the = "Definite=Def|PronType=Art"
private let a = "Definite=Ind|PronType=Art"

public let worldRelations: [Relation] = [
    Relation(
        name: "born_in", label: "place of birth", type: "N-1", subject: .person, object: .city,
        trainTemplates: [
            "The|the|DET|DT|2|det|\(the) birthplace|birthplace|NOUN|NN|6|nsubj|Number=Sing of|of|ADP|IN|4|case [X]|[X]|PROPN|NNP|2|nmod|Number=Sing is|be|AUX|VBZ|6|cop|\(be3) [Y]|[Y]|PROPN|NNP|0|root|Number=Sing",
            "[X]|[X]|PROPN|NNP|3|nsubj:pass|Number=Sing was|be|AUX|VBD|3|aux:pass|Mood=Ind|Number=Sing|Person=3|Tense=Past|VerbForm=Fin born|bear|VERB|VBN|0|root|Tense=Past|VerbForm=Part|Voice=Pass in|in|ADP|IN|6|case the|the|DET|DT|6|det|\(the) city|city|NOUN|NN|3|obl|Number=Sing of|of|ADP|IN|8|case [Y]|[Y]|PROPN|NNP|6|nmod|Number=Sing",
            "[Y]|[Y]|PROPN|NNP|4|nsubj|Number=Sing is|be|AUX|VBZ|4|cop|\(be3) the|the|DET|DT|4|det|\(the) birthplace|birthplace|NOUN|NN|0|root|Number=Sing of|of|ADP|IN|6|case [X]|[X]|PROPN|NNP|4|nmod|Number=Sing",
        ],
        probeTemplate: "[X] was born in [Y] ."),
    Relation(
        name: "lives_in", label: "residence", type: "N-1", subject: .person, object: .city,
        trainTemplates: [
            "[X]|[X]|PROPN|NNP|2|nsubj|Number=Sing lives|live|VERB|VBZ|0|root|\(be3) in|in|ADP|IN|4|case [Y]|[Y]|PROPN|NNP|2|obl|Number=Sing",
            "[X]|[X]|PROPN|NNP|2|nsubj|Number=Sing has|have|VERB|VBZ|0|root|\(be3) a|a|DET|DT|4|det|\(a) home|home|NOUN|NN|2|obj|Number=Sing in|in|ADP|IN|6|case [Y]|[Y]|PROPN|NNP|4|nmod|Number=Sing",
            "The|the|DET|DT|2|det|\(the) home|home|NOUN|NN|7|nsubj|Number=Sing of|of|ADP|IN|4|case [X]|[X]|PROPN|NNP|2|nmod|Number=Sing is|be|AUX|VBZ|7|cop|\(be3) in|in|ADP|IN|7|case [Y]|[Y]|PROPN|NNP|0|root|Number=Sing",
        ],
        probeTemplate: "[X] resides in [Y] ."),
    Relation(
        name: "works_as", label: "occupation", type: "N-1", subject: .person, object: .occupation,
        trainTemplates: [
            "[X]|[X]|PROPN|NNP|2|nsubj|Number=Sing works|work|VERB|VBZ|0|root|\(be3) as|as|ADP|IN|5|case a|a|DET|DT|5|det|\(a) [Y]|[Y]|NOUN|NN|2|obl|Number=Sing",
            "[X]|[X]|PROPN|NNP|4|nsubj|Number=Sing is|be|AUX|VBZ|4|cop|\(be3) a|a|DET|DT|4|det|\(a) [Y]|[Y]|NOUN|NN|0|root|Number=Sing by|by|ADP|IN|6|case trade|trade|NOUN|NN|4|nmod|Number=Sing",
        ],
        probeTemplate: "[X] is a [Y] by profession ."),
    Relation(
        name: "speaks", label: "languages spoken", type: "N-1", subject: .person, object: .language,
        trainTemplates: [
            "[X]|[X]|PROPN|NNP|2|nsubj|Number=Sing speaks|speak|VERB|VBZ|0|root|\(be3) [Y]|[Y]|PROPN|NNP|2|obj|Number=Sing",
            "The|the|DET|DT|2|det|\(the) language|language|NOUN|NN|6|nsubj|Number=Sing of|of|ADP|IN|4|case [X]|[X]|PROPN|NNP|2|nmod|Number=Sing is|be|AUX|VBZ|6|cop|\(be3) [Y]|[Y]|PROPN|NNP|0|root|Number=Sing",
        ],
        probeTemplate: "[X] communicates in [Y] ."),
    Relation(
        name: "capital_of", label: "capital of", type: "1-1", subject: .city, object: .country,
        trainTemplates: [
            "[X]|[X]|PROPN|NNP|4|nsubj|Number=Sing is|be|AUX|VBZ|4|cop|\(be3) the|the|DET|DT|4|det|\(the) capital|capital|NOUN|NN|0|root|Number=Sing of|of|ADP|IN|6|case [Y]|[Y]|PROPN|NNP|4|nmod|Number=Sing",
            "The|the|DET|DT|2|det|\(the) capital|capital|NOUN|NN|6|nsubj|Number=Sing of|of|ADP|IN|4|case [Y]|[Y]|PROPN|NNP|2|nmod|Number=Sing is|be|AUX|VBZ|6|cop|\(be3) [X]|[X]|PROPN|NNP|0|root|Number=Sing",
        ],
        probeTemplate: "[X] serves as the capital of [Y] ."),
    Relation(
        name: "located_in", label: "located in", type: "N-1", subject: .city, object: .country,
        trainTemplates: [
            "[X]|[X]|PROPN|NNP|3|nsubj:pass|Number=Sing is|be|AUX|VBZ|3|aux:pass|\(be3) located|locate|VERB|VBN|0|root|Tense=Past|VerbForm=Part|Voice=Pass in|in|ADP|IN|5|case [Y]|[Y]|PROPN|NNP|3|obl|Number=Sing",
            "[X]|[X]|PROPN|NNP|4|nsubj|Number=Sing is|be|AUX|VBZ|4|cop|\(be3) a|a|DET|DT|4|det|\(a) city|city|NOUN|NN|0|root|Number=Sing in|in|ADP|IN|6|case [Y]|[Y]|PROPN|NNP|4|nmod|Number=Sing",
        ],
        probeTemplate: "[X] lies in [Y] ."),
    Relation(
        name: "language_of", label: "official language", type: "1-1", subject: .country, object: .language,
        trainTemplates: [
            "People|people|NOUN|NNS|4|nsubj|Number=Plur in|in|ADP|IN|3|case [X]|[X]|PROPN|NNP|1|nmod|Number=Sing speak|speak|VERB|VBP|0|root|Mood=Ind|Tense=Pres|VerbForm=Fin [Y]|[Y]|PROPN|NNP|4|obj|Number=Sing",
            "The|the|DET|DT|3|det|\(the) official|official|ADJ|JJ|3|amod|Degree=Pos language|language|NOUN|NN|7|nsubj|Number=Sing of|of|ADP|IN|5|case [X]|[X]|PROPN|NNP|3|nmod|Number=Sing is|be|AUX|VBZ|7|cop|\(be3) [Y]|[Y]|PROPN|NNP|0|root|Number=Sing",
        ],
        probeTemplate: "The language spoken in [X] is [Y] ."),
]

public struct KnowledgeBase: Sendable {
    public var facts: [Fact] = []
    /// Facts per subject (for documents about one entity).
    public var factsBySubject: [String: [Int]] = [:]
    /// Zipf weight of each fact in the corpus (a random rank per fact).
    public var weights: [Double] = []

    public init(lexicon lx: Lexicon, rng: inout Rng, zipf: Double = 1.0) {
        // each country: one capital among its cities, one official language
        var cityCountry: [Int] = []
        for c in lx.cities.indices { cityCountry.append(c < lx.countries.count ? c : rng.below(lx.countries.count)) }
        func add(_ r: String, _ s: String, _ o: String) {
            let ri = worldRelations.firstIndex { $0.name == r }!
            factsBySubject[s, default: []].append(facts.count)
            facts.append(Fact(relation: ri, subject: s, object: o))
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
        var ranks = Array(0..<facts.count)
        rng.shuffle(&ranks)
        weights = Array(repeating: 0, count: facts.count)
        for (rank, f) in ranks.enumerated() { weights[f] = 1 / pow(Double(rank + 1), zipf) }
    }
}

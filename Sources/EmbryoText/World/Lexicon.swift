import EmbryoCore
import Foundation

// The built-in world's lexicon: English function words, and generated content words (pronounceable
// pseudo-words) across the UD parts of speech with regular English inflection. Within a class, words are
// drawn with Zipf frequencies; a share of verb stems are also nouns, so some forms are ambiguous.

public struct ZipfSampler: Sendable {
    private let cumulative: [Double]

    /// Weights 1 / (rank + 1)^s for `count` items.
    public init(count: Int, exponent s: Double = 1.0) {
        var acc = 0.0
        var c: [Double] = []
        c.reserveCapacity(count)
        for r in 0..<count {
            acc += 1 / pow(Double(r + 1), s)
            c.append(acc)
        }
        cumulative = c
    }

    public init(weights: [Double]) {
        var acc = 0.0
        cumulative = weights.map {
            acc += $0; return acc
        }
    }

    /// An index in 0..<n with weights 1 / (rank + 1), for short lists (no table).
    public static func small(_ n: Int, _ rng: inout Rng) -> Int {
        var total = 0.0
        for r in 0..<n { total += 1 / Double(r + 1) }
        var u = rng.uniform() * total
        for r in 0..<n {
            u -= 1 / Double(r + 1)
            if u < 0 { return r }
        }
        return n - 1
    }

    /// An index in 0..<count.
    public func sample(_ rng: inout Rng) -> Int {
        let u = rng.uniform() * cumulative[cumulative.count - 1]
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] <= u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

public struct Noun: Sendable {
    public let singular: String, plural: String
    /// Semantic class: which verbs take it as subject or object, which adjectives describe it.
    public var cls = 0
}
public struct Verb: Sendable {
    public let base: String, third: String, past: String, ing: String, participle: String
    public let transitive: Bool
    /// Selectional preferences: the noun class of common-noun subjects and (transitive verbs) of objects.
    public var subjectClass = 0, objectClass = 0
    /// The adverb and the preposition this verb prefers.
    public var adverb = 0, preposition = 0
}

public struct Lexicon: Sendable {
    public var nouns: [Noun] = []
    public var verbs: [Verb] = []
    public var adjectives: [String] = []
    public var adverbs: [String] = []
    public var people: [String] = []
    public var genders: [Bool] = []  // true: she/her
    public var cities: [String] = []
    public var countries: [String] = []
    public var languages: [String] = []
    public var occupations: [Noun] = []
    /// Verb stems that are nouns too (the noun shares the stem's forms).
    public var ambiguous = 0
    /// Semantic classes: nouns, adjectives and verbs' subject and object slots are drawn by class.
    public var classes = 24
    public var adjectiveClass: [Int] = []
    public var nounsByClass: [[Int]] = [], adjectivesByClass: [[Int]] = []
    public var transitiveByObjectClass: [[Int]] = [], transitiveBySubjectClass: [[Int]] = []
    public var intransitiveBySubjectClass: [[Int]] = []

    public init(rng: inout Rng, sizes: WorldSizes) {
        var names = FreshWords(used: Set(Lexicon.functionWords))
        makeWords(&names, &rng, sizes)
        assignVerbPreferences(&rng, sizes)
        makeNamesAndAdverbs(&names, &rng, sizes)
    }

    /// Words of at least three letters that no other word of the lexicon has.
    struct FreshWords {
        var used: Set<String>

        mutating func fresh(_ rng: inout Rng, _ make: (inout Rng) -> String) -> String {
            while true {
                let w = make(&rng)
                if w.count >= 3 && !used.contains(w) {
                    used.insert(w)
                    return w
                }
            }
        }
    }

    /// Verbs (a tenth of their stems also nouns), nouns with their classes, adjectives with theirs.
    mutating func makeWords(_ names: inout FreshWords, _ rng: inout Rng, _ sizes: WorldSizes) {
        let ambiguousCount = sizes.verbs / 10
        for i in 0..<sizes.verbs {
            let stem = names.fresh(&rng) { Lexicon.stem(&$0, syllables: 1 + $0.below(2)) }
            let v = Lexicon.inflectVerb(stem, transitive: i % 3 != 2)
            for f in [v.third, v.past, v.ing] { names.used.insert(f) }
            verbs.append(v)
            if i < ambiguousCount { nouns.append(Noun(singular: stem, plural: v.third)) }
        }
        ambiguous = ambiguousCount
        while nouns.count < sizes.nouns {
            let s = names.fresh(&rng) { Lexicon.stem(&$0, syllables: 1 + $0.below(3)) }
            let p = Lexicon.plural(s)
            if names.used.contains(p) { continue }
            names.used.insert(p)
            nouns.append(Noun(singular: s, plural: p))
        }
        // nouns drawn with Zipf ranks: shuffle so the ambiguous stems are spread over the ranks and classes
        rng.shuffle(&nouns)
        classes = sizes.classes
        nounsByClass = Array(repeating: [], count: classes)
        for i in nouns.indices {
            nouns[i].cls = i % classes
            nounsByClass[i % classes].append(i)
        }
        for i in 0..<sizes.adjectives {
            adjectives.append(names.fresh(&rng) { Lexicon.stem(&$0, syllables: 1) + $0.pick(Lexicon.adjSuffixes) })
            adjectiveClass.append(i % classes)
        }
        adjectivesByClass = (0..<classes).map { c in adjectives.indices.filter { adjectiveClass[$0] == c } }
    }

    /// Each verb's selectional preferences (noun classes of subject and object), adverb and preposition.
    mutating func assignVerbPreferences(_ rng: inout Rng, _ sizes: WorldSizes) {
        // verbs: transitive ones select their object's class, intransitive ones their subject's; each also
        // selects a subject class for common-noun subjects, an adverb and a preposition
        transitiveByObjectClass = Array(repeating: [], count: classes)
        transitiveBySubjectClass = Array(repeating: [], count: classes)
        intransitiveBySubjectClass = Array(repeating: [], count: classes)
        var nt = 0, ni = 0
        for i in verbs.indices {
            if verbs[i].transitive {
                verbs[i].objectClass = nt % classes
                verbs[i].subjectClass = (nt * 7 + 3) % classes
                transitiveByObjectClass[nt % classes].append(i)
                transitiveBySubjectClass[verbs[i].subjectClass].append(i)
                nt += 1
            } else {
                verbs[i].subjectClass = ni % classes
                intransitiveBySubjectClass[ni % classes].append(i)
                ni += 1
            }
            verbs[i].adverb = rng.below(max(1, sizes.adverbs))
            verbs[i].preposition = rng.below(Lexicon.prepositions.count)
        }
    }

    /// Adverbs from adjectives, occupations, people (with genders), cities, countries and languages.
    mutating func makeNamesAndAdverbs(_ names: inout FreshWords, _ rng: inout Rng, _ sizes: WorldSizes) {
        for a in adjectives.prefix(sizes.adverbs) {
            let adv = a.hasSuffix("y") ? String(a.dropLast()) + "ily" : a + "ly"
            if !names.used.contains(adv) {
                names.used.insert(adv)
                adverbs.append(adv)
            }
        }
        for _ in 0..<sizes.occupations {
            let s = names.fresh(&rng) { Lexicon.stem(&$0, syllables: 1) + $0.pick(["er", "ist", "or", "man"]) }
            let p = Lexicon.plural(s)
            names.used.insert(p)
            occupations.append(Noun(singular: s, plural: p))
        }
        for _ in 0..<sizes.people {
            people.append(
                names.fresh(&rng) {
                    Lexicon.capitalized(
                        Lexicon.stem(&$0, syllables: 1 + $0.below(2))
                            + $0.pick(["a", "o", "en", "el", "ia", "us", "in", "ra"]))
                })
            genders.append(rng.below(2) == 0)
        }
        for _ in 0..<sizes.cities {
            cities.append(
                names.fresh(&rng) {
                    Lexicon.capitalized(
                        Lexicon.stem(&$0, syllables: 1 + $0.below(2))
                            + $0.pick(["mar", "ven", "dor", "holm", "ford", "ton", "grad"]))
                })
        }
        for _ in 0..<sizes.countries {
            let root = names.fresh(&rng) { Lexicon.capitalized(Lexicon.stem(&$0, syllables: 1 + $0.below(2))) }
            let country = root + rng.pick(["ia", "land", "ova", "istan"])
            let language = root + rng.pick(["ish", "ian", "ese", "ic"])
            names.used.insert(country)
            names.used.insert(language)
            countries.append(country)
            languages.append(language)
        }
    }

    // MARK: word shapes

    static let onsets = [
        "b", "br", "c", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pl", "pr",
        "r", "s", "sk", "sl", "sp", "st", "t", "tr", "v", "w", "z", "sh", "th", "ch",
    ]
    static let vowels = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "oo", "ou"]
    static let codas = ["", "", "n", "r", "l", "s", "t", "m", "nd", "rt", "sk", "lt", "nk", "ck", "mp", "st"]
    static let adjSuffixes = ["ous", "ful", "ish", "y", "al", "ive", "ant", "ic"]

    static func stem(_ rng: inout Rng, syllables: Int) -> String {
        var s = ""
        for i in 0..<syllables {
            s += rng.pick(onsets) + rng.pick(vowels)
            if i == syllables - 1 || rng.below(3) == 0 { s += rng.pick(codas) }
        }
        return s
    }

    static func capitalized(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    static func plural(_ s: String) -> String {
        if s.hasSuffix("s") || s.hasSuffix("sh") || s.hasSuffix("ch") || s.hasSuffix("x") || s.hasSuffix("z") {
            return s + "es"
        }
        if s.hasSuffix("y") && s.count > 2 && !"aeiou".contains(s.dropLast().last!) { return s.dropLast() + "ies" }
        return s + "s"
    }

    static func inflectVerb(_ b: String, transitive: Bool) -> Verb {
        let third = plural(b)
        let past: String
        if b.hasSuffix("e") {
            past = b + "d"
        } else if b.hasSuffix("y") && !"aeiou".contains(b.dropLast().last!) {
            past = b.dropLast() + "ied"
        } else {
            past = b + "ed"
        }
        let ing = b.hasSuffix("e") && !b.hasSuffix("ee") ? b.dropLast() + "ing" : b + "ing"
        return Verb(base: b, third: third, past: past, ing: ing, participle: past, transitive: transitive)
    }

    // MARK: function words

    static let determiners = [
        "the", "a", "an", "this", "that", "these", "those", "every", "some", "no", "each", "many",
    ]
    static let prepositions = [
        "in", "on", "at", "with", "from", "near", "under", "for", "about", "behind", "over", "after",
    ]
    static let conjunctions = ["and", "or", "but"]
    static let subordinators = ["because", "while", "although", "when", "if", "before"]
    static let numbers = ["two", "three", "four", "five", "six", "seven", "ten", "twelve"]
    static let functionWords: [String] =
        determiners + prepositions + conjunctions + subordinators + numbers + [
            "i", "you", "he", "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your", "his", "its",
            "our",
            "their", "is", "are", "was", "were", "be", "been", "has", "have", "had", "does", "do", "did", "will", "can",
            "could", "should", "not", "to", "that", "who", "which", "there", "very", "also", "of", "as", "by", "city",
            "capital", "language", "home", "trade", "world", "birthplace", "people", "official", "lives", "born",
            "works",
            "speaks", "speak", "located", "lies", "resides", "serves", "spoken", "communicates", "profession",
            "originally", "native", "living", "earns", "first", "initially", "then", "later", "afterwards", "next",
            "finally", "eventually", "lastly",
        ] + Lexicon.discourseMarkers.flatMap { $0 }
    /// Sentence-initial discourse markers by position in a document: early, middle, late.
    static let discourseMarkers = [
        ["first", "initially", "originally"], ["then", "later", "afterwards", "next"],
        ["finally", "eventually", "lastly"],
    ]
}

extension Rng {
    public mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }

    public mutating func shuffle<T>(_ xs: inout [T]) {
        if xs.count < 2 { return }
        for i in stride(from: xs.count - 1, to: 0, by: -1) { xs.swapAt(i, below(i + 1)) }
    }

    public mutating func chance(_ p: Double) -> Bool { uniform() < p }
}

// The world's minimal pairs (a world-BLiMP): paradigms of grammatical/ungrammatical sentence pairs built
// from the world's own grammar, lexicon and knowledge base, so every label holds by construction. Written
// as pairs/<UID>.jsonl in BLiMP's layout (Warstadt et al. 2020), readable by any BLiMP scorer. A pair is
// kept only when its bad sentence never occurs in train.txt and every word of both sentences does.

import EmbryoCore
import Foundation

/// One minimal pair of the world, with both sentences annotated (the bad one as edited, so a checker can
/// say which constraint it breaks).
public struct WorldPair: Sendable {
    public var uid: String
    public var good: WorldSentence
    public var bad: WorldSentence
}

/// A family of pairs: BLiMP's UID, linguistics term and field, and how to make one pair.
struct WorldParadigm {
    let uid: String
    let term: String
    let field: String
    /// True when both sentences have the same words (only their order differs).
    let lexicallyIdentical: Bool
    let make: (inout Rng) -> (good: WorldSentence, bad: WorldSentence)?
}

extension World {
    /// Pairs per paradigm in pairs/ (fewer when a small world has too few distinct ones).
    public static let pairsPerParadigm = 500

    /// Each paradigm's pairs: `perParadigm` distinct ones, a function of the seed, the train sentences and
    /// their word forms (lowercased). `objects` replaces the facts' objects (an edited world's).
    public func minimalPairs(
        train: Set<String>, forms: Set<String>, objects: [String]? = nil, perParadigm n: Int = World.pairsPerParadigm
    ) -> [(paradigm: String, pairs: [WorldPair])] {
        paradigmPairs(train: train, forms: forms, objects: objects, perParadigm: n).map { ($0.paradigm.uid, $0.pairs) }
    }

    func paradigmPairs(train: Set<String>, forms: Set<String>, objects: [String]?, perParadigm n: Int) -> [(
        paradigm: WorldParadigm, pairs: [WorldPair]
    )] {
        let maker = PairMaker(world: self, objects: objects ?? knowledge.facts.map(\.object))
        return maker.paradigms.map { p in
            var rng = Rng(seed: seed ^ stableHash("pairs \(p.uid)"))
            var out: [WorldPair] = [], seen = Set<String>()
            var attempts = 0
            while out.count < n && attempts < n * 40 {
                attempts += 1
                guard let (good, bad) = p.make(&rng) else { continue }
                let g = good.text, b = bad.text
                guard g != b, !train.contains(b), !seen.contains(g + "\n" + b) else { continue }
                let words = (good.tokens + bad.tokens).map { $0.form.lowercased() }
                guard words.allSatisfy(forms.contains) else { continue }
                seen.insert(g + "\n" + b)
                out.append(WorldPair(uid: p.uid, good: good, bad: bad))
            }
            return (p, out)
        }
    }

    /// Writes pairs/<UID>.jsonl (BLiMP's keys); returns the pairs per paradigm.
    @discardableResult
    public func writePairs(
        to dir: URL, train: Set<String>, forms: Set<String>, objects: [String]? = nil
    ) throws -> [String: Int] {
        let fm = FileManager.default
        try? fm.removeItem(at: dir)
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw EmbryoError.io(dir.path, "cannot create directory: \(error.localizedDescription)")
        }
        var counts: [String: Int] = [:]
        for (p, pairs) in paradigmPairs(
            train: train, forms: forms, objects: objects, perParadigm: World.pairsPerParadigm)
        {
            let uid = p.uid
            let lines = pairs.enumerated().map { (i, pair) in
                jsonLine([
                    ("sentence_good", pair.good.text), ("sentence_bad", pair.bad.text), ("field", p.field),
                    ("linguistics_term", p.term), ("UID", uid), ("simple_LM_method", true),
                    ("one_prefix_method", false), ("two_prefix_method", false),
                    ("lexically_identical", p.lexicallyIdentical), ("pairID", String(i)),
                ])
            }
            counts[uid] = pairs.count
            try writeAtomically(
                Data(lines.map { $0 + "\n" }.joined().utf8), to: dir.appendingPathComponent("\(uid).jsonl"))
        }
        return counts
    }

    /// The words of a line of train.txt (lowercased; closing punctuation split off), as `write` counts them.
    public static func forms(ofLine line: Substring) -> [String] {
        var out: [String] = []
        for piece in line.split(separator: " ") {
            if piece.count > 1, let last = piece.last, ".,?".contains(last) {
                out.append(piece.dropLast().lowercased())
                out.append(String(last))
            } else {
                out.append(piece.lowercased())
            }
        }
        return out
    }
}

// `embryo pairs`: every sentence of a minimal-pairs file scored by one checkpoint, both pseudo-log-likelihood
// variants with each piece's log-probability, as JSON Lines to compare with other scorers.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation

enum PairsCommand {
    static let spec = CommandSpec(
        name: "embryo pairs",
        abstract: "Score minimal pairs with one checkpoint: each sentence's pseudo-log-likelihood, both variants.",
        discussion: """
            Reads minimal pairs in BLiMP's layout (a folder of <UID>.jsonl files, or one), scores every
            sentence by pseudo-log-likelihood: "original" masks each piece in turn (Salazar et al. 2020),
            "word-l2r" also masks the later pieces of the same word (Kauf & Ivanova 2023). Writes one JSON
            line per distinct sentence to --scores: sentence, pieces, pll_original and pll_word_l2r (nats),
            logprobs_original and logprobs_word_l2r (per piece). Prints each variant's accuracy (a pair is
            right when its good sentence scores strictly higher).
            """,
        options: [checkpoint, pairs, scores, Shared.threads]
    )

    static let checkpoint = OptionSpec.required("checkpoint", "dir", "Checkpoint directory (with its MLM head).")
    static let scores = OptionSpec.required("scores", "file", "Where the JSON Lines go.")
    static let pairs = OptionSpec.required(
        "pairs", "path", "BLiMP's data/ folder as distributed, or one <UID>.jsonl file (e.g. a world's pairs/).")

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        let pairs = try MinimalPairs.read(URL(fileURLWithPath: a.string(Self.pairs)!))
        let snapshot = try Run.open(a.string(checkpoint)!).requireSnapshots()[0]
        let (model, tok) = try snapshot.load()
        try model.require(.mlmHead, for: "pseudo-log-likelihood")
        var texts: [String] = [], seen = Set<String>()
        for p in pairs { for t in [p.good, p.bad] where seen.insert(t).inserted { texts.append(t) } }
        let maxLen = min(128, model.config.maxPositionEmbeddings)
        let encoded = texts.map { PseudoLikelihood.encode($0, tok) }
        let fits = encoded.indices.filter { encoded[$0].ids.count <= maxLen }
        if fits.count < texts.count {
            log("pairs: \(texts.count - fits.count) sentences over \(maxLen) pieces left out")
        }
        var logProbs: [PLLVariant: [[Double]]] = [:]
        for v in PLLVariant.allCases {
            logProbs[v] = try PseudoLikelihood.score(
                model: model, sentences: fits.map { encoded[$0] }, maskId: tok.vocab.maskId, variant: v)
        }
        var lines = "", pll: [PLLVariant: [String: Double]] = [:]
        for (k, i) in fits.enumerated() {
            let o = logProbs[.original]![k], w = logProbs[.wordL2R]![k]
            pll[.original, default: [:]][texts[i]] = o.reduce(0, +)
            pll[.wordL2R, default: [:]][texts[i]] = w.reduce(0, +)
            let pieces = encoded[i].ids.dropFirst().dropLast().map { tok.vocab.tokens[Int($0)] }
            lines +=
                jsonLine([
                    ("sentence", texts[i]), ("pieces", Array(pieces)), ("pll_original", o.reduce(0, +)),
                    ("pll_word_l2r", w.reduce(0, +)), ("logprobs_original", o), ("logprobs_word_l2r", w),
                ]) + "\n"
        }
        try writeAtomically(Data(lines.utf8), to: URL(fileURLWithPath: a.string(scores)!))
        for v in PLLVariant.allCases {
            let judged = pairs.compactMap { p in
                pll[v]![p.good].flatMap { g in pll[v]![p.bad].map { PairsMeasurement.isRight(good: g, bad: $0) } }
            }
            print(
                "\(v.rawValue): \(judged.filter { $0 }.count) of \(judged.count) pairs right "
                    + String(format: "(%.3f)", Double(judged.filter { $0 }.count) / Double(max(judged.count, 1))))
        }
        print(a.string(scores)!)
    }
}

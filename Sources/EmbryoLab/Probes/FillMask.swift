// Poking at one snapshot: the top-K predictions of the MLM head at every [MASK] of a text, with softmax
// probabilities, as transformers' fill-mask pipeline reports them on the same checkpoint directory.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct FillPrediction: Sendable, Equatable {
    public var textIndex: Int
    public var maskIndex: Int
    public var rank: Int
    public var tokenId: Int32
    public var token: String
    public var probability: Float

    /// text_index, mask_index, rank, token, probability (6 decimals), tab-separated.
    public var line: String {
        "\(textIndex)\t\(maskIndex)\t\(rank)\t\(token)\t\(String(format: "%.6f", probability))"
    }
}

public enum FillMask {
    public static func predict(model: Albert, tokenizer tok: WordPieceTokenizer, texts: [String], topK: Int) throws
        -> [FillPrediction]
    {
        try model.require(.mlmHead, for: "fill")
        let V = model.config.vocabSize
        guard tok.vocab.count == V else {
            throw EmbryoError.runtime(
                "the vocabulary has \(tok.vocab.count) tokens but the model's vocab_size is \(V)")
        }
        var rows: [[Int32]] = [], masks: [[Int]] = []
        for (ti, text) in texts.enumerated() {
            let ids = [tok.vocab.clsId] + tok.encode(text).ids + [tok.vocab.sepId]
            let m = ids.indices.filter { ids[$0] == tok.vocab.maskId }
            guard !m.isEmpty else {
                throw EmbryoError.usage("text \(ti) has no [MASK] token: \(text)")
            }
            guard ids.count <= model.config.maxPositionEmbeddings else {
                throw EmbryoError.usage(
                    "text \(ti) is \(ids.count) tokens long; the model takes at most \(model.config.maxPositionEmbeddings)"
                )
            }
            rows.append(ids)
            masks.append(m)
        }
        var byText = [[FillPrediction]](repeating: [], count: texts.count)
        let runner = RowRunner(model: model, rows: rows, logits: true, batching: .inOrder)
        try runner.forEachPass { pass in
            for (b, ti) in pass.rows.enumerated() {
                for (mi, pos) in masks[ti].enumerated() {
                    byText[ti] += mostProbable(pass.logits(row: b) + pos * V, V: V, k: topK, tokens: tok.vocab.tokens)
                        .enumerated()
                        .map { r, p in
                            FillPrediction(
                                textIndex: ti, maskIndex: mi, rank: r + 1, tokenId: Int32(p.id), token: p.token,
                                probability: p.probability)
                        }
                }
            }
        }
        return byText.flatMap { $0 }
    }

    /// The k most probable tokens of one row of logits, with their softmax probabilities (ties by id).
    static func mostProbable(_ row: UnsafePointer<Float>, V: Int, k: Int, tokens: [String]) -> [(
        id: Int, token: String, probability: Float
    )] {
        var mx = -Float.infinity
        for v in 0..<V { mx = max(mx, row[v]) }
        var probs = [Float](repeating: 0, count: V)
        var sum: Float = 0
        for v in 0..<V {
            probs[v] = expf(row[v] - mx)
            sum += probs[v]
        }
        let order = (0..<V).sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
        return order.prefix(k).map { ($0, tokens[$0], probs[$0] / sum) }
    }
}

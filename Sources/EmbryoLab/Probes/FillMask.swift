// Poking at one snapshot: the top-K predictions of the MLM head at every [MASK] of a text, with softmax
// probabilities, as transformers' fill-mask pipeline reports them on the same checkpoint directory.

import EmbryoCore
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
        let V = model.config.vocabSize
        guard tok.vocab.count == V else {
            throw EmbryoError.runtime(
                "the vocabulary has \(tok.vocab.count) tokens but the model's vocab_size is \(V)")
        }
        var out: [FillPrediction] = []
        for (ti, text) in texts.enumerated() {
            let ids = [tok.vocab.clsId] + tok.encode(text).ids + [tok.vocab.sepId]
            let masks = ids.indices.filter { ids[$0] == tok.vocab.maskId }
            guard !masks.isEmpty else {
                throw EmbryoError.usage("text \(ti) has no [MASK] token: \(text)")
            }
            guard ids.count <= model.config.maxPositionEmbeddings else {
                throw EmbryoError.usage(
                    "text \(ti) is \(ids.count) tokens long; the model takes at most \(model.config.maxPositionEmbeddings)"
                )
            }
            let T = ids.count
            let batch = AlbertBatch(B: 1, T: T)
            for (t, id) in ids.enumerated() {
                batch.ids[t] = id
                batch.attentionMask[t] = 1
            }
            let acts = Activations(config: model.config, B: 1, T: T, maxPredictions: 0, training: false)
            try model.encode(acts, batch)
            let logits = FloatBuffer(count: T * V)
            model.predictionLogits(acts, out: logits.pointer)
            for (mi, pos) in masks.enumerated() {
                let row = logits.pointer + pos * V
                var mx = -Float.infinity
                for v in 0..<V { mx = max(mx, row[v]) }
                var probs = [Float](repeating: 0, count: V)
                var sum: Float = 0
                for v in 0..<V {
                    probs[v] = expf(row[v] - mx)
                    sum += probs[v]
                }
                let order = (0..<V).sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
                for (r, v) in order.prefix(topK).enumerated() {
                    out.append(
                        FillPrediction(
                            textIndex: ti, maskIndex: mi, rank: r + 1, tokenId: Int32(v), token: tok.vocab.tokens[v],
                            probability: probs[v] / sum))
                }
            }
        }
        return out
    }
}

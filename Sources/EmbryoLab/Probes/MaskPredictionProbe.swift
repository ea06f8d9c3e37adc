// Probe A of "Pretrained Language Model Embryology" (Chiang et al. 2020, section 3): per part of speech,
// token reconstruction (unmasked input; a word is right when every one of its subwords comes back as
// itself) and mask prediction (one copy of the sentence per word with all of that word's subwords
// [MASK]ed; right when all are recovered). Copies are packed into batches; MLM logits are computed only at
// the positions that are scored.

import EmbryoCore
import EmbryoText
import Foundation

public struct TagScore: Codable, Sendable, Equatable {
    public var count = 0
    public var reconstructed = 0
    public var predicted = 0
    public var reconstructionAccuracy: Double { count > 0 ? Double(reconstructed) / Double(count) : 0 }
    public var maskPredictionAccuracy: Double { count > 0 ? Double(predicted) / Double(count) : 0 }
}

public struct MaskPredictionResult: Codable, Sendable {
    public var upos: [String: TagScore] = [:]
    public var xpos: [String: TagScore] = [:]
    public var words = 0
}

public enum MaskPredictionProbe {
    /// One input row: ids, which positions are scored, and which words they belong to.
    struct Row {
        var ids: [Int32]
        var labels: [Int32]
        var sentence: Int
        var word: Int  // -1: the reconstruction row of the sentence
    }

    public static func run(model: Albert, sentences: [ProbeSentence], maskId: Int32, batchRows: Int = 32) throws
        -> MaskPredictionResult
    {
        var rows: [Row] = []
        for (si, s) in sentences.enumerated() {
            rows.append(
                Row(
                    ids: s.ids,
                    labels: s.ids.enumerated().map {
                        $0.offset == 0 || $0.offset == s.ids.count - 1 ? -100 : $0.element
                    },
                    sentence: si, word: -1))
            for (wi, w) in s.words.enumerated() {
                var ids = s.ids, labels = [Int32](repeating: -100, count: s.ids.count)
                for p in w {
                    labels[p] = ids[p]
                    ids[p] = maskId
                }
                rows.append(Row(ids: ids, labels: labels, sentence: si, word: wi))
            }
        }
        // per sentence: per word, reconstruction and mask prediction outcomes
        var recon = sentences.map { [Bool](repeating: true, count: $0.words.count) }
        var pred = sentences.map { [Bool](repeating: false, count: $0.words.count) }
        // rows of similar length together keep padding low
        let order = rows.indices.sorted { (rows[$0].ids.count, $0) < (rows[$1].ids.count, $1) }
        var k = 0
        while k < order.count {
            let chunk = Array(order[k..<min(k + batchRows, order.count)])
            k += chunk.count
            let T = chunk.map { rows[$0].ids.count }.max()!
            let batch = AlbertBatch(B: chunk.count, T: T)
            for (b, r) in chunk.enumerated() {
                let row = rows[r]
                for t in 0..<T {
                    let i = b * T + t
                    let inside = t < row.ids.count
                    batch.ids[i] = inside ? row.ids[t] : 0
                    batch.attentionMask[i] = inside ? 1 : 0
                    batch.mlmLabels[i] = inside ? row.labels[t] : -100
                }
                batch.sopLabels[b] = -100
            }
            let acts = Activations(
                config: model.config, B: chunk.count, T: T, maxPredictions: chunk.count * T, training: false)
            _ = try model.forward(acts, batch, gradients: false)
            // predictions come back in row-major order of labelled positions
            var correctAt: [Int: Bool] = [:]
            for p in 0..<acts.predictionCount { correctAt[Int(acts.positions[p])] = acts.mlmCorrect[p] > 0 }
            for (b, r) in chunk.enumerated() {
                let row = rows[r]
                let s = sentences[row.sentence]
                if row.word < 0 {
                    for (wi, w) in s.words.enumerated() where !w.allSatisfy({ correctAt[b * T + $0] == true }) {
                        recon[row.sentence][wi] = false
                    }
                } else {
                    pred[row.sentence][row.word] = s.words[row.word].allSatisfy { correctAt[b * T + $0] == true }
                }
            }
        }
        var result = MaskPredictionResult()
        for (si, s) in sentences.enumerated() {
            for wi in s.words.indices {
                for (table, tag) in [
                    (\MaskPredictionResult.upos, s.upos[wi]), (\MaskPredictionResult.xpos, s.xpos[wi]),
                ] where tag != "_" {
                    result[keyPath: table][tag, default: TagScore()].count += 1
                    if recon[si][wi] { result[keyPath: table][tag, default: TagScore()].reconstructed += 1 }
                    if pred[si][wi] { result[keyPath: table][tag, default: TagScore()].predicted += 1 }
                }
                result.words += 1
            }
        }
        return result
    }
}

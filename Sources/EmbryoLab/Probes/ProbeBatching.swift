// Scoring many short labelled rows with the MLM head: rows of similar length are packed into batches of
// about `tokensPerBatch` positions, MLM logits are computed only at labelled positions, and each row gets
// back, per labelled position in order, whether the top prediction was the label and its cross-entropy.

import EmbryoCore
import Foundation

public struct LabelledRow: Sendable {
    public var ids: [Int32]
    public var labels: [Int32]  // negative: not scored

    public init(ids: [Int32], labels: [Int32]) {
        self.ids = ids
        self.labels = labels
    }
}

public struct RowPredictions: Sendable {
    public var correct: [Bool] = []
    public var loss: [Float] = []
}

/// Row indices in batches of similar length, shortest first, each about `tokensPerBatch` padded positions
/// (at least one row), with its padded length.
public func lengthBatches(_ lengths: [Int], tokensPerBatch: Int) -> [(rows: [Int], T: Int)] {
    let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
    var out: [(rows: [Int], T: Int)] = []
    var k = 0
    while k < order.count {
        // lengths ascend, so the last row taken sets the batch's length
        var end = k
        while end < order.count && (end == k || (end - k + 1) * lengths[order[end]] <= tokensPerBatch) { end += 1 }
        out.append((Array(order[k..<end]), lengths[order[end - 1]]))
        k = end
    }
    return out
}

public enum MLMScoring {
    public static func score(model: Albert, rows: [LabelledRow], tokensPerBatch: Int = 4096) throws -> [RowPredictions]
    {
        var out = [RowPredictions](repeating: RowPredictions(), count: rows.count)
        let chunks = lengthBatches(rows.map(\.ids.count), tokensPerBatch: tokensPerBatch)
        guard !chunks.isEmpty else { return out }
        // one allocation for every chunk (the largest chunk's tokens, the longest row, the most rows and
        // labels), the rows of each chunk split over threads
        let labelledCount = rows.map { $0.labels.filter { $0 >= 0 }.count }
        let shards = DataParallel(
            model: model, maxTokens: chunks.map { $0.rows.count * $0.T }.max()!,
            maxSequences: chunks.map(\.rows.count).max()!, maxT: chunks.map(\.T).max()!,
            maxPredictions: max(1, chunks.map { $0.rows.map { labelledCount[$0] }.reduce(0, +) }.max()!))
        for (chunk, T) in chunks {
            let B = chunk.count
            try shards.reshape(B: B, T: T)
            let batch = AlbertBatch(B: B, T: T)
            for (b, r) in chunk.enumerated() {
                let row = rows[r]
                for t in 0..<T {
                    let i = b * T + t, inside = t < row.ids.count
                    batch.ids[i] = inside ? row.ids[t] : 0
                    batch.attentionMask[i] = inside ? 1 : 0
                    batch.mlmLabels[i] = inside && row.labels[t] >= 0 ? row.labels[t] : -100
                }
                batch.sopLabels[b] = -100
            }
            _ = try ForwardMeter.shared.time(tokens: B * T) { try shards.run(batch, gradients: false) }
            // predictions come back in row-major order of labelled positions
            shards.forEachPrediction { flat, correct, loss in
                let r = chunk[flat / T]
                out[r].correct.append(correct)
                out[r].loss.append(loss)
            }
        }
        return out
    }
}

// Token rows of different lengths run through a model: the one way the lab's consumers (the probes, the
// activation store) reach it. Rows are grouped into batches of about `tokensPerBatch` padded positions,
// either by length (shortest first, least padding) or in their own order, padded into one AlbertBatch per
// batch, and run by data-parallel shards allocated once for the largest batch. After each batch the
// consumer reads hidden states of chosen layers, the MLM predictions at labelled positions, or the MLM
// logits at every position.

import EmbryoCore
import EmbryoRun
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
    /// The top prediction at each labelled position.
    public var predicted: [Int32] = []
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

/// Consecutive rows in their own order, each batch about `tokensPerBatch` padded positions (at least one row).
public func orderedBatches(_ lengths: [Int], tokensPerBatch: Int) -> [(rows: [Int], T: Int)] {
    var out: [(rows: [Int], T: Int)] = []
    var k = 0
    while k < lengths.count {
        var end = k, T = 0
        while end < lengths.count && (end == k || (end - k + 1) * max(T, lengths[end]) <= tokensPerBatch) {
            T = max(T, lengths[end])
            end += 1
        }
        out.append((Array(k..<end), T))
        k = end
    }
    return out
}

public final class RowRunner {
    public enum Batching: Sendable { case byLength, inOrder }

    /// One batch, after its pass: which input rows it holds (batch row b is input row `rows[b]`) and its length.
    public struct Pass {
        public let rows: [Int]
        public let T: Int
        let shards: DataParallel
        let logitBuffer: FloatBuffer?

        /// With `logits: true`: the MLM logits of batch row b, (T, V).
        public func logits(row b: Int) -> UnsafePointer<Float> {
            UnsafePointer(logitBuffer!.pointer + b * T * shards.model.config.vocabSize)
        }

        /// Hidden states of batch row b at layer l, (T, H); positions past the row's length are padding.
        public func hidden(_ l: Int, row b: Int) -> UnsafePointer<Float> { shards.hiddenState(l, row: b) }
        /// Row b's attention probabilities in layer application l (0-based): (heads, T, T).
        public func attention(_ l: Int, row b: Int) -> UnsafePointer<Float> { shards.attention(l, row: b) }

        /// After a scoring pass: body(batch row, whether the top prediction is the label, cross-entropy, the
        /// top prediction) for every labelled position, in row-major order.
        public func forEachPrediction(_ body: (Int, Bool, Float, Int32) -> Void) {
            shards.forEachPrediction { flat, correct, loss, top in body(flat / T, correct, loss, top) }
        }
    }

    public let model: Albert
    public let plan: [(rows: [Int], T: Int)]
    let ids: [[Int32]]
    let labels: [[Int32]]?
    let shards: DataParallel?
    let logitBuffer: FloatBuffer?

    /// Plans the batches of `rows` (token ids each, at most the model's positions) and allocates for the
    /// largest. With `labels` (one per token, negative = none), passes also score the MLM head there; with
    /// `logits`, they compute the MLM logits at every position instead.
    public init(
        model: Albert, rows: [[Int32]], labels: [[Int32]]? = nil, logits: Bool = false, batching: Batching = .byLength,
        tokensPerBatch: Int = 4096
    ) {
        self.model = model
        ids = rows
        self.labels = labels
        let lengths = rows.map(\.count)
        plan =
            batching == .byLength
            ? lengthBatches(lengths, tokensPerBatch: tokensPerBatch)
            : orderedBatches(lengths, tokensPerBatch: tokensPerBatch)
        guard !plan.isEmpty else {
            shards = nil
            logitBuffer = nil
            return
        }
        let mostTokens = plan.map { $0.rows.count * $0.T }.max()!
        logitBuffer = logits ? FloatBuffer(count: mostTokens * model.config.vocabSize) : nil
        let labelled: [Int] = labels?.map { $0.filter { $0 >= 0 }.count } ?? []
        var mostLabels = 0
        if !labelled.isEmpty {
            for batch in plan { mostLabels = max(mostLabels, batch.rows.reduce(0) { $0 + labelled[$1] }) }
        }
        // one allocation for every batch (the largest batch's positions, the longest row, the most rows
        // and labels), the rows of each batch split over threads
        shards = DataParallel(
            model: model, maxTokens: mostTokens,
            maxSequences: plan.map(\.rows.count).max()!, maxT: plan.map(\.T).max()!,
            maxPredictions: max(1, mostLabels))
    }

    /// Runs every batch of the plan in order (the encoder, plus the MLM head at labelled positions when the
    /// runner has labels), calling `body` after each.
    public func forEachPass(_ body: (Pass) throws -> Void) throws {
        guard let shards else { return }
        for (rows, T) in plan {
            let B = rows.count
            try shards.reshape(B: B, T: T)
            let batch = AlbertBatch(B: B, T: T)
            for (b, r) in rows.enumerated() {
                let row = ids[r]
                for t in 0..<T {
                    let i = b * T + t, inside = t < row.count
                    batch.ids[i] = inside ? row[t] : 0
                    batch.attentionMask[i] = inside ? 1 : 0
                    batch.mlmLabels[i] = inside && (labels?[r][t] ?? -1) >= 0 ? labels![r][t] : -100
                }
                batch.sopLabels[b] = -100
            }
            try ForwardMeter.shared.time(tokens: B * T) {
                if let logitBuffer {
                    try shards.predictionLogits(batch, out: logitBuffer.pointer)
                } else if labels == nil {
                    try shards.encode(batch)
                } else {
                    _ = try shards.run(batch, gradients: false)
                }
            }
            try body(Pass(rows: rows, T: T, shards: shards, logitBuffer: logitBuffer))
        }
    }
}

public enum MLMScoring {
    /// Per row, for each labelled position in order: whether the top prediction is the label, and the
    /// cross-entropy.
    public static func score(model: Albert, rows: [LabelledRow], tokensPerBatch: Int = 4096) throws -> [RowPredictions]
    {
        var out = [RowPredictions](repeating: RowPredictions(), count: rows.count)
        let runner = RowRunner(
            model: model, rows: rows.map(\.ids), labels: rows.map(\.labels), tokensPerBatch: tokensPerBatch)
        try runner.forEachPass { pass in
            pass.forEachPrediction { b, correct, loss, top in
                let r = pass.rows[b]
                out[r].correct.append(correct)
                out[r].loss.append(loss)
                out[r].predicted.append(top)
            }
        }
        return out
    }
}

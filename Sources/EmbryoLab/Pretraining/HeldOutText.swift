// Probe: held-out MLM loss and accuracy on a fixed masking of held-out text, so every snapshot's loss sits
// on the same axis as the other probes. For a run made by `embryo pretrain` the text is the run's own
// held-out documents with the evaluation masking it used while training (same batches, same seed); for
// any other folder of checkpoints it is the probe sentences with a fixed seeded 15% masking.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class HeldOutText {
    public let description: String
    let maker: ExampleMaker?
    let vocabHash: String?
    let batchSize: Int, seqLen: Int, batches: Int
    let rows: [LabelledRow]

    init(
        description: String, maker: ExampleMaker?, vocabHash: String?, batchSize: Int, seqLen: Int, batches: Int,
        rows: [LabelledRow]
    ) {
        self.description = description
        self.maker = maker
        self.vocabHash = vocabHash
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.batches = batches
        self.rows = rows
    }

    /// The run's held-out documents, when `run` was made by `embryo pretrain` and its token cache is still there.
    public static func fromRun(_ run: Run) throws -> HeldOutText? {
        guard run.hasManifest else { return nil }
        let m = try run.manifest(), cfg = m.config
        guard let maker = try run.exampleMaker(m) else { return nil }
        let vocabURL = run.tokenizerDir.appendingPathComponent("vocab.txt")
        guard !maker.evalStarts.isEmpty else { return nil }
        let (_, vh) = try hashFile(vocabURL.path)
        return HeldOutText(
            description: "run held-out documents (\(maker.heldOutDocuments) documents, \(cfg.evalBatches)x"
                + "\(cfg.batchSize)x\(cfg.seqLen), seed \(cfg.effectiveDataSeed))",
            maker: maker, vocabHash: vh, batchSize: cfg.batchSize, seqLen: cfg.seqLen, batches: cfg.evalBatches,
            rows: [])
    }

    /// Probe sentences with every inner subword masked with probability 0.15 (at least one per sentence).
    public static func fromSentences(_ sentences: [ProbeSentence], maskId: Int32, source: String) -> HeldOutText {
        var rng = Rng(seed: 0x5EED_1055)
        let rows = sentences.map { s -> LabelledRow in
            var ids = s.ids, labels = [Int32](repeating: -100, count: s.ids.count)
            let inner = Array(1..<max(1, s.ids.count - 1))
            var chosen = inner.filter { _ in rng.uniform() < 0.15 }
            if chosen.isEmpty, !inner.isEmpty { chosen = [inner[rng.below(inner.count)]] }
            for p in chosen {
                labels[p] = ids[p]
                ids[p] = maskId
            }
            return LabelledRow(ids: ids, labels: labels)
        }
        return HeldOutText(
            description: "\(source) (\(rows.count) sentences, seeded 15% masking)", maker: nil, vocabHash: nil,
            batchSize: 0, seqLen: 0, batches: 0, rows: rows)
    }

    /// Whether this text can be scored by a checkpoint with the vocabulary `vocabHash`.
    public func fits(vocabHash h: String) -> Bool { vocabHash == nil || vocabHash == h }

    /// Keys: mlm_loss, mlm_accuracy (and sop_accuracy on a run's held-out documents, from the sentence head:
    /// SOP for ALBERT, BERT's next-sentence head for BERT).
    public func run(model: Albert, step: Int) throws -> [ProbeMetric] {
        func m(_ k: String, _ v: Double, _ c: Int) -> ProbeMetric {
            ProbeMetric(step: step, probe: "loss", key: k, value: v, count: c)
        }
        if let maker {
            let shards = DataParallel(
                model: model, B: batchSize, T: seqLen, predictionsPerSequence: maker.maxPredictions, training: false)
            let (loss, acc, sop, n, sopN) = try ForwardMeter.shared.time(tokens: batchSize * seqLen * batches) {
                try HeldOutText.evaluate(model, maker, shards, batches: batches)
            }
            var out = [m("mlm_loss", Double(loss), n), m("mlm_accuracy", Double(acc), n)]
            // a checkpoint saved without its sentence head (a *ForMaskedLM) would score an untrained one
            if model.hasSentenceHead {
                out.append(m("sop_accuracy", Double(sop), sopN))
            }
            return out
        }
        let scored = try MLMScoring.score(model: model, rows: rows)
        var loss = 0.0, right = 0, n = 0
        for s in scored {
            for (c, l) in zip(s.correct, s.loss) {
                loss += Double(l)
                right += c ? 1 : 0
                n += 1
            }
        }
        return [m("mlm_loss", loss / Double(max(n, 1)), n), m("mlm_accuracy", Double(right) / Double(max(n, 1)), n)]
    }

    /// Held-out MLM loss and accuracy, and SOP accuracy, over the first `batches` evaluation batches.
    static func evaluate(_ model: Albert, _ maker: ExampleMaker, _ shards: DataParallel, batches: Int) throws -> (
        loss: Float, acc: Float, sop: Float, count: Int, sopCount: Int
    ) {
        let batch = AlbertBatch(B: shards.B, T: shards.T)
        var loss = 0.0, right = 0, count = 0, sopRight = 0, sopCount = 0
        for k in 0..<batches {
            maker.fill(batch, step: k, eval: true)
            let out = try shards.run(batch, gradients: false)
            loss += Double(out.mlmLoss) * Double(out.mlmCount)
            right += out.mlmCorrect
            count += out.mlmCount
            sopRight += out.sopCorrect
            sopCount += out.sopCount
        }
        return (
            Float(loss / Double(max(count, 1))), Float(right) / Float(max(count, 1)),
            Float(sopRight) / Float(max(sopCount, 1)), count, sopCount
        )
    }
}

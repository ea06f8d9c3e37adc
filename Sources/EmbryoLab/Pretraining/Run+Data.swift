// A finished (or running) run's training data, rebuilt from its files: the settings in run.json, the
// vocabulary in tokenizer/ and the token cache run.json names. Batches are a function of (seed, step), so
// this is all that is needed to replay exactly what any step saw.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

extension Run {
    /// The example maker the run described by `m` (its run.json) trained with, or nil when the token cache
    /// it names is gone.
    public func exampleMaker(_ m: RunManifest) throws -> ExampleMaker? {
        guard FileManager.default.fileExists(atPath: m.tokenCache) else { return nil }
        let vocab = try Vocabulary.load(tokenizerDir.appendingPathComponent("vocab.txt"))
        let corpus = try TokenizedCorpus.load(URL(fileURLWithPath: m.tokenCache), vocabSize: vocab.count)
        if let recorded = m.tokenCacheHash, try hashFile(m.tokenCache).1 != recorded {
            throw EmbryoError.format(
                m.tokenCache,
                "the token cache has changed since \(root.path) was trained (fnv1a64 in run.json): delete it and "
                    + "run 'embryo pretrain --resume \(root.path)' once to rebuild it")
        }
        return try ExampleMaker(corpus: corpus, vocab: vocab, config: m.config)
    }

    /// The example maker and settings that replay `steps` of this run (an error for steps outside the run,
    /// or when its token cache is gone).
    func replay(_ steps: [Int]) throws -> (ExampleMaker, PretrainConfig) {
        let m = try manifest(), cfg = m.config
        if let bad = steps.first(where: { $0 < 1 || $0 > cfg.steps }) {
            throw EmbryoError.usage("step \(bad) is outside the run's steps 1-\(cfg.steps)")
        }
        return (try requireExampleMaker(m), cfg)
    }

    /// The example maker of the run described by `m`, or an error saying how to rebuild its token cache.
    public func requireExampleMaker(_ m: RunManifest) throws -> ExampleMaker {
        guard let maker = try exampleMaker(m) else {
            throw EmbryoError.runtime(
                "\(runJSON.path): the token cache it names is gone; run `embryo pretrain --resume \(root.path)` once "
                    + "with the same corpus to rebuild it")
        }
        return maker
    }

    /// The exact training batches of `steps` (step s is the batch that turned checkpoint s-1 into s), as
    /// int64 tensors named after the arguments of transformers' AlbertForPreTraining.forward:
    /// input_ids, token_type_ids, attention_mask, labels (-100 = no target): [steps, batch, seq];
    /// sentence_order_label (0 = in order, 1 = swapped): [steps, batch]; for a BERT run next_sentence_label,
    /// the name BertForPreTraining.forward takes for its sentence head's labels (here the same order labels).
    /// Steps in any order (metadata "steps" lists them when they are not one range).
    public func writeBatches(steps: [Int], to url: URL) throws {
        let (maker, cfg) = try replay(steps)
        let sentenceLabel = try manifest().model.family.sentenceLabel
        let B = cfg.batchSize, T = cfg.seqLen, S = steps.count
        let batch = AlbertBatch(B: B, T: T)
        var ids = [Int64](), types = [Int64](), mask = [Int64](), labels = [Int64](), sop = [Int64]()
        ids.reserveCapacity(S * B * T)
        types.reserveCapacity(S * B * T)
        mask.reserveCapacity(S * B * T)
        labels.reserveCapacity(S * B * T)
        for step in steps {
            maker.fill(batch, step: step)
            for i in 0..<(B * T) {
                ids.append(Int64(batch.ids[i]))
                types.append(Int64(batch.tokenTypes[i]))
                mask.append(batch.attentionMask[i] != 0 ? 1 : 0)
                labels.append(batch.mlmLabels[i] < 0 ? -100 : Int64(batch.mlmLabels[i]))
            }
            for b in 0..<B { sop.append(Int64(batch.sopLabels[b])) }
        }
        try writeSafetensors(
            int64: [
                ("input_ids", [S, B, T], ids), ("token_type_ids", [S, B, T], types),
                ("attention_mask", [S, B, T], mask), ("labels", [S, B, T], labels),
                (sentenceLabel, [S, B], sop),
            ],
            metadata: batchMetadata(steps, seed: cfg.seed), to: url)
    }

    func batchMetadata(_ steps: [Int], seed: Int) -> [String: String] {
        var m = [
            "first_step": String(steps.first ?? 0), "last_step": String(steps.last ?? 0), "seed": String(seed),
            "format": "embryo batches",
        ]
        if zip(steps, steps.dropFirst()).contains(where: { $1 != $0 + 1 }) {
            m["steps"] = steps.map(String.init).joined(separator: ",")
        }
        return m
    }
}

extension Run {
    /// The batches of `steps` as text for a person to read: a line per example, "step S row R (in order |
    /// swapped):" and its tokens, WordPiece continuations joined, each target shown as [MASK:word],
    /// [random:word] or [kept:word] with the word it stands for.
    /// Steps in any order.
    public func decodedBatches(steps: [Int]) throws -> [String] {
        let (maker, cfg) = try replay(steps)
        let vocab = try Vocabulary.load(tokenizerDir.appendingPathComponent("vocab.txt"))
        var lines: [String] = []
        for step in steps {
            for row in 0..<cfg.batchSize {
                let ex = maker.example(step: step, row: row)
                var text = ""
                for (id, label) in zip(ex.ids, ex.labels) {
                    var piece = vocab.tokens[Int(label >= 0 ? label : id)]
                    let joined = Vocabulary.isContinuation(piece)
                    if joined { piece = String(piece.dropFirst(2)) }
                    if label >= 0 {
                        let how = id == vocab.maskId ? "MASK" : id == label ? "kept" : "random"
                        piece = "[\(how):\(piece)]"
                    }
                    text += (joined || text.isEmpty ? "" : " ") + piece
                }
                lines.append("step \(step) row \(row) (\(ex.sopLabel == 0 ? "in order" : "swapped")): \(text)")
            }
        }
        return lines
    }
}

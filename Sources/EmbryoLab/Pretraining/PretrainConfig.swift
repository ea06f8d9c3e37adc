// The settings of a pretraining run, as recorded in run.json and compared on --resume.

import EmbryoCore
import Foundation

public struct PretrainConfig: Codable, Equatable, Sendable {
    /// Corpus paths; empty means the built-in world.
    public var corpus: [String] = []
    public var worldSeed = 1
    public var worldTokens = 2_000_000
    /// Preset name or config.json path.
    public var config = "tiny"
    public var vocab: String? = nil
    public var vocabSize = 8000
    public var cased = false
    public var steps = 3200
    public var batchSize = 32
    public var seqLen = 128
    public var lr = 1e-2
    public var warmup = 160
    public var optimizer = "lamb"
    public var saveEvery = 200
    public var logSteps = true
    public var evalEvery = 200
    public var evalBatches = 4
    public var logEvery = 10
    public var unshared = false
    public var seed = 1
    public var threads = 1
    /// Position embeddings at step 0: "normal" (HF's init) or "sinusoidal" (nil in runs made before the
    /// option existed: normal).
    public var positionInit: String? = "sinusoidal"
    /// Longest whole-word n-gram masked together: 1 (single words, as BERT) by default, 3 as ALBERT (nil in
    /// runs made before the option existed: 3).
    public var maxNgram: Int? = 1
    /// MLM output bias at step 0: "zero" (HF's init) or "unigram" (the log unigram distribution of the
    /// training tokens; nil in runs made before the option existed: zero).
    public var outputBias: String? = "unigram"
    /// Layer applications, overriding the preset's or config file's num_hidden_layers (nil: keep it).
    public var layers: Int? = nil
    /// Optimizer state kept: "last" (for resuming; nil means the same) or "all" (every snapshot's, so the
    /// run can be branched from any of them).
    public var keepState: String? = nil
    /// JSON Lines corpora: the field holding each record's text (nil: "text").
    public var textField: String? = nil

    enum CodingKeys: String, CodingKey {
        case corpus, worldSeed = "world_seed", worldTokens = "world_tokens", config, vocab, vocabSize = "vocab_size",
            cased
        case steps, batchSize = "batch_size", seqLen = "seq_len", lr, warmup, optimizer, saveEvery = "save_every"
        case logSteps = "log_steps", evalEvery = "eval_every", evalBatches = "eval_batches", logEvery = "log_every"
        case unshared, seed, threads, positionInit = "position_init", maxNgram = "max_ngram", outputBias =
            "output_bias", layers, keepState = "keep_state", textField = "text_field"
    }

    public init() {}

    /// Fields a branched run may not change: they make the model, its vocabulary or its batches' shape.
    public static let fixedInBranch = [
        "config", "layers", "unshared", "cased", "vocab_size", "batch_size", "seq_len", "optimizer", "position_init",
        "output_bias",
    ]

    /// Field names whose values differ (for refusing a --resume with other settings).
    public func differences(from other: PretrainConfig) -> [String] {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        guard let a = try? JSONSerialization.jsonObject(with: enc.encode(self)) as? [String: Any],
            let b = try? JSONSerialization.jsonObject(with: enc.encode(other)) as? [String: Any]
        else { return ["?"] }
        return Set(a.keys).union(b.keys).sorted().filter { k in
            "\(a[k].map { "\($0)" } ?? "nil")" != "\(b[k].map { "\($0)" } ?? "nil")"
        }
    }

    /// Checkpoint steps: 0, then 1, 2, 4, ... below saveEvery (unless logSteps is off), every saveEvery, and the last.
    public func checkpointSteps() -> [Int] {
        var s = Set([0, steps])
        if logSteps {
            var p = 1
            while p < min(saveEvery, steps) {
                s.insert(p)
                p *= 2
            }
        }
        if saveEvery > 0 { for k in stride(from: saveEvery, through: steps, by: saveEvery) { s.insert(k) } }
        return s.sorted()
    }

    public func validate() throws {
        func bad(_ s: String) throws -> Never { throw EmbryoError.usage(s) }
        if steps < 1 { try bad("--steps must be at least 1") }
        if batchSize < 1 { try bad("--batch-size must be at least 1") }
        if seqLen < 8 { try bad("--seq-len must be at least 8") }
        if seqLen > 1 << 16 { try bad("--seq-len \(seqLen) is beyond the engine's limit of 65536") }
        if batchSize > 1 << 20 || batchSize * seqLen > 1 << 20 {
            try bad(
                "--batch-size \(batchSize) x --seq-len \(seqLen) is beyond the engine's limit of 1,048,576 tokens per step"
            )
        }
        if steps > 100_000_000 { try bad("--steps \(steps) is beyond the limit of 100,000,000") }
        if lr <= 0 || !lr.isFinite { try bad("--lr must be positive") }
        if warmup < 0 || warmup > steps { try bad("--warmup must be between 0 and --steps (\(steps))") }
        if saveEvery < 1 { try bad("--save-every must be at least 1") }
        if evalEvery < 1 { try bad("--eval-every must be at least 1") }
        if logEvery < 1 { try bad("--log-every must be at least 1") }
        if seed < 0 { try bad("--seed must be at least 0") }
        if worldSeed < 0 { try bad("--world-seed must be at least 0") }
        if corpus.isEmpty && worldTokens < 1000 { try bad("--world-tokens must be at least 1000") }
        if threads < 1 { try bad("--threads must be at least 1") }
        if !["lamb", "adamw"].contains(optimizer) { try bad("--optimizer must be lamb or adamw") }
        if vocab == nil && vocabSize < 10 { try bad("--vocab-size must be at least 10") }
        if let n = maxNgram, n < 1 || n > 10 { try bad("--max-ngram must be between 1 and 10") }
        if let l = layers, l < 1 || l > 1024 { try bad("--layers must be between 1 and 1024") }
        if let b = outputBias, !["zero", "unigram"].contains(b) { try bad("--output-bias must be zero or unigram") }
        if let k = keepState, !["last", "all"].contains(k) { try bad("--keep-state must be last or all") }
        if let p = positionInit, !["normal", "sinusoidal"].contains(p) {
            try bad("--position-init must be normal or sinusoidal")
        }
    }
}

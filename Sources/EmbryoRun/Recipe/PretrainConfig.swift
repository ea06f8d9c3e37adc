// The settings of a pretraining run, as recorded in run.json and compared on --resume.

import EmbryoCore
import Foundation

/// Position embeddings at step 0.
public enum PositionInit: String, Codable, Sendable, CaseIterable {
    /// transformers' initialisation (normal, the config's range).
    case normal
    /// Sinusoids (Vaswani et al. 2017) at the same scale.
    case sinusoidal
}

/// The MLM decoder's output bias at step 0.
public enum OutputBias: String, Codable, Sendable, CaseIterable {
    /// transformers' initialisation.
    case zero
    /// The log unigram distribution of the training tokens, so that step 0 already predicts frequencies.
    case unigram
}

/// Which optimizer states a run keeps.
public enum KeptState: String, Codable, Sendable, CaseIterable {
    /// The last snapshot's, for resuming.
    case last
    /// Every snapshot's, so that the run can be branched from any of them.
    case all
}

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
    public var steps = 1600
    public var batchSize = 64
    public var seqLen = 128
    public var lr = 1e-2
    public var warmup = 160
    public var optimizer = OptimizerKind.lamb
    public var saveEvery = 200
    public var logSteps = true
    public var evalEvery = 100
    public var evalBatches = 4
    public var logEvery = 10
    public var unshared = false
    public var seed = 1
    public var threads = 1
    /// Position embeddings at step 0 (nil in runs made before the option existed: normal).
    public var positionInit: PositionInit? = .sinusoidal
    /// Longest whole-word n-gram masked together: 1 (single words, as BERT) by default, 3 as ALBERT (nil in
    /// runs made before the option existed: 3).
    public var maxNgram: Int? = 1
    /// MLM output bias at step 0 (nil in runs made before the option existed: zero).
    public var outputBias: OutputBias? = .unigram
    /// Layer applications, overriding the preset's or config file's num_hidden_layers (nil: keep it).
    public var layers: Int? = nil
    /// Optimizer state kept (nil: the last).
    public var keepState: KeptState? = nil
    /// JSON Lines corpora: the field holding each record's text (nil: "text").
    public var textField: String? = nil
    /// Seed of the initial weights (nil: `seed`).
    public var initSeed: Int? = nil
    /// Seed of the data order and masking, training and held-out (nil: `seed`).
    public var dataSeed: Int? = nil
    /// Extra checkpoint steps, as given to --save-steps (e.g. "1500-2800:50,3000"; nil: none).
    public var saveSteps: String? = nil
    /// Share of the tokens masked in training examples: 0.4 by default (docs/recipes.md); nil, in runs made
    /// before the option, meant 0.15. The held-out evaluation always masks 15%.
    public var maskRate: Double? = 0.4
    /// Optimizer moments' decay rates and epsilon (nil: 0.9, 0.999, 1e-6).
    public var beta1: Double? = nil
    public var beta2: Double? = nil
    public var adamEpsilon: Double? = nil
    /// Weight decay of the decayed tensors (nil: 0.01).
    public var weightDecay: Double? = nil
    /// Global gradient-norm clipping threshold (nil: 1.0).
    public var clipNorm: Double? = nil
    /// Learning rate at step 0 as a share of the peak; the warmup climbs linearly from there (nil: 0).
    public var warmupStart: Double? = nil
    /// Steps of linear decay at the end; the rate stays at its peak from the warmup until then (nil: decay
    /// over every step after the warmup).
    public var cooldown: Int? = nil
    /// Learning-rate multiplier of the embedding tensors (word, position, token type, their LayerNorm; nil: 1).
    public var embeddingLRScale: Double? = nil
    /// The attention nudge: at step 1 this bias is added, in the first layer application, to each head's score
    /// for its previous (even heads) or next (odd heads) key, falling linearly to 0 at step `attentionNudgeSteps` (nil: none). Training
    /// only: evaluations, probes and the saved model are HF's attention.
    public var attentionNudge: Double? = nil
    public var attentionNudgeSteps: Int? = nil
    /// Standard deviation of the initial weights, overriding the config's initializer_range (nil: keep it).
    public var initRange: Double? = nil
    /// The syntactic-attention regulariser (Chen et al. 2024): lambda times the sum over the batch's gold arcs
    /// of the largest attention from dependent to head and from head to dependent (nil: none; > 0
    /// suppresses, < 0 promotes), off from step `sasUntil` on (nil: to the end).
    public var sas: Double? = nil
    public var sasUntil: Int? = nil

    /// The optimizer's moments, epsilon and decay (OptimizerHyper's defaults where not set).
    public var optimizerHyper: OptimizerHyper {
        var h = OptimizerHyper()
        if let b = beta1 { h.beta1 = Float(b) }
        if let b = beta2 { h.beta2 = Float(b) }
        if let e = adamEpsilon { h.eps = Float(e) }
        if let d = weightDecay { h.weightDecay = Float(d) }
        return h
    }

    /// The attention nudge's bias at `step` (0 when there is none or it has ended).
    public func attentionNudge(at step: Int) -> Float {
        guard let b = attentionNudge, let k = attentionNudgeSteps, step <= k else { return 0 }
        return Float(b * Double(k - step + 1) / Double(k))
    }

    /// The syntactic-attention regulariser's lambda at `step` (0 when there is none or it has been released).
    public func sasLambda(at step: Int) -> Float {
        guard let l = sas, step < (sasUntil ?? Int.max) else { return 0 }
        return Float(l)
    }

    /// The seed of the initial weights.
    public var effectiveInitSeed: Int { initSeed ?? seed }
    /// The seed of the batches (data order, segments, masking).
    public var effectiveDataSeed: Int { dataSeed ?? seed }

    enum CodingKeys: String, CodingKey {
        case corpus, worldSeed = "world_seed", worldTokens = "world_tokens", config, vocab, vocabSize = "vocab_size",
            cased
        case steps, batchSize = "batch_size", seqLen = "seq_len", lr, warmup, optimizer, saveEvery = "save_every"
        case logSteps = "log_steps", evalEvery = "eval_every", evalBatches = "eval_batches", logEvery = "log_every"
        case unshared, seed, threads, positionInit = "position_init", maxNgram = "max_ngram", outputBias =
            "output_bias", layers, keepState = "keep_state", textField = "text_field"
        case initSeed = "init_seed", dataSeed = "data_seed", saveSteps = "save_steps", maskRate = "mask_rate"
        case beta1, beta2, adamEpsilon = "adam_epsilon", weightDecay = "weight_decay", clipNorm = "clip_norm"
        case warmupStart = "warmup_start", cooldown, embeddingLRScale = "embedding_lr_scale", initRange = "init_range"
        case attentionNudge = "attention_nudge", attentionNudgeSteps = "attention_nudge_steps"
        case sas, sasUntil = "sas_until"
    }

    public init() {}

    /// Fields a branched run may not change: they make the model, its vocabulary or its batches' shape.
    public static let fixedInBranch = [
        "config", "layers", "unshared", "cased", "vocab_size", "batch_size", "seq_len", "optimizer", "position_init",
        "output_bias", "init_range", "init_seed",
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
        if let spec = saveSteps, let extra = try? PretrainConfig.parseSteps(spec) {
            for k in extra where k <= steps { s.insert(k) }
        }
        return s.sorted()
    }

    /// Steps from a list of items separated by commas: N, A-B (every step), or A-B:K (A, A+K, ... up to B).
    public static func parseSteps(_ spec: String) throws -> [Int] {
        func bad(_ why: String) -> EmbryoError {
            .usage("--save-steps '\(spec)': \(why) (expected e.g. 1500-2800:50,3000)")
        }
        var out = Set<Int>()
        for item in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw bad("'\(item)' has more than one ':'") }
            var every = 1
            if parts.count == 2 {
                guard let k = Int(parts[1]), k >= 1 else { throw bad("'\(parts[1])' is not a positive interval") }
                every = k
            }
            let ends = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2, let a = Int(ends[0]), let b = Int(ends.last!), a >= 0, b >= 0 else {
                throw bad("'\(item)' is not a step or a range of steps")
            }
            guard a <= b else { throw bad("'\(item)' runs backwards") }
            guard ends.count == 2 || parts.count == 1 else { throw bad("'\(item)': an interval needs a range") }
            guard (b - a) / every < 1_000_000 else { throw bad("'\(item)' names more than a million steps") }
            for k in stride(from: a, through: b, by: every) { out.insert(k) }
        }
        return out.sorted()
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
        if !(lr > 0 && lr <= 100) { try bad("--lr must be in (0, 100]") }
        if warmup < 0 || warmup > steps { try bad("--warmup must be between 0 and --steps (\(steps))") }
        if saveEvery < 1 { try bad("--save-every must be at least 1") }
        if evalEvery < 1 { try bad("--eval-every must be at least 1") }
        if logEvery < 1 { try bad("--log-every must be at least 1") }
        if seed < 0 { try bad("--seed must be at least 0") }
        if worldSeed < 0 { try bad("--world-seed must be at least 0") }
        if corpus.isEmpty && !(1000...1_000_000_000).contains(worldTokens) {
            try bad("--world-tokens must be between 1,000 and 1,000,000,000")
        }
        if threads < 1 { try bad("--threads must be at least 1") }
        if vocab == nil && vocabSize < 10 { try bad("--vocab-size must be at least 10") }
        if let n = maxNgram, n < 1 || n > 10 { try bad("--max-ngram must be between 1 and 10") }
        if let l = layers, l < 1 || l > 1024 { try bad("--layers must be between 1 and 1024") }
        if let s = initSeed, s < 0 { try bad("--init-seed must be at least 0") }
        if let s = dataSeed, s < 0 { try bad("--data-seed must be at least 0") }
        if let spec = saveSteps {
            let extra = try PretrainConfig.parseSteps(spec)
            if let k = extra.last, k > steps { try bad("--save-steps: step \(k) is past the last step (\(steps))") }
        }
        if let r = maskRate, !(r > 0 && r <= 0.8) { try bad("--mask-rate must be above 0 and at most 0.8") }
        for (name, b) in [("--beta1", beta1), ("--beta2", beta2)] {
            if let b, !(b >= 0 && b < 1) { try bad("\(name) must be in [0, 1)") }
        }
        if let e = adamEpsilon, !(e > 0 && e < 1) { try bad("--adam-epsilon must be in (0, 1)") }
        if let d = weightDecay, !(d >= 0 && d < 1) { try bad("--weight-decay must be in [0, 1)") }
        if let c = clipNorm, !(c > 0 && c.isFinite) { try bad("--clip-norm must be positive") }
        if let c = cooldown, c < 1 || c > steps - warmup {
            try bad("--cooldown must be between 1 and the steps after the warmup (\(steps - warmup))")
        }
        if let w = warmupStart, !(w >= 0 && w <= 1) { try bad("--warmup-start must be between 0 and 1") }
        if let e = embeddingLRScale, !(e > 0 && e <= 1000) { try bad("--embedding-lr-scale must be in (0, 1000]") }
        if let b = attentionNudge, !(b.isFinite && abs(b) <= 100) {
            try bad("--attention-nudge must be in [-100, 100]")
        }
        if (attentionNudge == nil) != (attentionNudgeSteps == nil) {
            try bad("--attention-nudge and --attention-nudge-steps go together")
        }
        if let k = attentionNudgeSteps, k < 1 || k > steps {
            try bad("--attention-nudge-steps must be in 1...\(steps)")
        }
        if let r = initRange, !(r > 0 && r <= 10) { try bad("--init-range must be in (0, 10]") }
        if let l = sas, !(l.isFinite && abs(l) <= 10) { try bad("--sas must be in [-10, 10]") }
        if let k = sasUntil {
            if sas == nil { try bad("--sas-until goes with --sas") }
            if k < 1 || k > steps { try bad("--sas-until must be in 1...\(steps)") }
        }
    }
}

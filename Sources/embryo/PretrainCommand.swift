// `embryo pretrain`: pretrain ALBERT from random weights and keep snapshots (the lab's main job).

import EmbryoCore
import EmbryoLab
import EmbryoText
import Foundation

enum PretrainCommand {
    static let spec = CommandSpec(
        name: "embryo pretrain",
        abstract: "Pretrain ALBERT from random weights, keeping snapshots along the way.",
        discussion: """
            With no arguments: the built-in world, the tiny preset (2 shared layers), 3200 steps of LAMB (about
            10 minutes on 2 cores). Examples follow the ALBERT recipe ([CLS] A [SEP] B [SEP], sentence-order
            prediction, whole-word masking of 15%, single words by default). Checkpoints (Hugging Face format) go to
            OUT/checkpoints/step-NNNNNN at step 0, 1, 2, 4, ... below --save-every, every --save-every steps
            and at the end. Ctrl-C finishes the current step, saves, and exits 130; --resume continues.
            """,
        options: [
            .option(
                "corpus", "path",
                "Text file, directory of .txt files or .conllu file; repeat for more (default: the built-in world).",
                default: nil),
            .option("world-tokens", "n", "Size of the built-in world when no corpus is given.", default: "2000000"),
            .option("world-seed", "n", "Seed of the built-in world.", default: "1"),
            .option("config", "preset|file", "tiny, small, base, or a config.json.", default: "tiny"),
            .option(
                "layers", "n", "Layer applications instead of the config's (e.g. 4 for a deeper tiny).", default: nil
            ),
            .option("vocab", "file", "Use this vocab.txt instead of learning one.", default: nil),
            .option("vocab-size", "n", "Size of the vocabulary learned from the corpus.", default: "8000"),
            .flag("cased", "Keep case and accents."),
            .option("steps", "n", "Training steps.", default: "3200"),
            .option("batch-size", "n", "Sequences per step.", default: "32"),
            .option("seq-len", "n", "Tokens per sequence.", default: "128"),
            .option("lr", "f", "Peak learning rate (default: 0.01 with lamb, 0.002 with adamw).", default: nil),
            .option("warmup", "n", "Linear warmup steps, then linear decay (default: 10% of --steps).", default: nil),
            .option("optimizer", "name", "lamb or adamw.", default: "lamb"),
            .option("save-every", "n", "Checkpoint interval in steps.", default: "200"),
            .flag("no-log-steps", "No log-spaced checkpoints (1, 2, 4, ...) before --save-every."),
            .option("eval-every", "n", "Held-out evaluation interval in steps.", default: "200"),
            .option("log-every", "n", "Training log interval in steps.", default: "10"),
            .flag("unshared", "One layer group per layer (BERT-like) instead of ALBERT's shared block."),
            .option(
                "position-init", "normal|sinusoidal",
                "Position embeddings at step 0: HF's normal init, or sinusoids at the same scale.",
                default: "sinusoidal"),
            .option(
                "max-ngram", "n", "Longest whole-word n-gram masked together (1 = single words, as BERT).",
                default: "1"),
            .option(
                "output-bias", "zero|unigram",
                "MLM output bias at step 0: HF's zeros, or the log unigram distribution of the training tokens.",
                default: "unigram"),
            .option("seed", "n", "Seed for initialisation and data order.", default: "1"),
            .option("threads", "n", "Threads.", default: "\(Threads.available)"),
            .option("out", "dir", "Run directory (default: runs/<preset>-<corpus>-seed<seed>).", default: nil),
            .option("resume", "dir", "Continue the run in this directory from its last saved state.", default: nil),
            .flag("force", "Replace an existing run in --out, with everything measured on its snapshots."),
        ]
    )

    static func run(_ a: ParsedArguments) throws {
        let given = Set(a.values.keys).union(a.flags)
        if a.string("resume") != nil && a.flag("force") {
            throw UsageError(message: "--resume and --force exclude each other", spec: spec)
        }
        if a.string("vocab") != nil && given.contains("vocab-size") {
            throw UsageError(message: "--vocab and --vocab-size exclude each other", spec: spec)
        }
        // parse every option now, so usage errors come before any work
        let steps = try a.int("steps", min: 1)!, batch = try a.int("batch-size", min: 1)!,
            seqLen = try a.int("seq-len", min: 8)!
        let lr = try a.double("lr") ?? (a.string("optimizer") == "adamw" ? 2e-3 : 1e-2),
            warmup = try a.int("warmup", min: 0) ?? 0,
            saveEvery = try a.int("save-every", min: 1)!
        let evalEvery = try a.int("eval-every", min: 1)!, logEvery = try a.int("log-every", min: 1)!
        let seed = try a.int("seed", min: 0)!, threads = try a.int("threads", min: 1)!
        let vocabSize = try a.int("vocab-size", min: 10)!, worldTokens = try a.int("world-tokens", min: 1000)!
        let worldSeed = try a.int("world-seed", min: 0)!
        let optimizer = try a.choice("optimizer", ["lamb", "adamw"])!
        let positionInit = try a.choice("position-init", ["normal", "sinusoidal"])!
        let maxNgram = try a.int("max-ngram", min: 1)!
        let outputBias = try a.choice("output-bias", ["zero", "unigram"])!
        let layers = try a.int("layers", min: 1)
        guard lr > 0 else { throw UsageError(message: "'--lr' must be positive", spec: spec) }
        let config = a.string("config")!
        let corpus = a.strings("corpus")
        let apply: (inout PretrainConfig) -> Void = { c in
            if given.contains("corpus") { c.corpus = corpus }
            if given.contains("world-tokens") { c.worldTokens = worldTokens }
            if given.contains("world-seed") { c.worldSeed = worldSeed }
            if given.contains("config") { c.config = config }
            if given.contains("vocab") { c.vocab = a.string("vocab") }
            if given.contains("vocab-size") { c.vocabSize = vocabSize }
            if given.contains("cased") { c.cased = true }
            if given.contains("steps") { c.steps = steps }
            if given.contains("batch-size") { c.batchSize = batch }
            if given.contains("seq-len") { c.seqLen = seqLen }
            if given.contains("lr") || (given.contains("optimizer") && a.string("resume") == nil) { c.lr = lr }
            if given.contains("warmup") {
                c.warmup = warmup
            } else if given.contains("steps") && a.string("resume") == nil {
                c.warmup = steps / 10
            }
            if given.contains("optimizer") { c.optimizer = optimizer }
            if given.contains("save-every") { c.saveEvery = saveEvery }
            if given.contains("no-log-steps") { c.logSteps = false }
            if given.contains("eval-every") { c.evalEvery = evalEvery }
            if given.contains("log-every") { c.logEvery = logEvery }
            if given.contains("unshared") { c.unshared = true }
            if given.contains("position-init") { c.positionInit = positionInit }
            if given.contains("max-ngram") { c.maxNgram = maxNgram }
            if given.contains("output-bias") { c.outputBias = outputBias }
            if given.contains("layers") { c.layers = layers }
            if given.contains("seed") { c.seed = seed }
            if given.contains("threads") || a.string("resume") == nil { c.threads = threads }
        }
        let out: URL
        if let r = a.string("resume") {
            out = URL(fileURLWithPath: r)
        } else if let o = a.string("out") {
            out = URL(fileURLWithPath: o)
        } else {
            let name =
                corpus.isEmpty ? "world" : URL(fileURLWithPath: corpus[0]).deletingPathExtension().lastPathComponent
            let preset = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
            out = URL(fileURLWithPath: "runs").appendingPathComponent("\(preset)-\(name)-seed\(seed)")
        }
        let trainer: Pretrainer
        do {
            trainer = try Pretrainer(
                out: out, resume: a.string("resume") != nil, force: a.flag("force"), apply: apply, log: log)
        } catch EmbryoError.usage(let m) {
            throw UsageError(message: m, spec: spec)
        }
        installStopHandlers()
        let c = trainer.config
        log(
            "pretrain: \(c.config) on \(c.corpus.isEmpty ? "the built-in world" : c.corpus.joined(separator: ", ")), "
                + "\(c.steps) steps of \(c.batchSize)x\(c.seqLen), \(c.optimizer) lr \(c.lr), \(c.threads) threads -> \(out.path)"
        )
        let progress = Progress("pretrain: step", total: c.steps, interval: 30)
        let result = try trainer.train { r in
            progress.update(
                r.step,
                String(
                    format: "loss %.3f, mlm acc %.3f, lr %.2e, %.0f tok/s", r.loss, r.mlmAccuracy, r.lr,
                    r.tokensPerSecond))
        }
        if result.interrupted {
            log(
                "interrupted at step \(result.lastStep): checkpoint and state saved. Resume with:\n  embryo pretrain --resume \(out.path)"
            )
            exit(130)
        }
        if let acc = result.evalMLMAccuracy, let loss = result.evalMLMLoss {
            log(
                String(
                    format: "pretrain: done; held-out MLM accuracy %.3f (loss %.3f); median %.0f tokens/s", acc, loss,
                    result.trainTokensPerSecond))
        }
        print(out.appendingPathComponent("checkpoints").path)
    }
}

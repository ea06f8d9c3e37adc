// `embryo pretrain`: pretrain ALBERT from random weights and keep snapshots (the lab's main job).

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation

enum PretrainCommand {
    static let spec = CommandSpec(
        name: "embryo pretrain",
        abstract: "Pretrain ALBERT from random weights, keeping snapshots along the way.",
        discussion: """
            With no arguments: the built-in world, the tiny preset (2 shared layers), 1600 steps of 64 x 128 tokens
            with LAMB (about 5 minutes on 2 cores). Examples follow the ALBERT recipe ([CLS] A [SEP] B [SEP],
            sentence-order prediction, whole-word masking, single words by default), with 40% of the words
            masked in training (15% in the held-out evaluation). Checkpoints (Hugging Face format) go to
            OUT/checkpoints/step-NNNNNN at step 0, 1, 2, 4, ... below --save-every, every --save-every steps
            and at the end. Ctrl-C finishes the current step, saves, and exits 130; --resume continues.
            --seeds runs the recipe once per seed into OUT/seed-N/ (a suite, with suite.json). --branch RUN --at
            STEP starts from that snapshot of RUN and its optimizer state (RUN pretrained with --keep-state all,
            or STEP its last state) and may change the learning rate and schedule, steps, corpus and seed, and,
            with --world-edit, the built-in world's facts from that step on.
            """,
        options: settings.options() + [
            threads, out, resume, force, PretrainSuite.seeds, PretrainSuite.vary, PretrainSuite.jobs,
            PretrainSuite.prepare, PretrainSuite.memberSeed, branch, at, worldEdit,
            PretrainSuite.member,
        ]
    )

    static let out = OptionSpec.option(
        "out", "dir", "Run directory (default: runs/<preset>-<corpus>-seed<seed>).", default: nil)
    static let resume = OptionSpec.option(
        "resume", "dir", "Continue the run in this directory from its last saved state.", default: nil)
    static let force = OptionSpec.flag(
        "force", "Replace an existing run in --out, with everything measured on its snapshots.")

    /// Every option that sets the run's recipe, bound to its field of PretrainConfig.
    static let settings: [Binding<PretrainConfig>] = [
        .list(
            "corpus", \.corpus,
            "Text (.txt), JSON Lines (.jsonl, a record per document) or CoNLL-U (.conllu) file, gzip-compressed "
                + "too (.txt.gz, .jsonl.gz), or a directory of them; repeat for more (default: the built-in world).",
            value: "path"),
        .string(
            "text-field", \.textField, "JSON Lines corpora: the field that holds each record's text (default: text).",
            value: "name"),
        .int("world-tokens", \.worldTokens, "Size of the built-in world when no corpus is given."),
        .int("world-seed", \.worldSeed, "Seed of the built-in world."),
        .string(
            "config", \.config,
            "tiny, small, base (ALBERT), bert-tiny, bert-small, bert-base (BERT), or a config.json.",
            value: "preset|file"),
        .int("layers", \.layers, "Layer applications instead of the config's (e.g. 4 for a deeper tiny)."),
        .string("vocab", \.vocab, "Use this vocab.txt instead of learning one.", value: "file"),
        .int("vocab-size", \.vocabSize, "Size of the vocabulary learned from the corpus."),
        .flag("cased", \.cased, "Keep case and accents."),
        .int("steps", \.steps, "Training steps."),
        .int("batch-size", \.batchSize, "Sequences per step."),
        .int("seq-len", \.seqLen, "Tokens per sequence."),
        .custom(
            .option("lr", "f", "Peak learning rate (default: 0.01 with lamb, 0.002 with adamw).", default: nil), \.lr
        ) {
            c, v in
            guard let lr = Double(v), lr.isFinite else {
                throw EmbryoError.usage("The value '\(v)' is invalid for '--lr <f>'")
            }
            c.lr = lr
        },
        .custom(
            .option("warmup", "n", "Linear warmup steps, then linear decay (default: 10% of --steps).", default: nil),
            \.warmup
        ) {
            c, v in
            guard let n = Int(v) else { throw EmbryoError.usage("The value '\(v)' is invalid for '--warmup <n>'") }
            c.warmup = n
        },
        .choice("optimizer", \.optimizer, "The optimizer."),
        .int("save-every", \.saveEvery, "Checkpoint interval in steps."),
        .flag("no-log-steps", \.logSteps, sets: false, "No log-spaced checkpoints (1, 2, 4, ...) before --save-every."),
        .int("eval-every", \.evalEvery, "Held-out evaluation interval in steps."),
        .int("log-every", \.logEvery, "Training log interval in steps."),
        .flag("unshared", \.unshared, "One layer group per layer (BERT-like) instead of ALBERT's shared block."),
        .choice(
            "position-init", \.positionInit,
            "Position embeddings at step 0: HF's normal init, or sinusoids at the same scale."
        ),
        .int("max-ngram", \.maxNgram, "Longest whole-word n-gram masked together (1 = single words, as BERT)."),
        .choice(
            "output-bias", \.outputBias,
            "MLM output bias at step 0: HF's zeros, or the log unigram distribution of the training tokens."),
        .int("seed", \.seed, "Seed for initialisation and data order."),
        .int("init-seed", \.initSeed, "Seed of the initial weights only (default: --seed)."),
        .int("data-seed", \.dataSeed, "Seed of the data order and masking only (default: --seed)."),
        .string(
            "save-steps", \.saveSteps,
            "More checkpoint steps: N, A-B or A-B:K (every K steps from A to B), comma-separated (e.g. 500-1200:50).",
            value: "list"),
        .double("mask-rate", \.maskRate, "Share of tokens masked in training (held-out: always 0.15)."),
        .double("beta1", \.beta1, "Optimizer's first-moment decay (default: 0.9)."),
        .double("beta2", \.beta2, "Optimizer's second-moment decay (default: 0.999)."),
        .double("adam-epsilon", \.adamEpsilon, "Optimizer's epsilon (default: 1e-6)."),
        .double("weight-decay", \.weightDecay, "Weight decay of weight matrices and embeddings (default: 0.01)."),
        .double("clip-norm", \.clipNorm, "Global gradient-norm clipping threshold (default: 1)."),
        .int(
            "cooldown", \.cooldown,
            "Steps of linear decay at the end, the rate constant at its peak before (default: decay from the warmup on)."
        ),
        .double("warmup-start", \.warmupStart, "Learning rate at step 0 as a share of the peak (default: 0)."),
        .double(
            "embedding-lr-scale", \.embeddingLRScale,
            "Learning-rate multiplier of the embeddings (word, position, type; default: 1)."),
        .double(
            "attention-nudge", \.attentionNudge,
            "Training-time bias on each first-layer head's previous (even heads) or next (odd) key, falling to 0 over --attention-nudge-steps."
        ),
        .int("attention-nudge-steps", \.attentionNudgeSteps, "Steps over which the attention nudge falls to 0."),
        .double(
            "sas", \.sas,
            "Syntactic-attention regulariser's lambda on the gold arcs (built-in world or CoNLL-U corpus): > 0 suppresses, < 0 promotes.",
            value: "lambda"),
        .int("sas-until", \.sasUntil, "Step from which the syntactic-attention regulariser is off (default: never)."),
        .double("init-range", \.initRange, "Standard deviation of the initial weights (default: the config's, 0.02)."),
        .choice(
            "keep-state", \.keepState,
            "Optimizer state to keep: the last (for resuming) or every snapshot's (to branch from any)."),
    ]

    static let branch = OptionSpec.option(
        "branch", "run", "Start from a snapshot of this run, with its optimizer state (see --at).", default: nil)
    static let at = OptionSpec.option("at", "step", "With --branch: the snapshot step to start from.", default: nil)
    static let worldEdit = OptionSpec.option(
        "world-edit", "edit",
        "With --branch on the built-in world: remove:REL:SUBJ, object:REL:SUBJ=OBJ, frequency:REL[:SUBJ]=M or "
            + "swap:REL:N (repeatable).", default: nil)

    static let threads = Shared.threads

    /// runs/<preset>-<corpus>-seed<seed>
    static func defaultOut(_ c: PretrainConfig) -> URL {
        let name =
            c.corpus.isEmpty ? "world" : URL(fileURLWithPath: c.corpus[0]).deletingPathExtension().lastPathComponent
        let preset = URL(fileURLWithPath: c.config).deletingPathExtension().lastPathComponent
        return URL(fileURLWithPath: "runs").appendingPathComponent("\(preset)-\(name)-seed\(c.seed)")
    }

    static func run(_ a: ParsedArguments) throws {
        let resume = a.string(Self.resume)
        if resume != nil && a.flag(force) { throw EmbryoError.usage("--resume and --force exclude each other") }
        if let r = resume, Suite.isSuite(URL(fileURLWithPath: r)) { try refuseOptionsBesideSuiteResume(a, suite: r) }
        if let r = resume, Suite.isSuite(URL(fileURLWithPath: r)), let n = try a.int(PretrainSuite.memberSeed, min: 0) {
            return try PretrainSuite.runMember(
                Suite(URL(fileURLWithPath: r)), seed: n, threads: try a.int(threads, min: 1))
        }
        if a.given(PretrainSuite.memberSeed) {
            throw EmbryoError.usage("--member goes with --resume SUITE (a suite made with --seeds --prepare)")
        }
        if let r = resume, Suite.isSuite(URL(fileURLWithPath: r)) {
            let m = try Suite(URL(fileURLWithPath: r)).manifest()
            return try PretrainSuite.run(
                out: URL(fileURLWithPath: r), recipe: nil, seedList: m.seeds, jobs: m.jobs,
                totalThreads: m.threadsPerRun,
                resume: true, force: false)
        }
        // a run of a suite starts from the suite's recipe
        let recipe = try a.string(PretrainSuite.member).map(memberRecipe)
        if settings.given(\.vocab, in: a) && settings.given(\.vocabSize, in: a) {
            throw EmbryoError.usage("--vocab and --vocab-size exclude each other")
        }
        let source = try branchSource(a)
        // the options the user gave, set on the defaults, on the stored settings of the run being resumed or
        // on the parent's of a branch (whose warmup and threads stay unless given)
        let apply: (inout PretrainConfig) throws -> Void = { c in
            if let recipe, resume == nil { c = recipe }
            try settings.apply(a, to: &c)
            if resume == nil && source == nil {
                if settings.given(\.optimizer, in: a) && !settings.given(\.lr, in: a) {
                    c.lr = c.optimizer == .adamw ? 2e-3 : 1e-2
                }
                if settings.given(\.steps, in: a) && !settings.given(\.warmup, in: a) { c.warmup = c.steps / 10 }
            }
            if a.given(threads) || (resume == nil && source == nil) { c.threads = try Shared.threadCount(a) }
        }
        if let source {
            let out =
                a.string(Self.out).map { URL(fileURLWithPath: $0) }
                ?? source.parent.root.deletingLastPathComponent().appendingPathComponent(
                    "\(source.parent.name)-branch-\(source.step)")
            return try train(
                Pretrainer(out: out, resume: false, force: a.flag(force), branch: source, apply: apply, log: log), out)
        }
        // usage errors before any work
        var check = PretrainConfig()
        try apply(&check)
        if resume == nil { try check.validate() }
        if let text = a.string(PretrainSuite.seeds) {
            guard resume == nil else { throw EmbryoError.usage("--seeds and --resume exclude each other") }
            let jobs = try a.int(PretrainSuite.jobs, min: 1)!
            let seedList = try parseSeeds(text, first: check.seed)
            let name = defaultOut(check).lastPathComponent.replacingOccurrences(of: "-seed\(check.seed)", with: "")
            let out =
                a.string(Self.out).map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: "runs").appendingPathComponent(
                    "\(name)-seeds\(seedList.first!)-\(seedList.last!)")
            let r = check.withAbsolutePaths()
            return try PretrainSuite.run(
                out: out, recipe: r, seedList: seedList, jobs: min(jobs, seedList.count),
                totalThreads: try Shared.threadCount(a), resume: false, force: a.flag(force),
                vary: try a.choice(PretrainSuite.vary.name, SuiteManifest.varyChoices) ?? "both",
                prepareOnly: a.flag(PretrainSuite.prepare))
        }
        if a.given(PretrainSuite.jobs) { throw EmbryoError.usage("--jobs goes with --seeds") }
        if a.given(PretrainSuite.vary) { throw EmbryoError.usage("--vary goes with --seeds") }
        if a.flag(PretrainSuite.prepare) { throw EmbryoError.usage("--prepare goes with --seeds") }
        let out: URL
        if let r = resume {
            out = URL(fileURLWithPath: r)
        } else if let o = a.string(Self.out) {
            out = URL(fileURLWithPath: o)
        } else {
            out = defaultOut(check)
        }
        try train(Pretrainer(out: out, resume: resume != nil, force: a.flag(force), apply: apply, log: log), out)
    }

    /// The recipe a member of the suite in `dir` starts from, once the files it names are found unchanged.
    static func memberRecipe(_ dir: String) throws -> PretrainConfig {
        let suite = Suite(URL(fileURLWithPath: dir))
        let m = try suite.manifest()
        try RecordedFile.checkUnchanged(m.files ?? [], owner: "the suite \(suite.root.path)")
        return m.recipe
    }

    /// A suite resumes with its recorded recipe: any other option would be silently dropped, so it is an error
    /// (only --member and, with it, --threads go with --resume SUITE).
    static func refuseOptionsBesideSuiteResume(_ a: ParsedArguments, suite r: String) throws {
        let allowed: Set<String> = a.given(PretrainSuite.memberSeed) ? ["resume", "member", "threads"] : ["resume"]
        let extra = Set(a.values.keys).union(a.flags).subtracting(allowed).sorted()
        guard extra.isEmpty else {
            throw EmbryoError.usage(
                "--resume \(r) continues the suite with the recipe in its suite.json: "
                    + extra.map { "--\(a.spelling($0))" }.joined(separator: ", ")
                    + " cannot be given (start a new suite to change it)")
        }
    }

    /// --branch RUN --at STEP [--world-edit ...], checked against the other options.
    static func branchSource(_ a: ParsedArguments) throws -> BranchSource? {
        guard let parent = a.string(branch) else {
            if a.given(at) || a.given(worldEdit) { throw EmbryoError.usage("--at and --world-edit go with --branch") }
            return nil
        }
        for o in [resume, PretrainSuite.seeds] where a.given(o) {
            throw EmbryoError.usage("--branch and --\(o.name) exclude each other")
        }
        guard let step = try a.int(at, min: 0) else { throw EmbryoError.usage("--branch needs --at STEP") }
        let run = try Run.open(parent)
        guard run.hasManifest else {
            throw EmbryoError.runtime("\(parent) has no run.json: only a run made by embryo pretrain can be branched")
        }
        return BranchSource(parent: run, step: step, worldEdits: a.strings(worldEdit))
    }

    static func train(_ trainer: Pretrainer, _ out: URL) throws {
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

// `embryo activations`, `embryo crosscode`, `embryo features`: crosscoders across a run's snapshots.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation

enum ActivationsCommand {
    static let spec = CommandSpec(
        name: "embryo activations",
        abstract: "Store the residual stream after one layer for the same tokens in every snapshot.",
        discussion: """
            Runs the same sentences through each selected snapshot and stores the hidden state after --layer
            (0 = the embedding output after the projection) at every position, as float16, with token ids,
            sentence and position indices and, from CoNLL-U, each position's word, UPOS and DEPREL. Also records
            each snapshot's scale (mean activation norm sqrt(d)). Layout: see store.json and docs/crosscoders.md.
            A snapshot already stored in --out for the same weights, layer and tokens is kept. With --shard i/n,
            job i of a job array stores the snapshots at positions i, i+n, ... and no manifest; one run without
            --shard afterwards keeps them all and writes store.json.
            """,
        options: [
            Shared.run, snapshots, layer, text, world, tokens, Shared.threads, out, Measuring.watch, Measuring.poll,
            shard,
        ]
    )

    static let shard = Measuring.shard(
        "Job i (from 0) of n: store the snapshots at positions i, i+n, ... without the manifest.")

    static let layer = OptionSpec.required("layer", "l", "Layer whose output is stored (0...L).")
    static let text = OptionSpec.option(
        "text", "file", "CoNLL-U file or plain text (one sentence per line).", default: nil)
    static let world = OptionSpec.flag(
        "world", "Use the run's world/probe.conllu (the default for a run on the built-in world).")
    static let tokens = OptionSpec.option("tokens", "n", "Positions to store (whole sentences).", default: "100000")
    static let out = OptionSpec.required("out", "dir", "Store directory.")

    static let snapshots = OptionSpec.option(
        "snapshots", "list", "Snapshots: all, or their steps like 0,100,1600.", default: "all"
    ).formerly("steps")

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        let run = try Run.open(a.string(Shared.run)!)
        let warn = WarnOnce { log("activations: warning: \($0)") }.say
        let plan = try Measuring.plan(a)
        let chosen = try a.string(snapshots)! == "all" ? nil : steps(a)
        if plan.watch && chosen != nil { throw EmbryoError.usage("--watch stores every snapshot: no --snapshots") }
        let text: URL
        if let t = a.string(Self.text) {
            text = URL(fileURLWithPath: t)
        } else if let w = run.world {
            text = w.appendingPathComponent("probe.conllu")
        } else {
            throw EmbryoError.usage("\(run.root.path) is not a run on the built-in world: pass --text FILE")
        }
        let out = URL(fileURLWithPath: a.string(Self.out)!)
        installStopHandlers()
        func store(_ refs: [Snapshot]) throws {
            let progress = Progress(
                "activations: snapshot", total: plan.shard.map { $0.share(refs).count } ?? refs.count, interval: 10)
            var reused = 0
            let built = try ActivationStore.build(
                run: run, checkpoints: refs, layer: try a.int(Self.layer, min: 0)!, text: text,
                tokens: try a.int(Self.tokens, min: 1)!, out: out, sourceDescription: text.path, shard: plan.shard,
                reused: &reused
            ) { done, _, step in progress.update(done, "step \(step)") }
            if let m = built {
                report(m, reused: reused, of: refs.count)
            } else if let shard = plan.shard {
                log(
                    "activations: shard \(shard): \(shard.share(refs).count) of \(refs.count) snapshots (\(reused) "
                        + "already stored); run activations without --shard once every shard is done to write store.json"
                )
            }
        }
        if let chosen {
            try store(try run.snapshots(steps: chosen, warn: warn))
        } else if plan.shard != nil {
            try store(try run.requireSnapshots(warn: warn))
        } else {
            try MeasurementRunner.follow(run, watch: plan.watch, poll: plan.poll, warn: warn, pass: store)
        }
        print(out.path)
    }

    static func report(_ m: StoreManifest, reused: Int, of count: Int) {
        if reused > 0 { log("activations: \(reused) of \(count) snapshots kept from the store") }
        log(
            "activations: \(m.rows) positions of \(m.sentences) sentences x \(m.snapshots.count) snapshots, d \(m.d), "
                + "\(m.rows * m.d * 2 * m.snapshots.count / 1_048_576) MiB")
    }

    /// The steps of --snapshots when it lists them.
    static func steps(_ a: ParsedArguments) throws -> [Int] {
        try a.string(snapshots)!.split(separator: ",").map { s -> Int in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                throw EmbryoError.usage("--\(a.spelling(snapshots.name)): expected 'all' or step numbers, got '\(s)'")
            }
            return v
        }
    }
}

enum CrosscodeCommand {
    static let spec = CommandSpec(
        name: "embryo crosscode",
        abstract: "Train a crosscoder shared by every snapshot of an activation store.",
        discussion: """
            f = ReLU(sum_s W_enc^s x^s + b_enc), x_hat^s = W_dec^s f + b_dec^s, loss = sum_s ||x^s - x_hat^s||^2
            + lambda * sum_i f_i sum_s ||W_dec,i^s||, lambda ramped up over the first 5% of steps, Adam. Decoder
            rows start as random directions of norm 0.08, identical for every snapshot, and W_enc = W_dec^T.
            Batches stream from the store; the crosscoder and optimizer state are saved every --save-every steps
            (--resume continues). Writes crosscoder.safetensors and config.json.
            """,
        options: [activations] + settings.options() + [
            resume,
            Shared.threads,
            outOption,
        ]
    )

    static let outOption = OptionSpec.option(
        "out", "dir", "Crosscoder directory (required unless --resume names it).", default: nil)

    static let activations = OptionSpec.required("activations", "dir", "Activation store (embryo activations).")

    /// The recipe, bound to CrosscoderSettings.
    static let settings: [Binding<CrosscoderSettings>] = [
        .custom(.option("features", "n", "Dictionary size (default 8 x d).", default: nil), \.features) { s, v in
            guard let n = Int(v) else { throw EmbryoError.usage("The value '\(v)' is invalid for '--features <n>'") }
            s.features = n
        },
        .double("l1", \.l1, "Sparsity coefficient.", value: "lambda"),
        .double("lr", \.lr, "Adam learning rate."),
        .int("steps", \.steps, "Training steps."),
        .int("batch-size", \.batchSize, "Tokens per step."),
        .int("seed", \.seed, "Seed of the initialisation and the batch order."),
        .int("save-every", \.saveEvery, "Checkpoint interval in steps."),
    ]

    /// As in pretrain: the directory whose saved state to continue. A bare --resume (the former flag) still
    /// continues the crosscoder in --out.
    static let resume: OptionSpec = {
        var o = OptionSpec.option(
            "resume", "dir", "Continue the crosscoder in this directory from its saved state.", default: nil)
        o.valueMayBeOmitted = true
        return o
    }()

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        var s: CrosscoderSettings = try settings.settings(a)
        s.logEvery = max(1, min(100, s.steps / 20))
        let resumeDir = a.string(resume).flatMap { $0.isEmpty ? nil : $0 }
        if let r = resumeDir, let o = a.string(outOption),
            URL(fileURLWithPath: r).standardizedFileURL != URL(fileURLWithPath: o).standardizedFileURL
        {
            throw EmbryoError.usage("--resume \(r) and --out \(o) name different crosscoders")
        }
        guard let outPath = resumeDir ?? a.string(outOption) else {
            throw EmbryoError.usage("Missing expected argument '--out <dir>' (or --resume <dir>)")
        }
        if a.given(resume) && resumeDir == nil {
            log("notice: a bare --resume is the former spelling; write --resume \(outPath)")
        }
        let out = URL(fileURLWithPath: outPath)
        let reader = try ActivationReader(URL(fileURLWithPath: a.string(Self.activations)!))
        let trainer = try CrosscoderTrainer(reader: reader, settings: s, out: out)
        log(
            "crosscode: \(reader.S) snapshots x d \(reader.d), \(trainer.crosscoder.F) features, "
                + "\(reader.rows) tokens, \(s.steps) steps of \(s.batchSize)")
        installStopHandlers()
        let r = try trainer.train(resume: a.given(resume), log: log)
        if r.interrupted { exit(130) }
        log(
            "crosscode: done; explained variance \(r.explainedVariance.map { String(format: "%.3f", $0) }.joined(separator: " ")); "
                + "L0 \(String(format: "%.1f", r.l0)); dead \(r.dead); \(Int(r.tokensPerSecond)) tokens/s")
        print(out.path)
    }
}

enum FeaturesCommand {
    static let spec = CommandSpec(
        name: "embryo features",
        abstract: "Analyse a crosscoder's features: strength over training, emergence, contexts, tags.",
        discussion: """
            Per feature: decoder norm at each snapshot, emergence step (first snapshot at half its maximum),
            initialisation-only features, decoder drift, activation frequency, top contexts, association with
            UPOS and DEPREL (for CoNLL-U text) and how much of its activation the token identity explains. The
            population view: emergence histogram and the step where most features form. Writes features.json
            and features.html; with --run, the section also joins the run's probes/report.html.
            """,
        options: [crosscoder, runOption, attribute, Shared.threads, out]
    )

    static let crosscoder = OptionSpec.required("crosscoder", "dir", "Crosscoder directory (embryo crosscode).")
    static let runOption = OptionSpec.option(
        "run", "dir", "Run directory whose report gains the section.", default: nil)
    static let attribute = OptionSpec.option(
        "attribute", "tag",
        "Attribute the last snapshot's reconstruction loss on words of this UPOS tag (none: skip).",
        default: "NOUN")
    static let out = OptionSpec.required("out", "dir", "Output directory.")

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        let ccDir = URL(fileURLWithPath: a.string(Self.crosscoder)!)
        let (cc, cfg) = try Crosscoder.open(ccDir)
        guard let store = cfg["store"] as? String else {
            throw EmbryoError.format(ccDir.path, "config.json names no store")
        }
        let reader = try ActivationReader(URL(fileURLWithPath: store))
        guard reader.S == cc.S, reader.d == cc.d else {
            throw EmbryoError.format(
                store, "the store has \(reader.S) snapshots x d \(reader.d); the crosscoder expects \(cc.S) x \(cc.d)")
        }
        let steps = reader.manifest.snapshots.map(\.step)
        let profiles = try FeatureAnalysis.profiles(cc, reader: reader)
        let (ev, l0) = try Crosscoder.evaluate(cc, reader: reader, batchSize: 512)
        // contexts, rendered with the snapshots' vocabulary when it is still there
        // the snapshots the store was made from: their vocabulary when still there; attribution needs them
        let source = Result { try Run.open(reader.manifest.checkpoints) }
        let vocab = (try? source.get().snapshots(steps: [steps[0]]).first?.vocabURL).flatMap {
            try? Vocabulary.load($0)
        }
        let tokens = try reader.tokens(), positions = try reader.positions()
        var contexts: [Int: [String]] = [:]
        for p in profiles where p.frequency > 0 {
            contexts[p.trajectory.index] = p.topRows.map {
                CrosscoderReport.context(row: $0.row, tokens: tokens, positions: positions, vocab: vocab)
            }
        }
        var input = FeatureReportInput(
            profiles: profiles, steps: steps, explainedVariance: ev, l0: l0, layer: reader.manifest.layer,
            contexts: contexts)
        let tag = a.string(Self.attribute)!
        let tagged = try reader.words().contains { $0.upos == tag }
        if tag != "none" && reader.manifest.layer >= 1 && tagged {
            let model = try source.get().snapshots(steps: [steps.last!])[0].loadModel()
            try model.require(.mlmHead, for: "attribution (--attribute \(tag); --attribute none skips it)")
            let t0 = Date()
            let r = try Attribution.run(cc, reader: reader, model: model, tag: tag)
            input.attribution = r
            log("features: attribution on \(r.tokens) \(tag) tokens in \(formatDuration(Date().timeIntervalSince(t0)))")
        } else if tag != "none" {
            log("features: no attribution (the store has no \(tag) positions, or is of layer 0)")
        }
        let out = URL(fileURLWithPath: a.string(Self.out)!)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try writeAtomically(try CrosscoderReport.json(input), to: out.appendingPathComponent("features.json"))
        try writeAtomically(
            Data(CrosscoderReport.page(input, title: ccDir.lastPathComponent).utf8),
            to: out.appendingPathComponent("features.html"))
        for line in CrosscoderReport.summary(input) { print(line) }
        if let path = a.string(Self.runOption) {
            let run = try Run.open(path)
            let probes = run.probes
            try FileManager.default.createDirectory(at: probes, withIntermediateDirectories: true)
            try writeAtomically(
                Data(CrosscoderReport.section(input).utf8), to: probes.appendingPathComponent("crosscoder-section.html")
            )
            try RunReport.write(folder: probes, run: run, fallback: RunReport.fallbackInfo(run))
            print(probes.appendingPathComponent("report.html").path)
        }
        print(out.appendingPathComponent("features.html").path)
    }
}

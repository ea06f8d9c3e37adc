// `embryo finetune`: fine-tune one checkpoint, or every snapshot of a run, on a GLUE-format task.

import EmbryoCore
import EmbryoLab
import EmbryoText
import Foundation

enum FinetuneCommand {
    static let spec = CommandSpec(
        name: "embryo finetune",
        abstract: "Fine-tune a checkpoint (or every snapshot of a run) on a classification or regression task.",
        discussion: """
            The pretrained encoder and pooler plus a new linear head; [CLS] A [SEP] (B [SEP]) inputs with token
            types 0/1; cross-entropy, or mean squared error for a regression task (STS-B). AdamW, linear decay
            with no warmup, clipping at 1.0, deterministic by seed. --task is a folder in GLUE's TSV format
            (train.tsv, dev.tsv or dev_matched.tsv, test.tsv when labelled): the built-in world's tasks/<task>/
            or GLUE's SST-2, CoLA, QNLI, RTE, MRPC, STS-B, MNLI, recognised by header and folder name.
            With --checkpoint the fine-tuned models are saved in transformers' AlbertForSequenceClassification
            format; with --run every snapshot is fine-tuned and the run's report gains a downstream
            section. Each snapshot's results.json is reused when its weights, task files and settings are
            unchanged, so re-running after more training fine-tunes only the new snapshots, and a job array
            can share the snapshots with --shard i/n before one plain run assembles the report.
            """,
        options: [checkpoint, runOption, suite] + Shared.taskGroup + [seeds] + Shared.finetune.options() + [
            saveModels, Shared.threads, out, shard,
        ]
    )

    static let checkpoint = OptionSpec.option("checkpoint", "dir", "One checkpoint directory.", default: nil)
    static let runOption = OptionSpec.option(
        "run", "dir", "A run (or its checkpoints/ folder): fine-tune every snapshot.", default: nil
    ).also("checkpoints")
    static let suite = OptionSpec.option(
        "suite", "dir", "A suite (made by 'pretrain --seeds'): fine-tune every snapshot of every run.", default: nil)
    static let saveModels = OptionSpec.flag("save-models", "With --run: also save every fine-tuned model.")
    static let shard = OptionSpec.option(
        "shard", "i/n",
        "With --run: job i (from 0) of n fine-tunes the snapshots at positions i, i+n, ... and writes their "
            + "results only; a final run without --shard reuses them and writes the report.", default: nil)
    static let out = OptionSpec.option(
        "out", "dir", "Output folder (default: <run>/finetune/<task>/ or beside the checkpoint).", default: nil)

    static let seeds = OptionSpec.option(
        "seeds", "k", "Repeat with seeds seed, seed+1, ...; report mean and deviation.", default: "1")

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        let s: FinetuneSettings = try Shared.finetune.settings(a)
        let seeds = try a.int(Self.seeds, min: 1)!
        guard [a.given(checkpoint), a.given(runOption), a.given(suite)].filter({ $0 }).count == 1 else {
            throw EmbryoError.usage(
                "give exactly one of --checkpoint DIR, --\(a.spelling(runOption.name)) DIR and --suite DIR")
        }
        if a.given(suite) && a.given(out) { throw EmbryoError.usage("--suite writes into each run: no --out") }
        if a.given(shard) && !a.given(runOption) { throw EmbryoError.usage("--shard goes with --run") }
        let task = try Shared.loadTask(a)
        log(
            "finetune: task \(task.name): \(task.train.count) training examples, "
                + "\(task.regression ? "regression" : "\(task.labels.count) labels"), evaluated on "
                + task.evals.map { "\($0.name) (\($0.examples.count))" }.joined(separator: ", "))
        if let d = a.string(suite) {
            let runs = try Suite.open(d).runs(warn: { log("finetune: warning: \($0)") })
            guard !runs.isEmpty else { throw EmbryoError.runtime("the suite \(d) has no run yet") }
            for (i, r) in runs.enumerated() {
                log("finetune: run \(i + 1) of \(runs.count): \(r.run.root.path)")
                try runAll(r.run, task: task, a: a, settings: s, seeds: seeds)
            }
            return
        }
        switch (a.string(checkpoint), a.string(runOption)) {
        case (let c?, nil):
            let ckpt = URL(fileURLWithPath: c)
            let out =
                try a.string(out).map { URL(fileURLWithPath: $0) }
                ?? Run.open(c).finetuneOut(task: task.name, snapshot: ckpt)
            let outcomes = try FinetuneJob.run(
                checkpoint: ckpt, task: task, taskPath: a.string(Shared.task)!, settings: s, seeds: seeds, out: out,
                saveModels: true, log: log)
            for split in task.evals.map(\.name) {
                for m in task.metrics {
                    let st = SeedSummary(outcomes.compactMap { $0.metrics[split]?[m] })
                    print(
                        "\(task.name) \(split) \(m): \(String(format: "%.4f ± %.4f", st.mean, st.std)) over \(seeds) seed(s)"
                    )
                }
            }
            print(out.appendingPathComponent("results.json").path)
        case (nil, let d?):
            try runAll(try Run.open(d), task: task, a: a, settings: s, seeds: seeds)
        default:
            throw EmbryoError.usage("give exactly one of --checkpoint DIR and --run DIR")
        }
    }

    static func runAll(_ run: Run, task: TaskData, a: ParsedArguments, settings s: FinetuneSettings, seeds: Int) throws
    {
        let all = try run.requireSnapshots(warn: { log("finetune: warning: \($0)") })
        let sharded = try a.string(shard).map { try Shard.parse($0) }
        let refs = sharded.map { $0.share(all) } ?? all
        let base = a.string(out).map { URL(fileURLWithPath: $0) } ?? run.finetune(task: task.name)
        var downstream: [ProbeMetric] = []
        let progress = Progress("finetune: checkpoint", total: refs.count, interval: 10)
        var reused = 0
        let taskKey = FinetuneJob.fingerprint(task)
        for (i, ref) in refs.enumerated() {
            let dir = base.appendingPathComponent(ref.dir.lastPathComponent)
            let key = try FinetuneJob.cacheKey(
                snapshot: ref, task: taskKey, settings: s, seeds: seeds, saveModels: a.flag(saveModels))
            let outcomes: [FinetuneOutcome]
            if let done = FinetuneJob.cached(out: dir, key: key) {
                outcomes = done
                reused += 1
            } else {
                outcomes = try FinetuneJob.run(
                    checkpoint: ref.dir, task: task, taskPath: a.string(Shared.task)!, settings: s, seeds: seeds,
                    out: dir, saveModels: a.flag(saveModels), cacheKey: key, log: { _ in })
            }
            downstream += FinetuneJob.downstreamMetrics(task: task, step: ref.step, outcomes: outcomes)
            let m = task.metrics[0], split = task.evals[0].name
            let st = SeedSummary(outcomes.compactMap { $0.metrics[split]?[m] })
            progress.update(i + 1, "step \(ref.step): \(split) \(m) \(String(format: "%.4f ± %.4f", st.mean, st.std))")
            print(
                "\(ref.step)\t\(task.name)\t\(split)\t\(m)\t\(String(format: "%.4f", st.mean))\t\(String(format: "%.4f", st.std))"
            )
        }
        if let sharded {
            log(
                "finetune: shard \(sharded): \(refs.count) of \(all.count) snapshots (\(reused) already done); run "
                    + "finetune without --shard once every shard is done to write the report")
            print(base.path)
            return
        }
        if reused > 0 { log("finetune: \(reused) of \(refs.count) snapshots reused from earlier results") }
        // the run's report gains (or refreshes) this task's downstream curve
        let probes = run.probes
        try FileManager.default.createDirectory(at: probes, withIntermediateDirectories: true)
        let file = probes.appendingPathComponent("downstream.jsonl")
        var kept: [ProbeMetric] = []
        if FileManager.default.fileExists(atPath: file.path) {
            kept = try MetricTables.read(file).filter { !$0.key.hasPrefix("\(task.name)/") }
        }
        try writeAtomically(Data(MetricTables.jsonl(kept + downstream).utf8), to: file)
        try RunReport.write(folder: probes, run: run, fallback: RunReport.fallbackInfo(run))
        print(probes.appendingPathComponent("report.html").path)
    }
}

// `embryo finetune`: fine-tune one checkpoint, or every snapshot of a run, on a GLUE-format task.

import EmbryoCore
import EmbryoLab
import EmbryoRun
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
            section. Each snapshot's result is cached (finetune/<task>/cache/) under its weights, the task's
            files and the settings, so re-running after more training fine-tunes only the new snapshots;
            --watch fine-tunes new snapshots as a running pretrain writes them; a job array can share the
            snapshots with --shard i/n before one plain run assembles the report.
            """,
        options: [checkpoint, runOption, suite] + Shared.taskGroup + [seeds] + Shared.finetune.options() + [
            saveModels, Shared.threads, out, Measuring.watch, Measuring.poll, shard,
        ]
    )

    static let checkpoint = OptionSpec.option("checkpoint", "dir", "One checkpoint directory.", default: nil)
    static let runOption = OptionSpec.option(
        "run", "dir", "A run (or its checkpoints/ folder): fine-tune every snapshot.", default: nil
    ).also("checkpoints")
    static let suite = OptionSpec.option(
        "suite", "dir", "A suite (made by 'pretrain --seeds'): fine-tune every snapshot of every run.", default: nil)
    static let saveModels = OptionSpec.flag("save-models", "With --run: also save every fine-tuned model.")
    static let shard = Measuring.shard(
        "With --run: job i (from 0) of n fine-tunes the snapshots at positions i, i+n, ... and writes their "
            + "results only; a final run without --shard reuses them and writes the report.")
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
        if a.flag(Measuring.watch) && !a.given(runOption) { throw EmbryoError.usage("--watch goes with --run") }
        let plan = try Measuring.plan(a)
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
                try runAll(r.run, task: task, a: a, settings: s, seeds: seeds, plan: plan)
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
            try runAll(try Run.open(d), task: task, a: a, settings: s, seeds: seeds, plan: plan)
        default:
            throw EmbryoError.usage("give exactly one of --checkpoint DIR and --run DIR")
        }
    }

    /// Fine-tunes every snapshot of a run (a shard's share; with --watch, also those still to come) and
    /// merges the task's curve into the run's report.
    static func runAll(
        _ run: Run, task: TaskData, a: ParsedArguments, settings s: FinetuneSettings, seeds: Int,
        plan: Measuring.Plan
    ) throws {
        let base = a.string(out).map { URL(fileURLWithPath: $0) } ?? run.finetune(task: task.name)
        let job = FinetuneMeasurement(
            task: task, taskPath: a.string(Shared.task)!, settings: s, seeds: seeds, saveModels: a.flag(saveModels),
            base: base)
        let runner = MeasurementRunner(cache: job.cache, measurements: [job], warn: { log("finetune: warning: \($0)") })
        var progress: Progress? = nil
        var detail = ""
        var printed = Set<Int>()
        job.onResult = { step, outcomes in
            let m = task.metrics[0], split = task.evals[0].name
            let st = SeedSummary(outcomes.compactMap { $0.metrics[split]?[m] })
            detail = "step \(step): \(split) \(m) \(String(format: "%.4f ± %.4f", st.mean, st.std))"
            // with --watch a snapshot comes back at every pass: its line is printed once
            guard printed.insert(step).inserted else { return }
            print(
                "\(step)\t\(task.name)\t\(split)\t\(m)\t\(String(format: "%.4f", st.mean))\t\(String(format: "%.4f", st.std))"
            )
        }
        // a progress line per pass, each snapshot's headline figure beside it
        let report: (Int, Int, Int, Bool) -> Void = { done, total, _, _ in
            if done == 1 || progress == nil { progress = Progress("finetune: checkpoint", total: total, interval: 10) }
            progress?.update(done, detail)
        }
        if let shard = plan.shard {
            let all = try run.requireSnapshots(warn: runner.warnOnce)
            let pass = try runner.measure(shard: shard, of: all, progress: report)
            log(
                "finetune: shard \(shard): \(pass.measured + pass.cached) of \(all.count) snapshots (\(pass.cached) "
                    + "already done); run finetune without --shard once every shard is done to write the report")
            print(base.path)
            return
        }
        try MeasurementRunner.follow(run, watch: plan.watch, poll: plan.poll, warn: runner.warnOnce) { refs in
            let pass = try runner.measure(refs, progress: report)
            if pass.cached > 0 {
                log("finetune: \(pass.cached) of \(refs.count) snapshots reused from earlier results")
            }
            try Downstream.write(pass.metrics, task: task.name, run: run)
        }
        print(run.probes.appendingPathComponent("report.html").path)
    }
}

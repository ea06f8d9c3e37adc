// `embryo probe`: the embryology probes on every snapshot of a run, the metrics tables and the report.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum ProbeCommand {
    static let spec = CommandSpec(
        name: "embryo probe",
        abstract: "Probe every snapshot of a run and write the metrics and an HTML report.",
        discussion: """
            Probes, per checkpoint (in step order):
            \(ProbeRegistry.helpText)
            Results are cached per checkpoint (weights hash + settings): re-running after more training only
            probes the new snapshots. For a run on the built-in world, --pos, --facts and --pairs default to
            the world's probe.conllu, facts/ and pairs/, and pairs joins the default probes. Writes metrics.jsonl, metrics.csv and report.html into --out, then
            prints a summary (when each probe reached 90% of its final value, whether it peaked earlier) and,
            last, the report's path.
            On a cluster, a job array shares the snapshots: job i of n runs probe --shard i/n, which fills the
            cache with its share only; one probe without --shard afterwards writes the tables and report and
            probes nothing that is cached (Scripts/slurm/probe-array.sbatch is an example for Slurm).
            """,
        options: [
            runOption, suite, pos, posTrain, facts, patterns, pairs, pll, pairsPerParadigm, probes, layers,
            maxSentences, attentionPack,
        ] + LlcOptions.all + [Shared.threads, out, Measuring.watch, Measuring.poll, shard]
    )

    static let runOption = OptionSpec.option(
        "run", "dir", "A run directory, its checkpoints/ folder, or any folder of step-N checkpoints."
    ).also("checkpoints")
    static let suite = OptionSpec.option(
        "suite", "dir", "Instead of --run: every run of a suite (made by 'pretrain --seeds'), each into its probes/.")
    static let pos = OptionSpec.option(
        "pos", "file", "CoNLL-U file with gold UPOS/XPOS, heads and relations (any UD treebank).", default: nil)
    static let posTrain = OptionSpec.option(
        "pos-train", "file", "CoNLL-U file to train the linear probes on (default: first 80% of --pos).",
        default: nil)
    static let facts = OptionSpec.option(
        "facts", "path",
        "LAMA data: LAMA's data/ folder as distributed (or one subset folder of it), a folder with relations.jsonl "
            + "and the relations' files, or a flat jsonl file.", default: nil)
    static let patterns = OptionSpec.option(
        "patterns", "dir",
        "ParaRel-style paraphrases: <relation>.jsonl files with a \"pattern\" ([X], [Y]) per line. P@1 per "
            + "pattern and consistency across patterns.", default: nil)
    static let pairs = OptionSpec.option(
        "pairs", "path",
        "Minimal pairs for the pairs probe: BLiMP's data/ folder as distributed, or one <UID>.jsonl file "
            + "(default: the world's pairs/).", default: nil
    )
    static let pll = OptionSpec.option(
        "pll", PLLVariant.allCases.map(\.rawValue).joined(separator: "|"),
        "Pseudo-log-likelihood: every piece masked alone, or with the later pieces of its word (Kauf & Ivanova 2023).",
        default: PLLVariant.wordL2R.rawValue)
    static let pairsPerParadigm = OptionSpec.option(
        "pairs-per-paradigm", "n", "A fixed, seeded sample of each paradigm (default: every pair).", default: nil)
    static let probes = OptionSpec.option(
        "probes", "list",
        "Probes to run, comma-separated (default: mlm,layers,knowledge,loss, and pairs when the run's world has "
            + "pairs/).", default: nil)
    static let layers = OptionSpec.option(
        "layers", "list", "Layers for the linear probes: all, or e.g. 0,2,4.", default: "all")
    static let maxSentences = OptionSpec.option(
        "max-sentences", "n", "Sentences of each CoNLL-U file to use.", default: "1000")
    static let attentionPack = OptionSpec.option(
        "attention-pack", "tokens",
        "Attention probe: pack the probe sentences in order into rows of up to this many tokens (e.g. the run's "
            + "--seq-len; one segment, where pretraining rows hold two) instead of one sentence per row; the "
            + "implicit parse stays within each sentence.", default: nil)
    static let out = OptionSpec.option(
        "out", "dir", "Where results go (default: the run's probes/ folder).", default: nil)
    static let shard = Measuring.shard(
        "Job i (from 0) of n: probe the snapshots at positions i, i+n, ... into the shared cache and write "
            + "nothing else; a final probe without --shard assembles the tables and report.")

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        var o = ProbeOptions()
        o.maxSentences = try a.int(Self.maxSentences, min: 1)!
        o.pos = a.string(Self.pos).map { URL(fileURLWithPath: $0) }
        o.posTrain = a.string(Self.posTrain).map { URL(fileURLWithPath: $0) }
        o.facts = a.string(Self.facts)
        o.patterns = a.string(Self.patterns)
        o.probes = try a.string(Self.probes).map(ProbeRegistry.parse)
        o.pairs = a.string(Self.pairs).map { URL(fileURLWithPath: $0) }
        o.pll = PLLVariant(rawValue: try a.choice(Self.pll, PLLVariant.allCases.map(\.rawValue))!)!
        o.pairsPerParadigm = try a.int(Self.pairsPerParadigm, min: 1)
        o.attentionPack = try a.int(Self.attentionPack, min: 3)
        if o.attentionPack != nil, !(o.probes ?? []).contains("attention") {
            log("probe: warning: --attention-pack only changes the attention probe, which is not among the probes run")
        }
        o.llc = try LlcOptions.settings(a)
        let layers = a.string(Self.layers)!
        if layers != "all" {
            o.layers = try layers.split(separator: ",").map {
                guard let l = Int($0.trimmingCharacters(in: .whitespaces)), l >= 0 else {
                    throw EmbryoError.usage("--layers: expected 'all' or layer numbers like 0,2,4, got '\(layers)'")
                }
                return l
            }
        }
        let plan = try Measuring.plan(a)
        switch (a.string(runOption), a.string(suite)) {
        case (let r?, nil):
            try probe(try Run.open(r), options: o, plan: plan, a)
        case (nil, let d?):
            if a.given(out) || plan.watch {
                throw EmbryoError.usage("--suite writes into each run: no --out or --watch")
            }
            let runs = try Suite.open(d).runs(warn: { log("probe: warning: \($0)") })
            guard !runs.isEmpty else { throw EmbryoError.runtime("the suite \(d) has no run yet") }
            for (i, r) in runs.enumerated() {
                log("probe: run \(i + 1) of \(runs.count): \(r.run.root.path)")
                try probe(r.run, options: o, plan: plan, a)
            }
        default:
            throw EmbryoError.usage("give exactly one of --\(a.spelling(runOption.name)) DIR and --suite DIR")
        }
    }

    /// Probes one run's snapshots (a shard's share, or all of them and, with --watch, the new ones as they come).
    static func probe(_ run: Run, options o: ProbeOptions, plan: Measuring.Plan, _ a: ParsedArguments) throws {
        let runner = try ProbeRunner(
            run: run, options: o, out: a.string(Self.out).map { URL(fileURLWithPath: $0) },
            warn: { log("probe: warning: \($0)") })
        if let shard = plan.shard {
            let all = try run.requireSnapshots(warn: { log("probe: warning: \($0)") })
            var progress: Progress? = nil
            let (probed, cached) = try runner.fillCache(shard: shard, of: all) { done, total, step, wasCached in
                if progress == nil {
                    progress = Progress("probe: shard \(shard), checkpoint", total: total, interval: 10)
                }
                progress?.update(done, "step \(step)\(wasCached ? " (cached)" : "")")
            }
            log(
                "probe: shard \(shard): \(probed + cached) of \(all.count) snapshots (\(probed) probed, \(cached) already "
                    + "cached); run probe without --shard once every shard is done to write the tables and report")
            print(runner.out.appendingPathComponent("cache").path)
            return
        }
        var metrics: [ProbeMetric] = []
        try MeasurementRunner.follow(run, watch: plan.watch, poll: plan.poll, warn: runner.runner.warnOnce) { refs in
            let progress = Progress("probe: checkpoint", total: refs.count, interval: 10)
            metrics = try runner.run(refs) { done, _, step, cached in
                progress.update(done, "step \(step)\(cached ? " (cached)" : "")")
            }
        }
        let meter = ForwardMeter.shared
        if meter.tokens > 0 {
            let parts = (runner.options.probes ?? []).compactMap { k in
                runner.seconds[k].map { "\(k) \(formatDuration($0))" }
            }
            log(
                "probe: forward passes \(meter.tokens) positions in \(formatDuration(meter.seconds)) "
                    + "(\(Int(Double(meter.tokens) / max(meter.seconds, 1e-9))) tokens/s); time per probe: "
                    + parts.joined(separator: ", "))
        }
        for line in ProbeReport.summary(metrics) { print(line) }
        print(runner.out.appendingPathComponent("report.html").path)
    }
}

// `embryo probe`: the embryology probes on every snapshot of a run, the metrics tables and the report.

import EmbryoCore
import EmbryoLab
import Foundation

enum ProbeCommand {
    static let spec = CommandSpec(
        name: "embryo probe",
        abstract: "Probe every snapshot of a run and write the metrics and an HTML report.",
        discussion: """
            Probes, per checkpoint (in step order):
              mlm        reconstruction and mask-prediction accuracy per UPOS (and XPOS) tag
              layers     linear probes on every layer's frozen word vectors: UPOS and dependency relations
              knowledge  LAMA cloze P@1 per relation, relation type and fact frequency
              loss       held-out MLM loss and accuracy on a fixed masking
              similarity (when named) linear CKA and SVCCA of every layer with the last snapshot, CKA with the
                         snapshot before, on the same probe tokens
              lens       (when named) every layer through the snapshot's MLM head at masked words: accuracy
                         and loss per layer, by UPOS, and the first layer holding the final prediction
              attention  (when named) per layer and head: entropy, shares on the previous and next token,
                         [CLS], [SEP] and punctuation, on the gold syntactic head, best head per relation
              examples   (when named) the lens's masked words scored by every snapshot: per word its loss
                         at each snapshot, learning step, forgetting events, confidence and variability
            Results are cached per checkpoint (weights hash + settings): re-running after more training only
            probes the new snapshots. For a run on the built-in world, --pos and --facts default to the
            world's probe.conllu and facts/. Writes metrics.jsonl, metrics.csv and report.html into --out, then
            prints a summary (when each probe reached 90% of its final value, whether it peaked earlier) and,
            last, the report's path.
            On a cluster, a job array shares the snapshots: job i of n runs probe --shard i/n, which fills the
            cache with its share only; one probe without --shard afterwards writes the tables and report and
            probes nothing that is cached (Scripts/slurm/probe-array.sbatch is an example for Slurm).
            """,
        options: [
            runOption, suite, pos, posTrain, facts, patterns, probes, layers, maxSentences, Shared.threads, out, watch,
            poll, shard,
        ]
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
    static let probes = OptionSpec.option(
        "probes", "list", "Probes to run, comma-separated.", default: "mlm,layers,knowledge,loss")
    static let layers = OptionSpec.option(
        "layers", "list", "Layers for the linear probes: all, or e.g. 0,2,4.", default: "all")
    static let maxSentences = OptionSpec.option(
        "max-sentences", "n", "Sentences of each CoNLL-U file to use.", default: "1000")
    static let out = OptionSpec.option(
        "out", "dir", "Where results go (default: the run's probes/ folder).", default: nil)
    static let watch = OptionSpec.flag(
        "watch", "Keep probing new snapshots as a running pretrain writes them (until it finishes or Ctrl-C).")
    static let poll = OptionSpec.option(
        "poll", "seconds", "With --watch: how often to look for new snapshots.", default: "20")
    static let shard = OptionSpec.option(
        "shard", "i/n",
        "Job i (from 0) of n: probe the snapshots at positions i, i+n, ... into the shared cache and write "
            + "nothing else; a final probe without --shard assembles the tables and report.", default: nil)

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        var o = ProbeOptions()
        o.maxSentences = try a.int(Self.maxSentences, min: 1)!
        o.pos = a.string(Self.pos).map { URL(fileURLWithPath: $0) }
        o.posTrain = a.string(Self.posTrain).map { URL(fileURLWithPath: $0) }
        o.facts = a.string(Self.facts)
        o.patterns = a.string(Self.patterns)
        o.probes = try a.string(Self.probes)!.split(separator: ",").map {
            guard let k = ProbeKind(rawValue: $0.trimmingCharacters(in: .whitespaces)) else {
                throw EmbryoError.usage(
                    "--probes: unknown probe '\($0)'; expected a comma-separated list of "
                        + ProbeKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return k
        }
        guard !o.probes.isEmpty else { throw EmbryoError.usage("--probes: give at least one probe") }
        let layers = a.string(Self.layers)!
        if layers != "all" {
            o.layers = try layers.split(separator: ",").map {
                guard let l = Int($0.trimmingCharacters(in: .whitespaces)), l >= 0 else {
                    throw EmbryoError.usage("--layers: expected 'all' or layer numbers like 0,2,4, got '\(layers)'")
                }
                return l
            }
        }
        let shard = try a.string(Self.shard).map { try Shard.parse($0) }
        if shard != nil && a.flag(watch) { throw EmbryoError.usage("--shard probes a fixed share: no --watch") }
        let poll = try a.double(Self.poll) ?? 20
        guard poll >= 0.1 && poll <= 86_400 else {
            throw EmbryoError.usage(
                "The value '\(a.string(Self.poll)!)' is invalid for '--poll <seconds>': expected 0.1 to 86400")
        }
        switch (a.string(runOption), a.string(suite)) {
        case (let r?, nil):
            try probe(try Run.open(r), options: o, poll: poll, a)
        case (nil, let d?):
            if a.given(out) || a.flag(watch) {
                throw EmbryoError.usage("--suite writes into each run: no --out or --watch")
            }
            let runs = try Suite.open(d).runs(warn: { log("probe: warning: \($0)") })
            guard !runs.isEmpty else { throw EmbryoError.runtime("the suite \(d) has no run yet") }
            for (i, r) in runs.enumerated() {
                log("probe: run \(i + 1) of \(runs.count): \(r.run.root.path)")
                try probe(r.run, options: o, poll: poll, a)
            }
        default:
            throw EmbryoError.usage("give exactly one of --\(a.spelling(runOption.name)) DIR and --suite DIR")
        }
    }

    /// Probes one run's snapshots (and, with --watch, the new ones as they come).
    static func probe(_ run: Run, options o: ProbeOptions, poll: Double, _ a: ParsedArguments) throws {
        let runner = try ProbeRunner(
            run: run, options: o, out: a.string(Self.out).map { URL(fileURLWithPath: $0) },
            warn: { log("probe: warning: \($0)") })
        if let shard = try a.string(Self.shard).map({ try Shard.parse($0) }) {
            let all = try run.requireSnapshots(warn: { log("probe: warning: \($0)") })
            let mine = shard.share(all)
            let progress = Progress("probe: shard \(shard), checkpoint", total: mine.count, interval: 10)
            let (probed, cached) = try runner.fillCache(mine) { done, _, step, wasCached in
                progress.update(done, "step \(step)\(wasCached ? " (cached)" : "")")
            }
            log(
                "probe: shard \(shard): \(mine.count) of \(all.count) snapshots (\(probed) probed, \(cached) already "
                    + "cached); run probe without --shard once every shard is done to write the tables and report")
            print(runner.out.appendingPathComponent("cache").path)
            return
        }
        var metrics: [ProbeMetric] = []
        var probedSteps = Set<Int>()
        if a.flag(Self.watch) { installStopHandlers() }
        while true {
            let refs = try runner.scan()
            if refs.isEmpty && !a.flag(Self.watch) { _ = try run.requireSnapshots() }
            if Set(refs.map(\.step)) != probedSteps || !a.flag(Self.watch) {
                let progress = Progress("probe: checkpoint", total: refs.count, interval: 10)
                metrics = try runner.run(refs) { done, _, step, cached in
                    progress.update(done, "step \(step)\(cached ? " (cached)" : "")")
                }
                probedSteps = Set(refs.map(\.step))
            }
            guard a.flag(Self.watch), stopRequested == 0, !runFinished(run, probed: probedSteps) else { break }
            var waited = 0.0
            while waited < poll && stopRequested == 0 {
                Thread.sleep(forTimeInterval: 0.5)
                waited += 0.5
            }
            if stopRequested != 0 { break }
        }
        let meter = ForwardMeter.shared
        if meter.tokens > 0 {
            let parts = ProbeKind.allCases.compactMap { k in
                runner.seconds[k].map { "\(k.rawValue) \(formatDuration($0))" }
            }
            log(
                "probe: forward passes \(meter.tokens) positions in \(formatDuration(meter.seconds)) "
                    + "(\(Int(Double(meter.tokens) / max(meter.seconds, 1e-9))) tokens/s); time per probe: "
                    + parts.joined(separator: ", "))
        }
        for line in ProbeReport.summary(metrics) { print(line) }
        print(runner.out.appendingPathComponent("report.html").path)
    }

    /// For --watch: the run is finished when its last planned checkpoint has been probed.
    static func runFinished(_ run: Run, probed: Set<Int>) -> Bool {
        guard let last = run.plannedSteps?.max() else { return false }
        return probed.contains(last)
    }
}

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
            Results are cached per checkpoint (weights hash + settings): re-running after more training only
            probes the new snapshots. For a run on the built-in world, --pos and --facts default to the
            world's probe.conllu and facts/. Writes metrics.jsonl, metrics.csv and report.html into --out, then
            prints a summary (when each probe reached 90% of its final value, whether it peaked earlier) and,
            last, the report's path.
            """,
        options: [
            .required(
                "run", "dir", "A run directory, its checkpoints/ folder, or any folder of step-N checkpoints."
            ).also("checkpoints"),
            .option(
                "pos", "file", "CoNLL-U file with gold UPOS/XPOS, heads and relations (any UD treebank).", default: nil),
            .option(
                "pos-train", "file", "CoNLL-U file to train the linear probes on (default: first 80% of --pos).",
                default: nil),
            .option(
                "facts", "path", "LAMA data: a directory with relations.jsonl, or a flat jsonl file.", default: nil),
            .option("probes", "list", "Probes to run, comma-separated.", default: "mlm,layers,knowledge,loss"),
            .option("layers", "list", "Layers for the linear probes: all, or e.g. 0,2,4.", default: "all"),
            .option("max-sentences", "n", "Sentences of each CoNLL-U file to use.", default: "1000"),
            .option("threads", "n", "Threads.", default: "\(Threads.available)"),
            .option("out", "dir", "Where results go (default: the run's probes/ folder).", default: nil),
            .flag(
                "watch", "Keep probing new snapshots as a running pretrain writes them (until it finishes or Ctrl-C)."),
            .option("poll", "seconds", "With --watch: how often to look for new snapshots.", default: "20"),
        ]
    )

    static func run(_ a: ParsedArguments) throws {
        Threads.configure(try a.int("threads", min: 1)!)
        var o = ProbeOptions()
        o.maxSentences = try a.int("max-sentences", min: 1)!
        o.pos = a.string("pos").map { URL(fileURLWithPath: $0) }
        o.posTrain = a.string("pos-train").map { URL(fileURLWithPath: $0) }
        o.facts = a.string("facts")
        o.probes = try a.string("probes")!.split(separator: ",").map {
            guard let k = ProbeKind(rawValue: $0.trimmingCharacters(in: .whitespaces)) else {
                throw EmbryoError.usage(
                    "--probes: unknown probe '\($0)'; expected a comma-separated list of "
                        + ProbeKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return k
        }
        guard !o.probes.isEmpty else { throw EmbryoError.usage("--probes: give at least one probe") }
        let layers = a.string("layers")!
        if layers != "all" {
            o.layers = try layers.split(separator: ",").map {
                guard let l = Int($0.trimmingCharacters(in: .whitespaces)), l >= 0 else {
                    throw EmbryoError.usage("--layers: expected 'all' or layer numbers like 0,2,4, got '\(layers)'")
                }
                return l
            }
        }
        let poll = try a.double("poll") ?? 20
        guard poll >= 0.1 && poll <= 86_400 else {
            throw UsageError(
                message: "The value '\(a.string("poll")!)' is invalid for '--poll <seconds>': expected 0.1 to 86400",
                spec: spec)
        }
        let run = try Run.open(a.string("run")!)
        let runner = try ProbeRunner(
            run: run, options: o, out: a.string("out").map { URL(fileURLWithPath: $0) },
            warn: { log("probe: warning: \($0)") })
        var metrics: [ProbeMetric] = []
        var probedSteps = Set<Int>()
        if a.flag("watch") { installStopHandlers() }
        while true {
            let refs = try runner.scan()
            if refs.isEmpty && !a.flag("watch") { _ = try run.requireSnapshots() }
            if Set(refs.map(\.step)) != probedSteps || !a.flag("watch") {
                let progress = Progress("probe: checkpoint", total: refs.count, interval: 10)
                metrics = try runner.run(refs) { done, _, step, cached in
                    progress.update(done, "step \(step)\(cached ? " (cached)" : "")")
                }
                probedSteps = Set(refs.map(\.step))
            }
            guard a.flag("watch"), stopRequested == 0, !runFinished(run, probed: probedSteps) else { break }
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

// `embryo probe`: the embryology probes on every snapshot of a run. Implemented so far: reconstruction
// and mask prediction by part of speech (probe "mlm").

import EmbryoCore
import EmbryoLab
import Foundation

enum ProbeCommand {
    static let spec = CommandSpec(
        name: "embryo probe",
        abstract: "Probe every snapshot of a run: reconstruction and mask prediction by part of speech.",
        discussion: """
            For each checkpoint (step order) and each word of a CoNLL-U file: is it reconstructed from the
            unmasked sentence, and predicted when all its subwords are [MASK]ed? Accuracies per UPOS and per
            XPOS tag, with counts. Results are cached per checkpoint, so re-running after more training only
            probes the new snapshots. For a run on the built-in world --pos defaults to its probe.conllu.
            """,
        options: [
            .required("checkpoints", "dir", "A run's checkpoints/ folder (or any folder of step-N checkpoints)."),
            .option("pos", "file", "CoNLL-U file with gold parts of speech.", default: nil),
            .option("max-sentences", "n", "Sentences of the CoNLL-U file to use.", default: "1000"),
            .option("threads", "n", "Threads.", default: "\(Threads.available)"),
            .option("out", "dir", "Where results go (default: the run's probes/ folder).", default: nil),
        ]
    )

    static func run(_ a: ParsedArguments) throws {
        let dir = URL(fileURLWithPath: a.string("checkpoints")!)
        Threads.configure(try a.int("threads", min: 1)!)
        let maxSentences = try a.int("max-sentences", min: 1)!
        let checkpoints = try ProbeRun.checkpoints(in: dir)
        let pos: URL
        if let p = a.string("pos") {
            pos = URL(fileURLWithPath: p)
        } else if let w = ProbeRun.worldProbeFile(forCheckpoints: dir) {
            pos = w
        } else {
            throw EmbryoError.runtime(
                "\(dir.path) is not a run on the built-in world, so there is no default probe set: pass --pos FILE.conllu"
            )
        }
        let (_, posHash) = try hashFile(pos.path)
        let out =
            a.string("out").map { URL(fileURLWithPath: $0) }
            ?? dir.deletingLastPathComponent().appendingPathComponent("probes")
        let settings = ProbeSettings(posFile: pos.path, posHash: posHash, maxSentences: maxSentences)
        let progress = Progress("probe: checkpoint", total: checkpoints.count, interval: 10)
        let results = try ProbeRun.maskPrediction(checkpoints: checkpoints, settings: settings, out: out) {
            done, _, step, cached in
            progress.update(done, "step \(step)\(cached ? " (cached)" : "")")
        }
        if let (step, last) = results.last {
            let summary = last.upos.sorted { $0.value.count > $1.value.count }.prefix(6).map {
                String(format: "%@ %.2f/%.2f", $0.key, $0.value.reconstructionAccuracy, $0.value.maskPredictionAccuracy)
            }
            log("probe: step \(step) reconstruction/mask prediction: " + summary.joined(separator: ", "))
        }
        print(out.appendingPathComponent("mlm_by_pos.json").path)
    }
}

// `embryo milestones`: a run's developmental milestones, found from its training log and probe metrics.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum MilestonesCommand {
    static let spec = CommandSpec(
        name: "embryo milestones",
        abstract: "Find a run's milestones: the loss escape, the structure and capabilities onsets, collapse.",
        discussion: """
            From train_log.jsonl: the escape from the word-frequency plateau and the steepest descent of the
            held-out loss (as embryo findings). From the probe metrics (embryo probe with attention, dynamics and
            the default mlm): the structure onset, the step ending the largest rise per step of attention/uas/best
            between snapshots (Chen et al. 2024); the capabilities onset, the first snapshot whose minimal-pair
            accuracy (the pairs probe's mean over paradigms; without it, the mask prediction of agreement targets,
            AUX) exceeds the mean of the snapshots before it by 3 binomial standard errors; the release of collapse,
            the fastest fall per step of dynamics/collapse; with the llc probe, the LLC's stage boundaries, where
            its slope changes sign (Hoogland et al. 2024). Snapshot onsets are sought from the end of the warmup on.
            The structure onset and the release of collapse carry their prominence: how many robust standard
            deviations of the curve's own changes per step between snapshots the rise (fall) that their interval
            still holds at the next snapshot stands out by (below 3, within noise; needs 5 intervals). Prints a
            Markdown table, writes milestones.json into the metrics' folder and refreshes its report. A milestone
            whose probe was not run, or that never happens, is "none".
            """,
        options: [Shared.run, from]
    )

    static let from = OptionSpec.option(
        "from", "folder",
        "The folder of probe metrics: a name inside the run, or an absolute path (e.g. one written with probe --out).",
        default: "probes")

    static func run(_ a: ParsedArguments) throws {
        let run = try Run.open(a.string(Shared.run)!)
        let given = a.string(from)!
        let folder = given.hasPrefix("/") ? URL(fileURLWithPath: given) : run.root.appendingPathComponent(given)
        let file = folder.appendingPathComponent("metrics.jsonl")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw EmbryoError.runtime(
                "\(file.path) does not exist: probe the run first (embryo probe --run \(run.root.path) "
                    + "--probes mlm,attention,dynamics,loss)")
        }
        let m = try Milestones.of(run: run, metrics: try MetricTables.read(file))
        try m.write(to: folder)
        try RunReport.write(folder: folder, run: run, fallback: RunReport.fallbackInfo(run))
        print("| milestone | step | prominence (z) |\n| --- | ---: | ---: |")
        for (name, step) in m.named {
            print("| \(name) | \(step.map(String.init) ?? "none by \(m.lastStep)") | \(m.prominenceCell(name)) |")
        }
        for (name, steps) in m.lags { print("| \(name) | \(steps.map(String.init) ?? "–") | – |") }
        if let b = m.llcStageBoundaries {
            print("| llc_stage_boundaries | \(b.isEmpty ? "none" : b.map(String.init).joined(separator: ", ")) | – |")
        }
        print(folder.appendingPathComponent(Milestones.fileName).path)
    }
}

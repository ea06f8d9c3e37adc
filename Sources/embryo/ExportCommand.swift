// `embryo export`: a run's curves in the formats other tools read. Today: TensorBoard event files.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum ExportCommand {
    static let spec = CommandSpec(
        name: "embryo export",
        abstract: "Export a run's training log and probe metrics for other tools (TensorBoard event files).",
        discussion: """
            Writes one TensorBoard event file into --tensorboard: every numeric field of the run's
            train_log.jsonl as a scalar train/FIELD, and every probe metric of its probes/metrics.jsonl (or
            --probes-dir) as PROBE/KEY, each at its step. The wall time of a point is the training time
            elapsed at its step, so TensorBoard's relative axis shows training time. With --suite, each run
            of the suite goes to its own subfolder (seed-N), which TensorBoard shows as separate runs.
            View with: tensorboard --logdir OUT. Exporting the same run twice gives the same bytes.
            """,
        options: [runOption, suite, tensorboard, probesDir]
    )

    static let runOption = OptionSpec.option(
        "run", "dir", "The run to export (a run directory made by pretrain, or any folder with probes/).",
        default: nil)
    static let suite = OptionSpec.option(
        "suite", "dir", "Instead of --run: every run of a suite, each into its own subfolder.", default: nil)
    static let tensorboard = OptionSpec.required(
        "tensorboard", "dir", "Folder for the TensorBoard event file (created if needed).")
    static let probesDir = OptionSpec.option(
        "probes-dir", "dir", "Where the probe metrics are (default: the run's probes/).", default: nil)

    static func run(_ a: ParsedArguments) throws {
        let out = URL(fileURLWithPath: a.string(tensorboard)!)
        var targets: [(run: Run, dir: URL)] = []
        switch (a.string(runOption), a.string(suite)) {
        case (let r?, nil):
            targets = [(try Run.open(r), out)]
        case (nil, let s?):
            guard a.string(probesDir) == nil else { throw EmbryoError.usage("--probes-dir goes with --run") }
            targets = try Suite.open(s).runs(warn: { log("export: warning: \($0)") }).map {
                ($0.run, out.appendingPathComponent($0.run.root.lastPathComponent))
            }
        default:
            throw EmbryoError.usage("give exactly one of --run DIR and --suite DIR")
        }
        for (run, dir) in targets {
            let points = try TensorBoard.points(run: run, probes: a.string(probesDir).map { URL(fileURLWithPath: $0) })
            guard !points.isEmpty else {
                throw EmbryoError.runtime(
                    "\(run.root.path) has nothing to export: no train_log.jsonl and no probes/metrics.jsonl")
            }
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw EmbryoError.io(dir.path, "cannot create directory: \(error.localizedDescription)")
            }
            let file = dir.appendingPathComponent(TensorBoard.fileName)
            try writeAtomically(Data(TensorBoard.file(points)), to: file)
            let tags = Set(points.map(\.tag)).count
            log("export: \(points.count) points of \(tags) scalars from \(run.root.path)")
            print(file.path)
        }
    }
}

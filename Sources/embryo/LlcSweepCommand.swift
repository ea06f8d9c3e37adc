// `embryo llc-sweep`: the LLC estimate of one snapshot over a grid of step sizes, localisations and inverse
// temperatures, with each cell's trace quality, so that settings can be chosen before a run's worth of
// snapshots is measured (devinterp's calibration sweep, with the diagnostics of the llc probe).

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum LlcSweepCommand {
    static let spec = CommandSpec(
        name: "embryo llc-sweep",
        abstract: "Estimate one snapshot's LLC over a grid of SGLD settings, to choose them.",
        discussion: """
            Every cell of --eps x --gamma x --nbeta runs the llc probe's estimator (the other --llc-* settings
            as given) on the snapshot, with minibatches from the training batches of the run it belongs to.
            Prints a Markdown table (estimate, standard error over chains, R-hat, whether the draws' loss has
            flattened, diverged chains) and writes sweep.jsonl (every cell with its chains' traces),
            sweep-llc.svg (the estimate against the step size, a line per localisation) and sweep-traces.svg
            (each cell's mean loss trace) into --out. A good cell has flat traces, no divergence, R-hat near 1
            and an estimate that changes little with the step size.
            """,
        options: [checkpoint, epsList, gammaList, nbetaList] + LlcOptions.all + [Shared.threads, out]
    )

    static let checkpoint = OptionSpec.required(
        "checkpoint", "dir", "A snapshot inside a run (its run's training batches are the minibatches).")
    static let epsList = OptionSpec.option(
        "eps", "list", "Step sizes, comma-separated.", default: "1e-5,3e-5,1e-4,3e-4")
    static let gammaList = OptionSpec.option("gamma", "list", "Localisations, comma-separated.", default: "100,1000")
    static let nbetaList = OptionSpec.option(
        "nbeta", "list", "Inverse temperatures, comma-separated (default: the --llc-nbeta setting).", default: nil)
    static let out = OptionSpec.option(
        "out", "dir", "Where the files go (default: llc-sweep-step-N beside the run's checkpoints/).", default: nil)

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        let base = try LlcOptions.settings(a)
        let eps = try numbers(a, epsList)!, gammas = try numbers(a, gammaList, zeroAllowed: true)!
        let nbetas: [Double?] = try numbers(a, nbetaList) ?? [base.nbeta]
        let dir = URL(fileURLWithPath: a.string(checkpoint)!).standardizedFileURL
        let runRoot = dir.deletingLastPathComponent().deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: runRoot.appendingPathComponent("run.json").path) else {
            throw EmbryoError.usage(
                "\(dir.path) is not a snapshot inside a run (no run.json in \(runRoot.path)): the LLC's "
                    + "minibatches are the run's training batches")
        }
        let run = try Run.open(runRoot.path)
        let wanted = dir.resolvingSymlinksInPath().path
        guard let snapshot = try run.snapshots().first(where: { $0.dir.resolvingSymlinksInPath().path == wanted })
        else {
            throw EmbryoError.usage("\(dir.path) is not one of the snapshots of \(runRoot.path)")
        }
        let (model, _) = try snapshot.load()
        let folder =
            a.string(out).map { URL(fileURLWithPath: $0) }
            ?? runRoot.appendingPathComponent("llc-sweep-\(Run.checkpointName(snapshot.step))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // the run's data is read once; each cell starts from the snapshot's weights (the estimator restores them)
        let target = try RunBatchTarget(run: run, config: model.config, rows: base.batch, seed: base.seed)
        let reference = try target.referenceLoss()
        target.load(model)
        var cells: [LlcSweepOutput.Cell] = []
        let grid = nbetas.flatMap { nb in gammas.flatMap { g in eps.map { (nb, g, $0) } } }
        for (i, (nb, g, e)) in grid.enumerated() {
            var s = base
            (s.nbeta, s.gamma, s.eps) = (nb, g, e)
            let progress = Progress(
                "llc-sweep: cell \(i + 1) of \(grid.count) (eps \(e), gamma \(g)), pass", total: s.passes)
            let est = try LlcEstimator.estimate(target, settings: s, divergenceLoss: reference) { done, _ in
                progress.update(done)
            }
            // the training step of every minibatch, chain by chain, for an outside estimator (embryo batches)
            let steps = (0..<s.chains).map { c in
                (0..<(s.burnin + s.draws)).map { target.trainingStep(of: s.minibatch(chain: c, step: $0)) }
            }
            cells.append(LlcSweepOutput.Cell(settings: s, estimate: est, steps: steps, seconds: progress.elapsed))
        }
        try LlcSweepOutput.write(cells, step: snapshot.step, to: folder)
        print(LlcSweepOutput.table(cells))
        print(folder.path)
    }

    /// A comma-separated list of positive numbers (or 0 too), nil when the option is absent.
    static func numbers(_ a: ParsedArguments, _ o: OptionSpec, zeroAllowed: Bool = false) throws -> [Double]? {
        guard let text = a.string(o) else { return nil }
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        let ok = { (v: Double?) in v.map { $0.isFinite && ($0 > 0 || (zeroAllowed && $0 == 0)) } ?? false }
        guard !values.isEmpty, values.allSatisfy(ok) else {
            let what = zeroAllowed ? "numbers of 0 or more" : "positive numbers"
            throw EmbryoError.usage("'--\(o.name)' expects \(what) separated by commas, got '\(text)'")
        }
        return values.map { $0! }
    }
}

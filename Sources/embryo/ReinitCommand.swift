// `embryo reinit`: partial re-initialisation of a pretrained model, then fine-tuning, across data sizes.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum ReinitCommand {
    static let spec = CommandSpec(
        name: "embryo reinit",
        abstract: "Re-initialise some pretrained layers, fine-tune, and compare across data sizes.",
        discussion: """
            Schemes (L layers): progressive keeps layers 0..k-1 and re-initialises k..L-1 for every k from L
            down to 0; block re-initialises each window of --block-size consecutive layers; inverse-block keeps
            only that window; single re-initialises one layer at a time; scramble fine-tunes seeded random
            orders of the pretrained layers. Baselines in the same run: the fully pretrained and fully
            re-initialised models, and the probing baseline (a linear classifier on the frozen [CLS] vector of
            layer k, the layers above dropped) for every k. A shared ALBERT is first untied into L identical
            layers. Writes results.jsonl (one row per setting, data size and seed) and reinit.html.
            """,
        options: [checkpoint] + Shared.taskGroup + [
            scheme, blockSize, trainSizes, seeds, permutations, keepLayernorm, reinitLrMult, noProbing,
        ] + Shared.finetune.options().filter { $0.name != "train-size" } + [Shared.threads, out]
    )

    static let checkpoint = OptionSpec.required("checkpoint", "dir", "Pretrained checkpoint directory.")
    static let scheme = OptionSpec.required("scheme", "name", "progressive, block, inverse-block, single or scramble.")
    static let blockSize = OptionSpec.option(
        "block-size", "n", "Layers per window (block, inverse-block).", default: "3")
    static let trainSizes = OptionSpec.option(
        "train-sizes", "list", "Training-set sizes, comma-separated; 'full' for all.", default: "500,5000,full")
    static let seeds = OptionSpec.option("seeds", "k", "Seeds per setting.", default: "1")
    static let permutations = OptionSpec.option("permutations", "n", "Scrambled orders (scramble).", default: "3")
    static let keepLayernorm = OptionSpec.flag(
        "keep-layernorm", "Keep the pretrained LayerNorms of re-initialised layers.")
    static let reinitLrMult = OptionSpec.option(
        "reinit-lr-mult", "f", "Learning-rate multiplier for re-initialised layers.", default: "1")
    static let noProbing = OptionSpec.flag("no-probing", "Skip the probing baseline.")
    static let out = OptionSpec.option(
        "out", "dir", "Output folder (default: <run>/reinit/<task>-<scheme>/).", default: nil)

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        var o = ReinitOptions()
        o.finetune = try Shared.finetune.settings(a)
        guard let scheme = ReinitScheme(rawValue: try a.choice(Self.scheme, ReinitScheme.allCases.map(\.rawValue))!)
        else {
            throw EmbryoError.usage("unknown scheme")
        }
        o.scheme = scheme
        o.blockSize = try a.int(Self.blockSize, min: 1)!
        o.seeds = try a.int(Self.seeds, min: 1)!
        o.permutations = try a.int(Self.permutations, min: 1)!
        o.keepLayerNorm = a.flag(Self.keepLayernorm)
        o.probing = !a.flag(Self.noProbing)
        o.reinitLrMult = Float(try a.double(Self.reinitLrMult)!)
        guard o.reinitLrMult > 0 else { throw EmbryoError.usage("--reinit-lr-mult must be positive") }
        o.trainSizes = try a.string(Self.trainSizes)!.split(separator: ",").map {
            let v = $0.trimmingCharacters(in: .whitespaces)
            if v == "full" { return nil }
            guard let n = Int(v), n > 0 else {
                throw EmbryoError.usage("--train-sizes: expected positive numbers or 'full', got '\(v)'")
            }
            return n
        }
        let task = try Shared.loadTask(a)
        let ckpt = URL(fileURLWithPath: a.string(Self.checkpoint)!)
        let run = try Run.open(ckpt.path)
        let out =
            a.string(Self.out).map { URL(fileURLWithPath: $0) } ?? run.reinit(task: task.name, scheme: scheme.rawValue)
        let t0 = Date()
        let rows = try ReinitJob.run(checkpoint: ckpt, task: task, options: o, out: out, log: log)
        log("reinit: \(rows.count) runs in \(formatDuration(Date().timeIntervalSince(t0)))")
        if a.string(Self.out) == nil && run.isRunDirectory {
            // the sweep joins the run's report
            try FileManager.default.createDirectory(at: run.probes, withIntermediateDirectories: true)
            try RunReport.write(folder: run.probes, run: run, fallback: RunReport.fallbackInfo(run))
        }
        print(out.appendingPathComponent("reinit.html").path)
    }
}

// `embryo reinit`: a re-initialisation scheme across data sizes and seeds on one task, with the baselines
// of Tamkin et al. (the fully pretrained and fully re-initialised models, and the probing baseline: the
// first k pretrained layers frozen, the rest dropped, a linear classifier on the [CLS] vector of layer k).
// Every fine-tuning run is one row of results.jsonl; reinit.html draws the paper's figures.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct ReinitOptions: Sendable {
    public var scheme: ReinitScheme = .progressive
    public var blockSize = 3
    public var trainSizes: [Int?] = [500, 5000, nil]  // nil: the full training set
    public var seeds = 1
    public var keepLayerNorm = false
    public var reinitLrMult: Float = 1
    public var permutations = 3
    public var probing = true
    public var finetune = FinetuneSettings()
    public init() {}
}

public struct ReinitRow: Codable, Sendable, Equatable {
    public var scheme: String
    public var setting: String
    public var preserved: Int
    public var reinit: [Int]
    public var permutation: [Int]?
    public var window: Int?
    public var trainSize: String
    public var seed: Int
    public var metrics: [String: [String: Double]]
    public var steps: Int
    public var seconds: Double
    public var trainTokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case scheme, setting, preserved, reinit, permutation, window, seed, metrics, steps, seconds
        case trainSize = "train_size", trainTokensPerSecond = "train_tokens_per_s"
    }
}

public enum ReinitJob {
    public static func run(
        checkpoint: URL, task: TaskData, options o: ReinitOptions, out: URL, log: (String) -> Void
    ) throws -> [ReinitRow] {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let (loaded, tok) = try FinetuneJob.load(checkpoint, seed: o.finetune.seed, task: task)
        let freshPooler = loaded.absentParts.contains(.pooler)
        if let note = FinetuneJob.freshPoolerNote(loaded, checkpoint) { log("reinit: " + note) }
        let L = loaded.config.numHiddenLayers
        var base = loaded
        if loaded.config.numHiddenGroups != L {
            base = try Reinit.untie(loaded)
            log(
                "reinit: untied the shared layer block into \(L) identical layers (the model computes the same "
                    + "function) so that layers can be re-initialised one by one")
        }
        let settings = try Reinit.settings(
            o.scheme, layers: L, blockSize: o.blockSize, permutations: o.permutations, seed: UInt64(o.finetune.seed))
        var rows: [ReinitRow] = []
        let resultsURL = out.appendingPathComponent("results.jsonl")
        func save() throws {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let lines = try rows.map { String(decoding: try enc.encode($0), as: UTF8.self) + "\n" }
            try writeAtomically(Data(lines.joined().utf8), to: resultsURL)
            try writeAtomically(
                Data(ReinitReport.html(rows, task: task, layers: L, checkpoint: checkpoint.path, options: o).utf8),
                to: out.appendingPathComponent("reinit.html"))
        }
        let total = o.trainSizes.count * o.seeds * settings.count
        var done = 0
        let ft = Finetuner(tokenizer: tok)
        for size in o.trainSizes {
            for k in 0..<o.seeds {
                let seed = o.finetune.seed + k
                for setting in settings {
                    let model = try Albert(config: base.config)
                    model.params.pointer.update(from: base.params.pointer, count: base.params.count)
                    if freshPooler { model.initializeParts([.pooler], seed: UInt64(seed)) }
                    let touched = try Reinit.apply(
                        setting, to: model, keepLayerNorm: o.keepLayerNorm, seed: UInt64(seed))
                    var s = o.finetune
                    s.seed = seed
                    s.trainSize = size
                    if o.reinitLrMult != 1 {
                        let reinitNames = Set(
                            setting.reinit.flatMap { Reinit.layerTensors(model, layer: $0).map(\.name) })
                        s.lrScale = Dictionary(
                            uniqueKeysWithValues: touched.filter(reinitNames.contains).map { ($0, o.reinitLrMult) })
                    }
                    let (outcome, _) = try ft.run(model: model, task: task, settings: s)
                    rows.append(
                        ReinitRow(
                            scheme: setting.scheme, setting: setting.label, preserved: setting.preserved,
                            reinit: setting.reinit, permutation: setting.permutation, window: setting.window,
                            trainSize: size.map(String.init) ?? "full", seed: seed, metrics: outcome.metrics,
                            steps: outcome.steps, seconds: outcome.seconds,
                            trainTokensPerSecond: outcome.trainTokensPerSecond))
                    done += 1
                    let m = task.metrics[0], split = task.evals[0].name
                    log(
                        "reinit: \(done)/\(total) \(setting.label), \(size.map { "\($0) examples" } ?? "full data"), "
                            + "seed \(seed): \(split) \(m) \(String(format: "%.4f", outcome.metrics[split]?[m] ?? 0)) "
                            + "(\(outcome.steps) steps, \(String(format: "%.1f", outcome.seconds)) s, "
                            + "\(Int(outcome.trainTokensPerSecond)) tokens/s)")
                    try save()
                }
                if o.probing && !task.regression {
                    rows += try probingBaseline(base, ft: ft, task: task, size: size, seed: seed, settings: o.finetune)
                    try save()
                } else if o.probing && k == 0 && size == o.trainSizes.first! {
                    log("reinit: the probing baseline is a linear classifier; skipped for a regression task")
                }
            }
        }
        try save()
        return rows
    }

    /// Linear classifiers on the frozen [CLS] vector of each layer 0...L (the first k layers kept, the rest
    /// dropped), trained with the linear-probe recipe on the same training subset.
    static func probingBaseline(
        _ model: Albert, ft: Finetuner, task: TaskData, size: Int?, seed: Int, settings: FinetuneSettings
    ) throws -> [ReinitRow] {
        let t0 = Date()
        let maxLen = min(settings.maxLen, model.config.maxPositionEmbeddings)
        let train = Finetuner.subset(task.train, size: size, seed: seed)
        let trainF = try ft.clsFeatures(model: model, examples: train, maxLen: maxLen)
        let evalF = try task.evals.map { try ft.clsFeatures(model: model, examples: $0.examples, maxLen: maxLen) }
        let H = model.config.hiddenSize, L = model.config.numHiddenLayers
        var rows: [ReinitRow] = []
        for k in 0...L {
            let data = ProbeDataset(dim: H, x: trainF[k], y: train.map(\.label))
            guard let (clf, epochs) = LayerProbe.fit(train: data, classes: task.labels.count, seed: UInt64(seed)) else {
                continue
            }
            var metrics: [String: [String: Double]] = [:]
            for (si, split) in task.evals.enumerated() {
                let pred = clf.predict(evalF[si][k], split.examples.count)
                metrics[split.name] = TaskMetrics.compute(
                    task.metrics, predClass: pred, goldClass: split.examples.map(\.label), predValue: [], goldValue: [])
            }
            rows.append(
                ReinitRow(
                    scheme: "probing", setting: "probe layer \(k)", preserved: k, reinit: [], permutation: nil,
                    window: nil, trainSize: size.map(String.init) ?? "full", seed: seed, metrics: metrics,
                    steps: epochs, seconds: Date().timeIntervalSince(t0) / Double(L + 1), trainTokensPerSecond: 0))
        }
        return rows
    }
}

extension Finetuner {
    /// The [CLS] vector of every example at every layer 0...L: result[l] is (examples, H).
    public func clsFeatures(model: Albert, examples: [TaskExample], maxLen: Int) throws -> [[Float]] {
        let H = model.config.hiddenSize, L = model.config.numHiddenLayers
        var out = [[Float]](repeating: [Float](repeating: 0, count: examples.count * H), count: L + 1)
        let enc = examples.map { encode($0, maxLen: maxLen) }
        try forEachBatch(model, enc, maxLen: maxLen) { idx, a, batch in
            let T = batch.T
            try model.encode(a, batch)
            for l in 0...L {
                let h = a.hiddenState(l)
                out[l].withUnsafeMutableBufferPointer { o in
                    for (b, i) in idx.enumerated() {
                        (o.baseAddress! + i * H).update(from: h + b * T * H, count: H)
                    }
                }
            }
        }
        return out
    }
}

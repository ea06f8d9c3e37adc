// `embryo finetune`: one checkpoint or every snapshot of a run, K seeds each; results as JSON, fine-tuned
// models in transformers' AlbertForSequenceClassification format, and for a run the downstream curve
// (metric against pretraining step) merged into its probe report.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct SeedSummary: Sendable {
    public var mean: Double
    public var std: Double
    public var values: [Double]

    public init(_ values: [Double]) {
        self.values = values
        let m = values.reduce(0, +) / Double(max(values.count, 1))
        mean = m
        let v = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(values.count - 1, 1))
        std = values.count > 1 ? v.squareRoot() : 0
    }
}

public enum FinetuneJob {
    /// Loads the encoder of a checkpoint and its tokenizer; checks that the task fits.
    public static func load(_ dir: URL, seed: Int, task: TaskData? = nil) throws -> (Albert, WordPieceTokenizer) {
        let (model, file) = try Albert.loadEncoder(from: dir, seed: UInt64(seed))
        // a checkpoint that is already a classifier must have a head of the task's size
        if let task, let head = file.entries["classifier.weight"], head.shape.count == 2 {
            let want = task.regression ? 1 : task.labels.count
            guard head.shape[0] == want else {
                throw EmbryoError.format(
                    file.path,
                    "this checkpoint's classifier has \(head.shape[0]) outputs but task \(task.name) needs \(want) "
                        + "(\(task.regression ? "regression" : task.labels.joined(separator: ", "))); "
                        + "fine-tune a pretraining checkpoint instead")
            }
        }
        let vocab = dir.appendingPathComponent("vocab.txt")
        let tok = try WordPieceTokenizer.load(vocab: vocab)
        try Snapshot.requireAgreement(tok, model.config, vocab: vocab)
        return (model, tok)
    }

    /// Said when the checkpoint has no pooler (saved as *ForMaskedLM saves): as in transformers, the
    /// classifier then reads a fresh one, drawn from each fine-tuning seed.
    static func freshPoolerNote(_ model: Albert, _ checkpoint: URL) -> String? {
        guard model.absentParts.contains(.pooler) else { return nil }
        return "\(checkpoint.lastPathComponent) has no pooler (saved without one, as *ForMaskedLM does); each seed "
            + "starts it from a fresh initialisation"
    }

    /// A hash of everything read from a task: its name, labels, metrics and every example of every split
    /// (so a change of files, --text-columns or --label-column changes it).
    public static func fingerprint(_ task: TaskData) -> String {
        String(stableHash(String(describing: task)), radix: 16)
    }

    /// What makes one checkpoint's fine-tuning results: its weights, the task as read, the settings, the
    /// seeds and whether models are saved (recorded in results.json as cache_key).
    public static func cacheKey(
        snapshot: Snapshot, task: String, settings: FinetuneSettings, seeds: Int, saveModels: Bool
    ) throws -> String {
        let parts = [
            "finetune v1", try snapshot.weightsHash(), task, String(describing: settings), "\(seeds)", "\(saveModels)",
        ]
        return String(stableHash(parts.joined(separator: "|")), radix: 16)
    }

    /// The outcomes in `out`/results.json when it was written with `key`.
    public static func cached(out: URL, key: String) -> [FinetuneOutcome]? {
        guard let data = try? readFile(out.appendingPathComponent("results.json")),
            let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], o["cache_key"] as? String == key,
            let runs = o["runs"] as? [[String: Any]]
        else { return nil }
        var out: [FinetuneOutcome] = []
        for r in runs {
            guard let seed = r["seed"] as? Int, let n = r["train_examples"] as? Int, let steps = r["steps"] as? Int,
                let seconds = r["seconds"] as? Double, let tps = r["train_tokens_per_s"] as? Double,
                let loss = r["last_loss"] as? Double, let metrics = r["metrics"] as? [String: [String: Double]]
            else { return nil }
            out.append(
                FinetuneOutcome(
                    seed: seed, trainExamples: n, steps: steps, seconds: seconds, trainTokensPerSecond: tps,
                    lastLoss: Float(loss), metrics: metrics))
        }
        return out
    }

    /// Fine-tunes one checkpoint with each seed; writes results.json (and the models when `saveModels`).
    public static func run(
        checkpoint: URL, task: TaskData, taskPath: String, settings: FinetuneSettings, seeds: Int, out: URL,
        saveModels: Bool, cacheKey: String? = nil, log: (String) -> Void
    ) throws -> [FinetuneOutcome] {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var outcomes: [FinetuneOutcome] = []
        // results.json records the input length actually used (--max-len beyond the model's positions is cut)
        var recorded = settings
        for k in 0..<seeds {
            var s = settings
            s.seed = settings.seed + k
            let (model, tok) = try load(checkpoint, seed: s.seed, task: task)
            if k == 0, let note = freshPoolerNote(model, checkpoint) { log("finetune: " + note) }
            if !task.regression && task.labels.count < 2 {
                throw EmbryoError.runtime(
                    "task \(task.name) has \(task.labels.count) label; a classifier needs 2 or more")
            }
            recorded.maxLen = min(settings.maxLen, model.config.maxPositionEmbeddings)
            let ft = Finetuner(tokenizer: tok)
            let (o, head) = try ft.run(model: model, task: task, settings: s)
            outcomes.append(o)
            let headline = task.metrics[0]
            let shown = o.metrics.keys.sorted().map {
                "\($0) \(headline) \(String(format: "%.4f", o.metrics[$0]![headline] ?? 0))"
            }
            log(
                "finetune: \(checkpoint.lastPathComponent) seed \(s.seed): \(shown.joined(separator: ", ")); "
                    + "\(o.steps) steps in \(String(format: "%.1f", o.seconds)) s, "
                    + "\(Int(o.trainTokensPerSecond)) tokens/s")
            if saveModels {
                let dir = out.appendingPathComponent("model-seed\(s.seed)")
                try saveClassifier(model: model, head: head, task: task, from: checkpoint, to: dir)
                // the first evaluation split's logits, for checking the saved model elsewhere
                let split = task.evals[0]
                let (_, logits) = try ft.evaluate(
                    model: model, head: head, task: task, examples: split.examples,
                    maxLen: min(s.maxLen, model.config.maxPositionEmbeddings))
                let lines = logits.enumerated().map { i, l in
                    "\(i)\t" + l.map { "\($0)" }.joined(separator: "\t") + "\n"
                }
                try writeAtomically(
                    Data(lines.joined().utf8), to: dir.appendingPathComponent("logits-\(split.name).tsv"))
            }
        }
        try writeResults(
            outcomes, task: task, taskPath: taskPath, checkpoint: checkpoint, settings: recorded, out: out,
            cacheKey: cacheKey)
        return outcomes
    }

    static func writeResults(
        _ outcomes: [FinetuneOutcome], task: TaskData, taskPath: String, checkpoint: URL, settings s: FinetuneSettings,
        out: URL, cacheKey: String? = nil
    ) throws {
        var summary: [String: Any] = [:]
        for split in task.evals.map(\.name) {
            var m: [String: Any] = [:]
            for metric in task.metrics {
                let st = SeedSummary(outcomes.compactMap { $0.metrics[split]?[metric] })
                m[metric] = ["mean": st.mean, "std": st.std, "values": st.values]
            }
            summary[split] = m
        }
        var obj: [String: Any] = [
            "task": task.name, "task_path": taskPath, "checkpoint": checkpoint.path,
            "labels": task.labels, "metrics": task.metrics,
            "settings": [
                "epochs": s.epochs, "lr": s.lr, "batch_size": s.batchSize, "max_len": s.maxLen,
                "train_size": s.trainSize.map { $0 as Any } ?? "full", "first_seed": s.seed,
                "optimizer": "adamw", "schedule": "linear decay, no warmup", "clip": Double(s.clip),
            ],
            "runs": outcomes.map { o -> [String: Any] in
                [
                    "seed": o.seed, "train_examples": o.trainExamples, "steps": o.steps, "seconds": o.seconds,
                    "train_tokens_per_s": o.trainTokensPerSecond, "last_loss": Double(o.lastLoss),
                    "metrics": o.metrics,
                ]
            },
            "summary": summary,
        ]
        if let cacheKey { obj["cache_key"] = cacheKey }
        try writeAtomically(
            try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]),
            to: out.appendingPathComponent("results.json"))
    }

    /// transformers' AlbertForSequenceClassification (or BertForSequenceClassification) directory: config.json with the labels and problem
    /// type, model.safetensors with the encoder, pooler and classifier, and the tokenizer files.
    public static func saveClassifier(
        model: Albert, head: SequenceClassifier, task: TaskData, from checkpoint: URL, to dir: URL
    ) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var list = model.layout.tensors.filter { !$0.part.isHead || $0.part == .pooler }.map {
            (name: $0.name, shape: $0.shape, data: UnsafePointer(model.params.pointer + $0.offset))
        }
        for t in head.tensors {
            list.append((name: t.name, shape: t.shape, data: UnsafePointer(head.params.pointer + t.offset)))
        }
        try writeSafetensors(list, metadata: ["format": "pt"], to: dir.appendingPathComponent("model.safetensors"))
        guard var cfg = try JSONSerialization.jsonObject(with: JSONEncoder().encode(model.config)) as? [String: Any]
        else { throw EmbryoError.runtime("cannot encode the model config") }
        let names = task.regression ? ["LABEL_0"] : task.labels
        let family = model.config.family
        cfg["architectures"] = [family.classPrefix + "ForSequenceClassification"]
        cfg["id2label"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0), $1) })
        cfg["label2id"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        cfg["problem_type"] = task.regression ? "regression" : "single_label_classification"
        cfg[family.classifierDropoutKey] = 0.0
        try writeAtomically(
            try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys]),
            to: dir.appendingPathComponent("config.json"))
        for f in ["vocab.txt", "tokenizer_config.json"] {
            let src = checkpoint.appendingPathComponent(f)
            if FileManager.default.fileExists(atPath: src.path) {
                try writeAtomically(try readFile(src), to: dir.appendingPathComponent(f))
            }
        }
    }

    /// The downstream curve of a run: per step and split, the headline metric's seed mean and deviation,
    /// as probe metrics (probe "downstream", keys TASK/SPLIT/METRIC and TASK/SPLIT/METRIC/std).
    public static func downstreamMetrics(task: TaskData, step: Int, outcomes: [FinetuneOutcome]) -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        for split in task.evals.map(\.name) {
            for metric in task.metrics {
                let st = SeedSummary(outcomes.compactMap { $0.metrics[split]?[metric] })
                let key = "\(task.name)/\(split)/\(metric)"
                out.append(
                    ProbeMetric(step: step, probe: "downstream", key: key, value: st.mean, count: outcomes.count))
                out.append(
                    ProbeMetric(
                        step: step, probe: "downstream", key: key + "/std", value: st.std, count: outcomes.count))
            }
        }
        return out
    }
}

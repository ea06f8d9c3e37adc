// Probing every snapshot of a run: checkpoints in step order, each probe's result cached per checkpoint
// (keyed by the weights' hash and the probe settings) so re-running after more training only probes the
// new snapshots; results gathered into JSON and CSV tables.

import EmbryoCore
import EmbryoText
import Foundation

public struct ProbeSettings: Codable, Sendable, Equatable {
    public var posFile: String
    public var posHash: String
    public var maxSentences: Int
    public var version = 1

    public init(posFile: String, posHash: String, maxSentences: Int) {
        self.posFile = posFile
        self.posHash = posHash
        self.maxSentences = maxSentences
    }
}

public struct CheckpointRef: Sendable {
    public var step: Int
    public var dir: URL
}

public enum ProbeRun {
    /// step-N subdirectories of `dir` holding a model, in step order.
    public static func checkpoints(in dir: URL) throws -> [CheckpointRef] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw EmbryoError.io(dir.path, "no such directory")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let refs = names.compactMap { n -> CheckpointRef? in
            guard n.hasPrefix("step-"), let s = Int(n.dropFirst(5)) else { return nil }
            let d = dir.appendingPathComponent(n)
            guard FileManager.default.fileExists(atPath: d.appendingPathComponent("model.safetensors").path) else {
                return nil
            }
            return CheckpointRef(step: s, dir: d)
        }.sorted { $0.step < $1.step }
        guard !refs.isEmpty else { throw EmbryoError.io(dir.path, "holds no step-N checkpoint directories") }
        return refs
    }

    /// The probe set of a run on the built-in world, when `checkpoints` belongs to one.
    public static func worldProbeFile(forCheckpoints dir: URL) -> URL? {
        let run = dir.deletingLastPathComponent()
        guard
            let o = (try? JSONSerialization.jsonObject(with: readFile(run.appendingPathComponent("run.json"))))
                as? [String: Any],
            o["world"] != nil
        else { return nil }
        let f = run.appendingPathComponent("world/probe.conllu")
        return FileManager.default.fileExists(atPath: f.path) ? f : nil
    }

    /// Runs the mask-prediction probe on every checkpoint (cached), writes mlm_by_pos.json and .csv into `out`.
    public static func maskPrediction(
        checkpoints: [CheckpointRef], settings: ProbeSettings, out: URL,
        progress: (Int, Int, Int, Bool) -> Void
    ) throws -> [(Int, MaskPredictionResult)] {
        let cache = out.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        var results: [(Int, MaskPredictionResult)] = []
        for (i, ck) in checkpoints.enumerated() {
            let (_, weights) = try hashFile(ck.dir.appendingPathComponent("model.safetensors").path)
            let key = "mlm-\(RunDirectory.checkpointName(ck.step))-\(weights).json"
            let cached = cache.appendingPathComponent(key)
            if let data = try? readFile(cached), let entry = try? JSONDecoder().decode(CachedProbe.self, from: data),
                entry.settings == settings
            {
                results.append((ck.step, entry.result))
                progress(i + 1, checkpoints.count, ck.step, true)
                continue
            }
            let model = try Albert.load(from: ck.dir)
            let tok = try WordPieceTokenizer.load(vocab: ck.dir.appendingPathComponent("vocab.txt"))
            let (sentences, _) = try ProbeSentences.load(
                URL(fileURLWithPath: settings.posFile), tokenizer: tok,
                maxLen: min(128, model.config.maxPositionEmbeddings), limit: settings.maxSentences)
            let r = try MaskPredictionProbe.run(model: model, sentences: sentences, maskId: tok.vocab.maskId)
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            try writeAtomically(try enc.encode(CachedProbe(settings: settings, result: r)), to: cached)
            results.append((ck.step, r))
            progress(i + 1, checkpoints.count, ck.step, false)
        }
        try writeTables(results, settings: settings, out: out)
        return results
    }

    struct CachedProbe: Codable {
        var settings: ProbeSettings
        var result: MaskPredictionResult
    }

    static func writeTables(_ results: [(Int, MaskPredictionResult)], settings: ProbeSettings, out: URL) throws {
        var csv = "step,tag_set,tag,count,reconstruction_accuracy,mask_prediction_accuracy\n"
        var json: [[String: Any]] = []
        for (step, r) in results {
            var entry: [String: Any] = ["step": step, "words": r.words]
            for (name, table) in [("upos", r.upos), ("xpos", r.xpos)] {
                var t: [String: Any] = [:]
                for tag in table.keys.sorted() {
                    let s = table[tag]!
                    t[tag] = [
                        "count": s.count, "reconstruction_accuracy": s.reconstructionAccuracy,
                        "mask_prediction_accuracy": s.maskPredictionAccuracy,
                    ]
                    csv += "\(step),\(name),\(tag),\(s.count),\(s.reconstructionAccuracy),\(s.maskPredictionAccuracy)\n"
                }
                entry[name] = t
            }
            json.append(entry)
        }
        let obj: [String: Any] = [
            "probe": "mask_prediction_by_pos", "pos_file": settings.posFile,
            "max_sentences": settings.maxSentences, "checkpoints": json,
        ]
        try writeAtomically(
            try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]),
            to: out.appendingPathComponent("mlm_by_pos.json"))
        try writeAtomically(Data(csv.utf8), to: out.appendingPathComponent("mlm_by_pos.csv"))
    }
}

// One snapshot of a run: a checkpoint folder in Hugging Face's layout (config.json, model.safetensors,
// vocab.txt) and the training step it was saved at. Named step-N by embryo; stepN and HF Trainer's
// checkpoint-N are read too, and trainer_state.json's step wins over the name when present.

import EmbryoCore
import EmbryoText
import Foundation

public struct Snapshot: Sendable {
    public let dir: URL
    public let step: Int

    public init(dir: URL, step: Int) {
        self.dir = dir
        self.step = step
    }

    public var name: String { dir.lastPathComponent }
    public var vocabURL: URL { dir.appendingPathComponent("vocab.txt") }
    public var weightsURL: URL { dir.appendingPathComponent("model.safetensors") }
    public var configURL: URL { dir.appendingPathComponent("config.json") }

    public func loadModel() throws -> Albert { try Albert.load(from: dir) }

    public func loadTokenizer() throws -> WordPieceTokenizer { try WordPieceTokenizer.load(vocab: vocabURL) }

    /// The model and its tokenizer, checked to agree on the vocabulary size.
    public func load() throws -> (Albert, WordPieceTokenizer) {
        let model = try loadModel(), tok = try loadTokenizer()
        try Snapshot.requireAgreement(tok, model.config, vocab: vocabURL)
        return (model, tok)
    }

    /// A tokenizer (read from `vocab`) whose vocabulary is the model's size, else an error naming the file.
    public static func requireAgreement(_ tok: WordPieceTokenizer, _ config: AlbertConfig, vocab: URL) throws {
        guard tok.vocab.count == config.vocabSize else {
            throw EmbryoError.format(
                vocab.path, "\(tok.vocab.count) tokens, but the model's vocab_size is \(config.vocabSize)")
        }
    }

    /// Identifies the network: the weights and the architecture (shared-layer weights are the same for any
    /// number of layer applications, so config.json is part of it).
    public func weightsHash() throws -> String {
        try hashFile(weightsURL.path).1 + "-" + hashFile(configURL.path).1
    }

    public func vocabHash() throws -> String { try hashFile(vocabURL.path).1 }

    // MARK: recognising snapshots

    static let requiredFiles = ["model.safetensors", "config.json", "vocab.txt"]

    static func missingFiles(_ dir: URL) -> [String] {
        requiredFiles.filter { !FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
    }

    /// A folder that holds a checkpoint's weights and configuration.
    static func isSnapshot(_ dir: URL) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: dir.appendingPathComponent("config.json").path)
            && fm.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path)
    }

    /// The step in a snapshot folder's name: step-N, stepN or checkpoint-N.
    public static func stepInName(_ name: String) -> Int? {
        for prefix in ["step-", "checkpoint-", "step"] where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count)
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let s = Int(digits), s >= 0 {
                return s
            }
        }
        return nil
    }

    /// The step of a snapshot folder: trainer_state.json's (embryo's "step", HF's "global_step") when
    /// present, else the one in its name.
    static func step(of dir: URL) -> Int? {
        let state = dir.appendingPathComponent("trainer_state.json")
        if let o = (try? JSONSerialization.jsonObject(with: readFile(state))) as? [String: Any],
            let s = (o["step"] as? Int) ?? (o["global_step"] as? Int), s >= 0
        {
            return s
        }
        return stepInName(dir.lastPathComponent)
    }
}

// `embryo init` writes a randomly initialised HF-format checkpoint; `embryo infer` runs a checkpoint on
// token ids and writes every hidden state, the MLM logits at every position and the SOP logits.
// Together they let any outside tool (transformers, Scripts/check-hf-roundtrip.py) check the engine.

import EmbryoCore
import EmbryoRun
import Foundation

enum InitCommand {
    static let spec = CommandSpec(
        name: "embryo init",
        abstract: "Write a randomly initialised ALBERT or BERT checkpoint in Hugging Face format.",
        options: [config, vocabSize, unshared, seed, out, force]
    )

    static let config = OptionSpec.option(
        "config", "preset|file",
        "tiny, small, base (ALBERT), bert-tiny, bert-small, bert-base (BERT), or a config.json path.", default: "tiny")
    static let vocabSize = OptionSpec.option("vocab-size", "n", "Vocabulary size (presets only).", default: "8192")
    static let unshared = OptionSpec.flag(
        "unshared", "One layer group per layer (BERT-like) instead of ALBERT's shared block.")
    static let seed = OptionSpec.option("seed", "n", "Initialisation seed.", default: "0")
    static let out = OptionSpec.required("out", "dir", "Checkpoint directory to write.")
    static let force = OptionSpec.flag("force", "Replace the weights and config of an existing checkpoint in --out.")

    static func run(_ a: ParsedArguments) throws {
        let out = a.string(Self.out)!
        let existing = ["model.safetensors", "config.json"].filter {
            FileManager.default.fileExists(atPath: URL(fileURLWithPath: out).appendingPathComponent($0).path)
        }
        if !existing.isEmpty && !a.flag(Self.force) {
            throw EmbryoError.usage(
                "\(out) already holds a checkpoint (\(existing.joined(separator: ", "))); use --force to replace it")
        }
        let name = a.string(Self.config)!, vocabSize = try a.int(Self.vocabSize, min: 5)!
        // a config file keeps its own vocab_size
        var config = try AlbertConfig.resolve(
            name, vocabSize: AlbertConfig.presetNames.contains(name) ? vocabSize : nil)
        if a.flag(Self.unshared) { config = config.unshared() }
        let model = try Albert(config: config)
        model.initializeWeights(seed: UInt64(try a.int(Self.seed, min: 0)!))
        try model.save(to: URL(fileURLWithPath: out))
        print(out)
    }
}

enum InferCommand {
    static let spec = CommandSpec(
        name: "embryo infer",
        abstract: "Run a checkpoint on token ids; write hidden states and logits as safetensors.",
        discussion: """
            Id files hold one sequence per line, ids separated by spaces or commas, every line the same
            length. The output holds hidden_states.0 (after the embedding projection; BERT: the embeddings)
            to hidden_states.L, pooled, prediction_logits (B, T, V) and sop_logits (B, 2; BERT:
            seq_relationship_logits), all float32. Heads the checkpoint lacks (a bare BertModel's) are left out.
            """,
        options: [checkpoint, ids, tokenTypeIds, attentionMask, Shared.threads, out]
    )

    static let checkpoint = OptionSpec.required(
        "checkpoint", "dir", "Checkpoint directory (config.json + model.safetensors).")
    static let ids = OptionSpec.required("ids", "file", "Token ids.")
    static let tokenTypeIds = OptionSpec.option(
        "token-type-ids", "file", "Token types, same shape (default: all 0).", default: nil)
    static let attentionMask = OptionSpec.option(
        "attention-mask", "file", "1 = attend, 0 = padding, same shape (default: all 1).", default: nil)
    static let out = OptionSpec.required("out", "file", "Output .safetensors file.")

    static func run(_ a: ParsedArguments) throws {
        let ckpt = a.string(Self.checkpoint)!, idsPath = a.string(Self.ids)!, out = a.string(Self.out)!
        try Shared.configureThreads(a)
        let model = try Albert.load(from: URL(fileURLWithPath: ckpt))
        let ids = try readIdMatrix(idsPath)
        let B = ids.count, T = ids[0].count
        let types =
            try a.string(Self.tokenTypeIds).map(readIdMatrix)
            ?? Array(repeating: Array(repeating: 0, count: T), count: B)
        let mask =
            try a.string(Self.attentionMask).map(readIdMatrix)
            ?? Array(repeating: Array(repeating: 1, count: T), count: B)
        for (name, m) in [("token-type-ids", types), ("attention-mask", mask)]
        where m.count != B || m.contains(where: { $0.count != T }) {
            throw EmbryoError.format(a.string(name)!, "shape differs from the ids file (\(B) x \(T))")
        }
        let batch = AlbertBatch(B: B, T: T)
        for b in 0..<B {
            for t in 0..<T {
                batch.ids[b * T + t] = Int32(ids[b][t])
                batch.tokenTypes[b * T + t] = Int32(types[b][t])
                batch.attentionMask[b * T + t] = Float(mask[b][t])
            }
        }
        let acts = Activations(config: model.config, B: B, T: T, maxPredictions: 1, training: false)
        try model.encode(acts, batch)
        model.sopHeadForward(acts)
        let V = model.config.vocabSize, H = model.config.hiddenSize
        let logits = FloatBuffer(count: B * T * V)
        model.predictionLogits(acts, out: logits.pointer)
        var tensors: [(name: String, shape: [Int], data: UnsafePointer<Float>)] = []
        for l in 0...model.config.numHiddenLayers {
            tensors.append(("hidden_states.\(l)", [B, T, H], UnsafePointer(acts.hiddenState(l))))
        }
        // only the heads the checkpoint holds (a bare BertModel has a pooler and nothing else)
        let absent = model.absentParts
        if !absent.contains(.pooler) { tensors.append(("pooled", [B, H], UnsafePointer(acts.pooled))) }
        if !absent.contains(.mlmHead) {
            tensors.append(("prediction_logits", [B, T, V], UnsafePointer(logits.pointer)))
        }
        if model.hasSentenceHead {
            tensors.append((model.config.family.sentenceLogits, [B, 2], UnsafePointer(acts.sopLogits)))
        }
        try writeSafetensors(tensors, metadata: ["checkpoint": ckpt], to: URL(fileURLWithPath: out))
        print(out)
    }
}

/// Reads a text matrix of integers: one row per non-empty line, separated by spaces or commas.
func readIdMatrix(_ path: String) throws -> [[Int]] {
    let text = String(decoding: try readFile(URL(fileURLWithPath: path)), as: UTF8.self)
    var rows: [[Int]] = []
    for (n, line) in textLines(text).enumerated() {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\r" })
        if fields.isEmpty { continue }
        var row: [Int] = []
        for f in fields {
            guard let v = Int(f) else {
                throw EmbryoError.format("\(path):\(n + 1)", "expected an integer, found '\(f)'")
            }
            row.append(v)
        }
        if let first = rows.first, first.count != row.count {
            throw EmbryoError.format(
                "\(path):\(n + 1)", "expected \(first.count) ids like the first line, found \(row.count)")
        }
        rows.append(row)
    }
    guard !rows.isEmpty else { throw EmbryoError.format(path, "no ids found") }
    return rows
}

// `embryo fill`: the MLM head's top-K guesses at every [MASK] of some texts, for one snapshot.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoText
import Foundation

enum FillCommand {
    static let spec = CommandSpec(
        name: "embryo fill",
        abstract: "Top-K predictions at each [MASK] of some texts, from one checkpoint.",
        discussion: """
            Prints one line per prediction: text_index, mask_index, rank, token, probability (tab-separated;
            indices from 0, rank from 1, softmax probability over the whole vocabulary with 6 decimals), as
            transformers' fill-mask pipeline on the same checkpoint directory. Example:
              embryo fill --checkpoint runs/tiny-world-seed1/checkpoints/step-001600 "[MASK] lives in Paris ."
            """,
        options: [checkpoint, topK, Shared.threads],
        arguments: [.init(name: "text", help: "Texts with one or more [MASK] tokens.", repeated: true)]
    )

    static let checkpoint = OptionSpec.required(
        "checkpoint", "dir", "Checkpoint directory (config.json, model.safetensors, vocab.txt).")
    static let topK = OptionSpec.option("top-k", "k", "Predictions per [MASK].", default: "5")

    static func run(_ a: ParsedArguments) throws {
        try Shared.configureThreads(a)
        let dir = URL(fileURLWithPath: a.string(Self.checkpoint)!)
        let texts = a.arguments
        guard !texts.isEmpty else {
            throw EmbryoError.usage("give at least one TEXT with a [MASK], e.g. \"Alice lives in [MASK] .\"")
        }
        let model = try Albert.load(from: dir)
        let tok = try WordPieceTokenizer.load(vocab: dir.appendingPathComponent("vocab.txt"))
        let k = try a.int(Self.topK, min: 1)!
        let lines = try FillMask.predict(model: model, tokenizer: tok, texts: texts, topK: k).map(\.line)
        print(lines.joined(separator: "\n"))
    }
}

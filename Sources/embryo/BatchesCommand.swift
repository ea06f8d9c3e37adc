// `embryo batches`: the exact training batches of a run's steps, replayed from (seed, step), written as
// safetensors with transformers' argument names, so any outside tool can see or retrain on what the
// model saw (Scripts/curve-vs-pytorch.py trains transformers' AlbertForPreTraining on them).

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum BatchesCommand {
    static let spec = CommandSpec(
        name: "embryo batches",
        abstract: "Write the exact training batches of a run's steps as safetensors.",
        discussion: """
            Step s of the file is the batch that turned checkpoint step-(s-1) into step-s. Tensors are
            int64, named as AlbertForPreTraining.forward's arguments: input_ids, token_type_ids,
            attention_mask and labels (-100 where there is no MLM target) of shape [steps, batch, seq],
            and sentence_order_label (0 = in order, 1 = swapped; next_sentence_label for a BERT run) of shape
            [steps, batch].
            """,
        options: [runDir, range, out, decode]
    )

    static let runDir = OptionSpec.required("run", "dir", "Run directory (holds run.json).")
    static let range = OptionSpec.required(
        "range", "A-B", "Steps to write: one step N, or a range A-B (1-based, inclusive)."
    ).formerly("steps")
    static let out = OptionSpec.option("out", "file", "Output .safetensors file.", default: nil)
    static let decode = OptionSpec.flag(
        "decode",
        "Print the batches as text instead, one example per line: [MASK:word], [random:word] and "
            + "[kept:word] at the targets.")

    static func run(_ a: ParsedArguments) throws {
        let text = a.string(range)!
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard (parts.count == 1 || parts.count == 2), let lo = parts[0], let hi = parts.last!, lo >= 1, hi >= lo
        else {
            throw EmbryoError.usage(
                "The value '\(text)' is invalid for '--\(a.spelling(range.name)) <A-B>': expected N or A-B with 1 <= A <= B"
            )
        }
        let run = Run(URL(fileURLWithPath: a.string(runDir)!))
        if a.flag(decode) {
            if a.given(out) { throw EmbryoError.usage("--decode prints the batches: no --out") }
            for line in try run.decodedBatches(steps: lo...hi) { print(line) }
            return
        }
        guard let path = a.string(Self.out) else { throw EmbryoError.usage("give --out FILE, or --decode") }
        let out = URL(fileURLWithPath: path)
        try run.writeBatches(steps: lo...hi, to: out)
        log("batches: steps \(lo)-\(hi) of \(run.root.path) -> \(out.path)")
        print(out.path)
    }
}

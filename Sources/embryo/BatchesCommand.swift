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
        "range", "list", "Steps to write: N, a range A-B (1-based, inclusive), or a comma-separated list of both."
    ).formerly("steps")
    static let out = OptionSpec.option("out", "file", "Output .safetensors file.", default: nil)
    static let decode = OptionSpec.flag(
        "decode",
        "Print the batches as text instead, one example per line: [MASK:word], [random:word] and "
            + "[kept:word] at the targets.")

    static func run(_ a: ParsedArguments) throws {
        let ranges = try parseSteps(a.string(range)!, option: a.spelling(range.name))
        let run = Run(URL(fileURLWithPath: a.string(runDir)!))
        // checked against the run before any range is expanded
        let last = try run.manifest().config.steps
        if let bad = ranges.first(where: { $0.upperBound > last }) {
            throw EmbryoError.usage("step \(bad.upperBound) is outside the run's steps 1-\(last)")
        }
        let steps = ranges.flatMap { Array($0) }
        if a.flag(decode) {
            if a.given(out) { throw EmbryoError.usage("--decode prints the batches: no --out") }
            for line in try run.decodedBatches(steps: steps) { print(line) }
            return
        }
        guard let path = a.string(Self.out) else { throw EmbryoError.usage("give --out FILE, or --decode") }
        let out = URL(fileURLWithPath: path)
        try run.writeBatches(steps: steps, to: out)
        log("batches: \(steps.count) steps of \(run.root.path) -> \(out.path)")
        print(out.path)
    }

    /// "N", "A-B" or a comma-separated list of them, in order.
    static func parseSteps(_ text: String, option: String) throws -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "-", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard parts.count == 1 || parts.count == 2, let lo = parts[0], let hi = parts.last!, lo >= 1, hi >= lo
            else {
                throw EmbryoError.usage(
                    "The value '\(text)' is invalid for '--\(option) <list>': expected N, A-B with 1 <= A <= B, or a "
                        + "comma-separated list of them")
            }
            out.append(lo...hi)
        }
        return out
    }
}

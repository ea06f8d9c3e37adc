// `embryo findings`: the run's figures against the lab's targets for the default run, as a Markdown
// table read from the run's own files (docs/results.md quotes this command's output).

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum FindingsCommand {
    static let spec = CommandSpec(
        name: "embryo findings",
        abstract: "Print a run's findings against the lab's targets as a Markdown table.",
        discussion: """
            Reads train_log.jsonl (held-out evaluation), probes/metrics.jsonl (embryo probe),
            finetune/<task>/step-N/results.json (embryo finetune --run) and
            reinit/<name>-progressive/results.jsonl (embryo reinit --scheme progressive) from the run
            directory. A figure whose files are missing is reported as not measured. Exits 0 whether or
            not the targets are met.
            """,
        options: [runOption]
    )

    static let runOption = OptionSpec.required("run", "dir", "Run directory (holds run.json and train_log.jsonl).")

    static func run(_ a: ParsedArguments) throws {
        let run = try Run.open(a.string(Self.runOption)!)
        guard run.hasManifest else {
            throw EmbryoError.usage("\(run.root.path) is not a run directory: it has no run.json")
        }
        let fs = try Findings.evaluate(run: run)
        let met = fs.filter { $0.met == true }.count, measured = fs.filter { $0.met != nil }.count
        log("findings: \(met) of \(measured) measured targets met (\(fs.count - measured) not measured)")
        print(Findings.markdown(fs), terminator: "")
    }
}

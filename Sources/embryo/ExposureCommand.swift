// `embryo exposure`: the exposure ledger of a run, recomputed from (seed, step) without the model.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum ExposureCommand {
    static let spec = CommandSpec(
        name: "embryo exposure",
        abstract:
            "Count what a run's model had seen by each snapshot: tokens, masked targets and, on the world, facts.",
        discussion: """
            Replays the run's batches from (seed, step), with no model, and counts per snapshot (cumulatively):
            every vocabulary token's occurrences in the examples and as a masked target; on the built-in world,
            every fact's statements in the examples (object whole) and how often its object was masked. A
            branch counts its parent's batches up to the branching step. Writes exposure.jsonl and
            exposure-tokens.safetensors (int64 [snapshots, vocab]: seen, targets) into --out, refreshes the
            run's report when it has been probed (knowledge against exposures, acquisition, forgetting), and
            prints the path of exposure.jsonl.
            """,
        options: [Shared.run, out]
    )

    static let out = OptionSpec.option(
        "out", "dir", "Where the ledger goes (default: the run's exposure/).", default: nil)

    static func run(_ a: ParsedArguments) throws {
        let run = try Run.open(a.string(Shared.run)!)
        guard run.hasManifest else {
            throw EmbryoError.runtime(
                "\(run.root.path) has no run.json: the ledger replays a run made by embryo pretrain")
        }
        let t0 = Date()
        let ledger = try ExposureLedger.compute(run, warn: { log("exposure: warning: \($0)") })
        let dir = a.string(out).map { URL(fileURLWithPath: $0) } ?? run.exposure
        try ledger.write(to: dir, run: run)
        let last = ledger.steps.count - 1
        log(
            "exposure: \(ledger.steps.count) snapshots up to step \(ledger.steps[last]) in "
                + "\(formatDuration(Date().timeIntervalSince(t0))): \(ledger.tokenSeen[last].reduce(0, +)) tokens seen, "
                + "\(ledger.tokenTargets[last].reduce(0, +)) targets"
                + (ledger.facts.isEmpty
                    ? ""
                    : ", \(ledger.facts.count) facts, \(ledger.factSeen.reduce(0) { $0 + $1[last] }) statements seen"))
        if FileManager.default.fileExists(atPath: run.probes.appendingPathComponent("metrics.jsonl").path) {
            try RunReport.write(folder: run.probes, run: run, fallback: RunReport.fallbackInfo(run))
        }
        print(dir.appendingPathComponent("exposure.jsonl").path)
    }
}

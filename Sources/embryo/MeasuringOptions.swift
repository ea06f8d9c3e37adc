// --shard, --watch and --poll: how a command that measures every snapshot of a run (probe, finetune --run,
// activations) covers them. Parsed and checked here once; MeasurementRunner does the work.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum Measuring {
    /// `--shard i/n`, with the command's own account of what a shard writes.
    static func shard(_ help: String) -> OptionSpec { OptionSpec.option("shard", "i/n", help, default: nil) }

    static let watch = OptionSpec.flag(
        "watch", "Keep measuring new snapshots as a running pretrain writes them (until it finishes or Ctrl-C).")
    static let poll = OptionSpec.option(
        "poll", "seconds", "With --watch: how often to look for new snapshots.", default: "20")

    struct Plan {
        var shard: Shard?
        var watch: Bool
        var poll: Double
    }

    static func plan(_ a: ParsedArguments) throws -> Plan {
        let shard = try a.string("shard").map { try Shard.parse($0) }
        let watching = a.flag(watch)
        if shard != nil && watching { throw EmbryoError.usage("--shard measures a fixed share: no --watch") }
        if a.given(poll) && !watching { throw EmbryoError.usage("--poll goes with --watch") }
        let poll = try a.double(Self.poll) ?? 20
        guard poll >= 0.1 && poll <= 86_400 else {
            throw EmbryoError.usage(
                "The value '\(a.string(Self.poll)!)' is invalid for '--poll <seconds>': expected 0.1 to 86400")
        }
        if watching { installStopHandlers() }
        return Plan(shard: shard, watch: watching, poll: poll)
    }
}

// The downstream curve of a run: after `finetune --run`, the task's metrics against the pretraining step
// go into the run's probes/downstream.jsonl (other tasks' curves kept) and the run's page is rewritten.

import EmbryoCore
import EmbryoRun
import Foundation

public enum Downstream {
    /// The run's downstream.jsonl with this task's curve replaced by `metrics`, and its report rewritten.
    public static func write(_ metrics: [ProbeMetric], task: String, run: Run) throws {
        let probes = run.probes
        try FileManager.default.createDirectory(at: probes, withIntermediateDirectories: true)
        let file = probes.appendingPathComponent("downstream.jsonl")
        var kept: [ProbeMetric] = []
        if FileManager.default.fileExists(atPath: file.path) {
            kept = try MetricTables.read(file).filter { !$0.key.hasPrefix("\(task)/") }
        }
        try writeAtomically(Data(MetricTables.jsonl(kept + metrics).utf8), to: file)
        try RunReport.write(folder: probes, run: run, fallback: RunReport.fallbackInfo(run))
    }
}

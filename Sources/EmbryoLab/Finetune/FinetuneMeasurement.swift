// Fine-tuning every snapshot as a measurement: each snapshot fine-tuned with K seeds (FinetuneJob) into
// finetune/<task>/step-N/, its downstream metrics (seed mean and deviation of every split's metrics)
// cached by the MeasurementRunner like any probe's, then downstream.jsonl and the report's section.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class FinetuneMeasurement: SnapshotMeasurement {
    public let name = "finetune"
    public let needs: MeasurementNeeds = [.task]
    public let settings: String
    let task: TaskData, taskPath: String, base: URL
    let finetune: FinetuneSettings, seeds: Int, saveModels: Bool
    /// A hash of the task as read (every example of every split).
    let taskKey: String
    /// Called with each snapshot's outcomes, measured now or read from the cache, in step order.
    public var onResult: (Int, [FinetuneOutcome]) -> Void = { _, _ in }

    /// Fine-tunes into `base`/step-N (by default the run's finetune/<task>/).
    public init(
        task: TaskData, taskPath: String, settings: FinetuneSettings, seeds: Int, saveModels: Bool, base: URL
    ) {
        self.task = task
        self.taskPath = taskPath
        self.finetune = settings
        self.seeds = seeds
        self.saveModels = saveModels
        self.base = base
        taskKey = FinetuneJob.fingerprint(task)
        self.settings = [
            "finetune v2", "task \(taskKey)", String(describing: settings), "seeds \(seeds)",
            "save models \(saveModels)",
        ].joined(separator: "|")
    }

    /// Where the runner keeps its cache entries for this task.
    public var cache: URL { base.appendingPathComponent("cache") }

    func folder(_ s: LoadedSnapshot) -> URL { base.appendingPathComponent(s.dir.lastPathComponent) }

    /// The key results.json records: the snapshot's weights, the task as read, the settings, the seeds.
    func key(_ s: LoadedSnapshot) throws -> String {
        try FinetuneJob.cacheKey(
            snapshot: s.snapshot, task: taskKey, settings: finetune, seeds: seeds, saveModels: saveModels)
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let outcomes = try FinetuneJob.run(
            checkpoint: s.dir, task: task, taskPath: taskPath, settings: finetune, seeds: seeds, out: folder(s),
            saveModels: saveModels, cacheKey: try key(s), log: { _ in })
        return try Measured(
            metrics: FinetuneJob.downstreamMetrics(task: task, step: s.step, outcomes: outcomes), encoding: outcomes)
    }

    /// The step folder's results.json must be this snapshot's (another run's weights may have left one).
    public func isUsable(_ result: Measured, for s: LoadedSnapshot) -> Bool {
        guard let k = try? key(s), result.decoded([FinetuneOutcome].self) != nil else { return false }
        return FinetuneJob.cached(out: folder(s), key: k) != nil
    }

    /// results.json written before fine-tuning was a measurement: reused when its key matches.
    public func legacyResult(for s: LoadedSnapshot) -> Measured? {
        guard let k = try? key(s), let outcomes = FinetuneJob.cached(out: folder(s), key: k) else { return nil }
        return try? Measured(
            metrics: FinetuneJob.downstreamMetrics(task: task, step: s.step, outcomes: outcomes), encoding: outcomes)
    }

    public func collect(_ result: Measured, at s: LoadedSnapshot) {
        onResult(s.step, result.decoded([FinetuneOutcome].self) ?? [])
    }
}

// When a run leaves the word-frequency plateau, read from its held-out evaluations: the escape step is
// the first evaluation whose held-out MLM loss is at least `margin` nats below the held-out unigram
// cross-entropy (the loss of predicting every masked word by its training frequency), and the steepest
// descent is the evaluation ending the interval of fastest held-out loss decrease per step.

import EmbryoCore
import EmbryoRun
import Foundation

public struct EscapeSummary: Sendable, Equatable {
    /// The held-out unigram cross-entropy, nats.
    public var unigram: Double
    /// The first evaluation at least `margin` below `unigram`; nil when no evaluation is.
    public var escapeStep: Int?
    /// The end of the evaluation interval with the largest loss decrease per step; nil when the loss never falls.
    public var steepestDescentStep: Int?
    /// The last evaluation's step (an escape is "none by" this step).
    public var lastStep: Int

    /// How far below the unigram cross-entropy the held-out loss must be, nats.
    public static let margin = 1.0

    /// The escape of a curve of held-out evaluations (any order; the steps must differ).
    public static func analyse(_ evals: [(step: Int, loss: Double)], unigram: Double) -> EscapeSummary {
        let e = evals.sorted { $0.step < $1.step }
        let escape = e.first { $0.loss <= unigram - margin }?.step
        return EscapeSummary(
            unigram: unigram, escapeStep: escape,
            steepestDescentStep: Trajectory.steepest(e.map { ($0.step, $0.loss) }, rising: false),
            lastStep: e.last?.step ?? 0)
    }

    /// The escape of a run made by `embryo pretrain`, from train_log.jsonl; the unigram cross-entropy is the
    /// one logged with the evaluations, or computed from the run's data when its log predates it. Nil when
    /// the run has no evaluation, or no logged unigram loss and no token cache to compute it from.
    public static func of(_ run: Run, upTo last: Int? = nil) throws -> EscapeSummary? {
        guard FileManager.default.fileExists(atPath: run.log.path) else { return nil }
        var evals: [(step: Int, loss: Double)] = []
        var unigram: Double? = nil
        for o in jsonObjectLines(try readFile(run.log)) {
            guard let step = o["step"] as? Int, let loss = o["eval_mlm_loss"] as? Double, step <= (last ?? .max)
            else { continue }
            evals.append((step, loss))
            if let u = o["eval_unigram_loss"] as? Double { unigram = u }
        }
        guard !evals.isEmpty else { return nil }
        if unigram == nil, run.hasManifest {
            let m = try run.manifest()
            if let maker = try run.exampleMaker(m) {
                unigram = maker.heldOutUnigramLoss(batches: m.config.evalBatches, batchSize: m.config.batchSize)
            }
        }
        guard let u = unigram else { return nil }
        return analyse(evals, unigram: u)
    }

    /// The run-level metrics of the loss probe: loss/unigram, loss/escape_step (only when the run escaped)
    /// and loss/steepest_descent_step, at step `at` (the last snapshot's).
    public func metrics(at step: Int) -> [ProbeMetric] {
        var out = [ProbeMetric(step: step, probe: "loss", key: "unigram", value: unigram, count: 1)]
        if let s = escapeStep {
            out.append(ProbeMetric(step: step, probe: "loss", key: "escape_step", value: Double(s), count: 1))
        }
        if let s = steepestDescentStep {
            out.append(ProbeMetric(step: step, probe: "loss", key: "steepest_descent_step", value: Double(s), count: 1))
        }
        return out
    }

    /// "2400", or "none by 3200".
    public var escapeText: String { escapeStep.map(String.init) ?? "none by \(lastStep)" }
}

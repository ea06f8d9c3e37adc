// `llc`: the local learning coefficient of every snapshot (LlcEstimator) on the MLM+SOP loss of the run's
// own training batches. Minibatch k of a chain is the first --llc-batch rows of the training batch of a
// step drawn from (--llc-seed, k), so `embryo batches` writes the very minibatches an outside estimator
// needs (Scripts/check-llc.py). The sampler moves a copy of the snapshot's weights, never the snapshot.

import EmbryoCore
import EmbryoRun
import Foundation

/// The pretraining loss of a model on minibatches of a run's training batches. The run's data is read once;
/// `load` puts any snapshot's weights into the target's own copy of the model.
public final class RunBatchTarget: LlcTarget {
    public let model: Albert
    let run: Run
    let shards: DataParallel
    let batch: AlbertBatch
    let maker: ExampleMaker
    let runSteps: Int
    let seed: UInt64

    /// A model of `config` on `rows`-row minibatches of `run`'s training batches (at most the run's batch
    /// size: a minibatch is rows the run trained on).
    public init(run: Run, config: AlbertConfig, rows: Int, seed: UInt64) throws {
        let m = try run.manifest()
        guard rows <= m.config.batchSize else {
            throw EmbryoError.usage(
                "--llc-batch \(rows) is larger than the run's batch of \(m.config.batchSize) sequences: a minibatch is "
                    + "the first rows of a training batch")
        }
        self.run = run
        maker = try run.requireExampleMaker(m)
        model = try Albert(config: config)
        runSteps = m.config.steps
        self.seed = seed
        batch = AlbertBatch(B: rows, T: m.config.seqLen)
        shards = DataParallel(
            model: model, B: rows, T: m.config.seqLen, predictionsPerSequence: maker.maxPredictions)
    }

    /// Whether `source`'s weights fit this target's model.
    public func fits(_ source: Albert) -> Bool { source.params.count == model.params.count }

    /// Copies `source`'s weights (of the same layout) into the target's model.
    public func load(_ source: Albert) {
        precondition(fits(source), "a snapshot of another size")
        model.params.pointer.update(from: source.params.pointer, count: source.params.count)
    }

    public var parameterCount: Int { model.params.count }
    public var parameters: UnsafeMutablePointer<Float> { model.params.pointer }
    public var gradient: UnsafeMutablePointer<Float> { model.grads.pointer }

    /// The training step whose batch gives minibatch `index`: 1...steps, drawn from (seed, index).
    public func trainingStep(of index: Int) -> Int {
        var rng = Rng(seed: seed &* 0xA076_1D64_78BD_642F ^ UInt64(index))
        return 1 + rng.below(runSteps)
    }

    public func loss(minibatch index: Int, gradient: Bool) throws -> Double {
        maker.fill(batch, step: trainingStep(of: index))
        return Double(try shards.run(batch, gradients: gradient).loss)
    }

    /// The loss above which a chain has diverged: the run's step-0 snapshot's mean loss on the first four
    /// minibatches (without a step-0 snapshot, the loss of uniform predictions, ln V + ln 2). It loads the
    /// step-0 weights: load the snapshot to measure afterwards.
    public func referenceLoss() throws -> Double {
        guard let first = (try? run.snapshots())?.first(where: { $0.step == 0 }) else {
            return log(Double(model.config.vocabSize)) + log(2)
        }
        let zero = try first.load().0
        guard fits(zero) else { return log(Double(model.config.vocabSize)) + log(2) }
        load(zero)
        return try (0..<4).reduce(0) { $0 + (try loss(minibatch: $1, gradient: false)) } / 4
    }
}

public final class LlcMeasurement: ProbeMeasurement {
    public static let probeName = "llc"
    public static let help = [
        "the local learning coefficient by SGLD around each snapshot on the run's training batches "
            + "(--llc-* settings)"
    ]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead]
    let inputs: ProbeInputs
    public let settings: String
    var results: [Int: LlcEstimate] = [:]
    /// The model copy and the run's data the sampler works on, made for the first snapshot measured, and
    /// the divergence reference found with it.
    private var target: (sampler: RunBatchTarget, reference: Double)?

    public init(_ inputs: ProbeInputs) throws {
        self.inputs = inputs
        let m = try inputs.run.manifest()
        _ = try inputs.run.requireExampleMaker(m)
        let s = inputs.options.llc
        // the minibatches are a function of the run's data settings; the gradients' bits, of the thread count
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let recipe = String(decoding: (try? enc.encode(m.config)) ?? Data(), as: UTF8.self)
        settings =
            "llc v2|" + s.key + "|threads \(Threads.configuredCount)|data \(m.tokenCacheHash ?? m.tokenCache)"
            + "|recipe \(String(stableHash(recipe), radix: 16))"
    }

    /// The sampler's target holding the snapshot's weights, and the run's divergence reference.
    func prepared(_ s: LoadedSnapshot) throws -> (sampler: RunBatchTarget, reference: Double) {
        let model = try s.model()
        if target == nil || !target!.sampler.fits(model) {
            let o = inputs.options.llc
            let t = try RunBatchTarget(run: inputs.run, config: model.config, rows: o.batch, seed: o.seed)
            target = (t, try t.referenceLoss())
        }
        target!.sampler.load(model)
        return target!
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let (sampler, reference) = try prepared(s)
        let e = try LlcEstimator.estimate(sampler, settings: inputs.options.llc, divergenceLoss: reference)
        let kept = e.chains.filter { $0.divergedAt == nil }.count
        let row = { (key: String, value: Double, count: Int) in
            ProbeMetric(step: s.step, probe: "llc", key: key, value: value, count: count)
        }
        var metrics = [row("center_loss", e.centerLoss, e.chains.map(\.centerLoss.count).reduce(0, +))]
        if let m = e.mean { metrics.append(row("mean", m, kept)) }
        if let se = e.standardError { metrics.append(row("std_error", se, kept)) }
        if let r = e.rhat { metrics.append(row("rhat", r, kept)) }
        metrics.append(row("warnings", Double(e.warnings.count), e.chains.count))
        return try Measured(metrics: metrics, encoding: e)
    }

    public func collect(_ result: Measured, at s: LoadedSnapshot) {
        guard let e = result.decoded(LlcEstimate.self) else { return }
        results[s.step] = e
        for w in e.warnings { inputs.warnOnce("llc at step \(s.step): \(w)") }
    }

    public func isUsable(_ result: Measured, for snapshot: LoadedSnapshot) -> Bool {
        result.decoded(LlcEstimate.self) != nil
    }

    /// llc.jsonl: per snapshot the estimate, its diagnostics, each chain's estimate and loss trace.
    public func writeTables() throws {
        guard !results.isEmpty else { return }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var text = ""
        for (step, e) in results.sorted(by: { $0.key < $1.key }) {
            struct Row: Encodable {
                let step: Int
                let estimate: LlcEstimate
            }
            text += String(decoding: try enc.encode(Row(step: step, estimate: e)), as: UTF8.self) + "\n"
        }
        try writeAtomically(Data(text.utf8), to: inputs.out.appendingPathComponent("llc.jsonl"))
    }

    public static func reportSection(_ page: ReportPage) -> String { LlcReport.section(page) }
}

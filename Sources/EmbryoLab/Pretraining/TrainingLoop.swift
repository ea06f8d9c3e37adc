// The state of a pretraining run between its steps: the model, the optimizer and its schedule, the
// data-parallel shards, the last step's figures and the running counts. One step is: the batch of
// (seed, step), forward and backward over the shards, clipping at global norm 1, the optimizer update;
// then the log line, the held-out evaluation and the snapshot when their intervals say so.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

final class TrainingLoop {
    let trainer: Pretrainer
    let data: Pretrainer.PreparedData
    let model: Albert
    let optimizer: Optimizer
    let schedule: LinearSchedule
    let batch: AlbertBatch
    let shards: DataParallel
    let saveSteps: Set<Int>
    /// The corpus's gold arcs, with the syntactic-attention regulariser.
    let arcs: GoldArcs?
    var config: PretrainConfig { trainer.config }
    var run: Run { trainer.run }

    var tokensSeen = 0, elapsedBefore = 0.0, lastSaved = 0
    var last = PretrainingOutput(), lastLR: Float = 0, lastNorm: Float = 0
    var lastEval: (loss: Float, acc: Float, sop: Float)? = nil
    /// The held-out unigram cross-entropy (the loss of predicting by word frequency), computed once.
    lazy var unigramLoss = data.maker.heldOutUnigramLoss(batches: config.evalBatches, batchSize: config.batchSize)
    var windowTokens = 0, windowStart = Date()
    var throughput: [Double] = []
    let t0 = Date()

    init(_ trainer: Pretrainer, _ data: Pretrainer.PreparedData) throws {
        self.trainer = trainer
        self.data = data
        let config = trainer.config
        model = try Albert(config: data.modelConfig)
        optimizer = Optimizer(
            kind: config.optimizer, layout: model.layout, hyper: config.optimizerHyper)
        if let scale = config.embeddingLRScale, scale != 1 {
            for t in model.layout.tensors where t.part == .embeddings { optimizer.lrScale[t.name] = Float(scale) }
        }
        schedule = LinearSchedule(
            peak: Float(config.lr), warmup: config.warmup, total: config.steps, start: Float(config.warmupStart ?? 0),
            cooldown: config.cooldown)
        batch = AlbertBatch(B: config.batchSize, T: config.seqLen)
        shards = DataParallel(
            model: model, B: config.batchSize, T: config.seqLen, predictionsPerSequence: data.maker.maxPredictions)
        saveSteps = Set(config.checkpointSteps())
        arcs =
            config.sas == nil
            ? nil
            : try GoldArcs.of(
                run: trainer.run, config: config, sources: data.sources, tokenizer: data.tokenizer,
                corpus: data.corpus)
        if let a = arcs {
            trainer.say(
                "syntactic-attention regulariser: lambda \(config.sas!)\(config.sasUntil.map { " until step \($0)" } ?? ""), "
                    + "\(a.arcs) gold arcs\(a.unmatched > 0 ? ", \(a.unmatched) sentences without (their words differ from the tree's)" : "")"
            )
        }
    }

    /// Restores the saved state when resuming (returns its step), else initialises the weights (step 0).
    func restoreOrInitialize() throws -> Int {
        if trainer.resume, FileManager.default.fileExists(atPath: run.state.appendingPathComponent("state.json").path) {
            let st = try run.readState(into: optimizer)
            try model.loadWeights(
                SafetensorsFile(url: run.checkpoint(st.step).appendingPathComponent("model.safetensors")))
            tokensSeen = st.tokensSeen
            elapsedBefore = st.elapsed
            lastSaved = st.step
            try run.truncateLog(after: st.step)
            trainer.say("resuming at step \(st.step) of \(config.steps)")
            return st.step
        }
        if let b = trainer.branch {
            // the parent's snapshot and its optimizer state, as they were at the branching step
            let st = try b.parent.readState(into: optimizer, step: b.step)
            try model.loadWeights(
                SafetensorsFile(url: b.parent.checkpoint(b.step).appendingPathComponent("model.safetensors")))
            tokensSeen = st.tokensSeen
            lastSaved = b.step
            try run.copyCheckpoint(b.parent.checkpoint(b.step), step: b.step)
            try run.writeState(
                step: b.step, tokensSeen: tokensSeen, optimizer: optimizer, elapsed: 0,
                keepAll: config.keepState == .all)
            trainer.say("branching from step \(b.step) of \(b.parent.root.path)")
            return b.step
        }
        model.initializeWeights(seed: UInt64(config.effectiveInitSeed))
        if config.positionInit == .sinusoidal { model.initializeSinusoidalPositions() }
        if config.outputBias == .unigram { model.setOutputBias(logPrior: data.maker.trainingLogUnigram()) }
        return 0
    }

    func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(t0) }

    /// The snapshot of `step` with its trainer_state.json, and the optimizer state for resuming.
    func save(_ step: Int, interrupted: Bool = false) throws {
        var st: [String: Any] = [
            "step": step, "tokens_seen": tokensSeen, "max_steps": config.steps,
            "learning_rate": Double(lastLR), "embryo_version": "0.1.0",
        ]
        if step > 0 {
            st["loss"] = Double(last.loss)
            st["mlm_loss"] = Double(last.mlmLoss)
            st["sop_loss"] = Double(last.sopLoss)
            st["mlm_accuracy"] = Double(last.mlmAccuracy)
            st["grad_norm"] = Double(lastNorm)
        }
        if let e = lastEval {
            st["eval"] = ["mlm_loss": Double(e.loss), "mlm_accuracy": Double(e.acc), "sop_accuracy": Double(e.sop)]
        }
        if interrupted { st["interrupted"] = true }
        try run.writeCheckpoint(step: step, model: model, tokenizer: data.tokenizer, trainerState: st)
        try run.writeState(
            step: step, tokensSeen: tokensSeen, optimizer: optimizer, elapsed: elapsed(),
            keepAll: config.keepState == .all)
        lastSaved = step
    }

    /// One optimizer step on the batch of `step`.
    func step(_ step: Int) throws {
        let stepStart = Date()
        let B = config.batchSize, T = config.seqLen
        data.maker.fill(batch, step: step, arcs: arcs)
        trainer.onBatch?(step, batch)
        func requireFinite(_ x: Float, _ what: String) throws {
            guard !x.isFinite else { return }
            throw EmbryoError.runtime(
                "the \(what) is not finite at step \(step) (learning rate \(config.lr) too high?); the last good "
                    + "snapshot, step \(lastSaved), and its state are kept in \(run.root.path)")
        }
        model.attentionNudge = config.attentionNudge(at: step)
        shards.syntacticAttentionLambda = arcs == nil ? nil : config.sasLambda(at: step)
        last = try shards.run(batch)
        model.attentionNudge = 0
        try requireFinite(last.loss, "loss")
        lastNorm = clipGradients(model.grads, maxNorm: Float(config.clipNorm ?? 1))
        try requireFinite(lastNorm, "gradient")
        lastLR = schedule.lr(step: step)
        optimizer.step(params: model.params, grads: model.grads, lr: lastLR)
        var n = 0
        for i in 0..<(B * T) where batch.attentionMask[i] != 0 { n += 1 }
        tokensSeen += n
        windowTokens += B * T
        throughput.append(Double(B * T) / Date().timeIntervalSince(stepStart))
    }

    /// The log line and the held-out evaluation of `step`, when their intervals (or the last step) say so.
    func record(_ step: Int, log: LogWriter) throws {
        if step % config.logEvery == 0 || step == config.steps {
            let secs = Date().timeIntervalSince(windowStart)
            try log.write(
                jsonLine(
                    [
                        ("step", step), ("loss", last.loss), ("mlm_loss", last.mlmLoss), ("sop_loss", last.sopLoss),
                        ("mlm_accuracy", last.mlmAccuracy), ("sop_accuracy", last.sopAccuracy), ("lr", lastLR),
                        ("grad_norm", lastNorm), ("tokens_per_s", Double(windowTokens) / max(secs, 1e-9)),
                        ("tokens_seen", tokensSeen), ("elapsed_s", elapsed()),
                    ]
                        + (arcs == nil
                            ? []
                            : [("sas_term", last.syntacticAttention.sum), ("sas_arcs", last.syntacticAttention.arcs)])))
            windowTokens = 0
            windowStart = Date()
        }
        if step % config.evalEvery == 0 || step == config.steps {
            let e = try HeldOutText.evaluate(model, data.maker, shards, batches: config.evalBatches)
            lastEval = (e.loss, e.acc, e.sop)
            try log.write(
                jsonLine([
                    ("step", step), ("eval_mlm_loss", e.loss), ("eval_mlm_accuracy", e.acc),
                    ("eval_sop_accuracy", e.sop), ("eval_unigram_loss", unigramLoss), ("elapsed_s", elapsed()),
                ]))
        }
    }

    func report(_ step: Int) -> StepReport {
        StepReport(
            step: step, steps: config.steps, loss: last.loss, mlmAccuracy: last.mlmAccuracy, lr: lastLR,
            tokensPerSecond: throughput.last ?? 0)
    }

    func result(_ step: Int, interrupted: Bool) -> PretrainResult {
        PretrainResult(
            lastStep: step, interrupted: interrupted, evalMLMAccuracy: lastEval?.acc, evalMLMLoss: lastEval?.loss,
            trainTokensPerSecond: medianOf(throughput),
            checkpoints: config.checkpointSteps().filter { !interrupted || $0 <= step })
    }
}

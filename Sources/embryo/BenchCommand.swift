// `embryo bench`: times full training steps (forward, backward, clipping, optimizer update) and
// inference forwards with full MLM logits on random tokens, the shapes Scripts/bench-vs-pytorch gives
// PyTorch. Prints one JSON line on stdout.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation

enum BenchCommand {
    static let spec = CommandSpec(
        name: "embryo bench",
        abstract: "Time training steps and inference on random tokens.",
        discussion: """
            Random token ids (vocabulary 8192 for tiny, 16384 for small, 30000 for base), 15% of positions
            labelled for MLM, SOP labels at random. A training step is zero-grad, forward, backward, clipping
            to global norm 1.0 and an optimizer update; inference is a forward pass with MLM logits at every
            position. Medians over the timed steps are reported as one JSON line.
            --profile also books the timed steps' wall time to kernel classes (each GEMM family, attention
            products and softmax, LayerNorm, GELU, embedding, MLM head, optimizer, clipping) and prints a
            table per pass on stderr: milliseconds per step, share of the step, GFLOP/s, and the time
            outside any kernel (with data-parallel shards, this includes waiting for the slowest shard).
            The JSON line then carries the same figures under "profile".
            --head classifier times fine-tuning's step instead, as 'embryo finetune' runs it: the encoder,
            pooler and a 2-label classifier forward and backward, clipping and AdamW; its inference is the
            evaluation pass (classifier logits). Its shape is fine-tuning's: 32 sequences of 32 tokens.
            --sgld times the llc probe's steps instead of optimizer steps: forward, backward and one SGLD
            update with its noise (no clipping), so that their throughput can be set beside training's.
            """,
        options: [config, Shared.threads, steps, warmup, batchSize, seqLen, head, optimizer, sgld, seed, profile]
    )

    static let config = OptionSpec.option(
        "config", "preset", "Model preset: tiny, small, base, or bert-tiny, bert-small, bert-base.", default: "tiny")
    static let steps = OptionSpec.option("steps", "n", "Timed steps for training and for inference.", default: "20")
    static let warmup = OptionSpec.option("warmup", "n", "Untimed steps before timing.", default: "3")
    static let batchSize = OptionSpec.option(
        "batch-size", "n", "Sequences per batch (32 for tiny and small, 8 for base).", default: nil)
    static let seqLen = OptionSpec.option(
        "seq-len", "n", "Tokens per sequence (128; 32 with --head classifier).", default: nil)
    static let head = OptionSpec.option(
        "head", "name", "mlm (pretraining's step) or classifier (fine-tuning's).", default: "mlm")
    static let optimizer = OptionSpec.option(
        "optimizer", "name", "lamb or adamw (lamb; adamw with --head classifier).", default: nil)
    static let seed = OptionSpec.option("seed", "n", "Seed for weights and tokens.", default: "0")
    static let sgld = OptionSpec.flag("sgld", "Time SGLD steps (the llc probe's) instead of optimizer steps.")
    static let profile = OptionSpec.flag("profile", "Time each kernel class and print where a step's time goes.")

    static let vocab = ["tiny": 8192, "small": 16384, "base": 30000]

    static func run(_ a: ParsedArguments) throws {
        let name = try a.choice(Self.config, AlbertConfig.presetNames)!
        let threads = try Shared.threadCount(a)
        let steps = try a.int(Self.steps, min: 1)!
        let warmup = try a.int(Self.warmup, min: 0)!
        let size = name.hasPrefix("bert-") ? String(name.dropFirst(5)) : name  // bert-X has X's sizes
        let classifier = try a.choice(Self.head, ["mlm", "classifier"])! == "classifier"
        let B = try a.int(Self.batchSize, min: 1) ?? (size == "base" && !classifier ? 8 : 32)
        let T = try a.int(Self.seqLen, min: 2) ?? (classifier ? 32 : 128)
        let optName = try a.choice(Self.optimizer, OptimizerKind.allCases.map(\.rawValue))
        let opt = OptimizerKind(rawValue: optName ?? (classifier ? "adamw" : "lamb"))!
        let seed = UInt64(try a.int(Self.seed, min: 0)!)
        let profile = a.flag(Self.profile)
        guard T <= 512 else {
            throw EmbryoError.usage("'--seq-len' must be at most 512 (max_position_embeddings)")
        }
        Threads.configure(threads)

        let config = AlbertConfig.preset(name, vocabSize: vocab[size]!)!
        let model = try Albert(config: config)
        model.initializeWeights(seed: seed)
        let perRow = Int((0.15 * Double(T)).rounded())
        let batches = (0..<4).map {
            makeBatch(B: B, T: T, V: config.vocabSize, perRow: perRow, seed: seed &+ UInt64($0) &+ 1)
        }
        let shards = DataParallel(model: model, B: B, T: T, predictionsPerSequence: perRow)
        let optimizer = Optimizer(kind: opt, layout: model.layout)
        log(
            "bench \(name): \(model.parameterCount) parameters, batch \(B)x\(T), \(threads) threads, OpenBLAS \(BlasRuntime.coreName)"
        )

        let timing = Timing(
            name: name, warmup: warmup, steps: steps, profile: profile, batches: batches, sgld: a.flag(Self.sgld))
        if timing.sgld && classifier {
            throw EmbryoError.usage("--sgld times pretraining's loss: not with --head classifier")
        }
        let (trainTimes, losses) =
            classifier
            ? try timing.classifierTraining(shards, optimizer: optimizer)
            : try timing.training(shards, optimizer: optimizer)
        let ceilingBefore = profile ? sgemmCeiling(threads: threads) : 0
        let trainProfile = Profiler.snapshot()
        Profiler.reset()
        let inferTimes = try classifier ? timing.classifierInference(shards) : timing.inference(shards)
        let inferProfile = Profiler.snapshot()
        let tokens = Double(B * T)
        let train = median(trainTimes), infer = median(inferTimes)
        let f =
            classifier
            ? classifierFlopsPerToken(config, T: T)
            : flopsPerToken(config, T: T, labelledFraction: Double(perRow) / Double(T))
        let result: [(String, Any)] = [
            ("config", name), ("head", classifier ? "classifier" : "mlm"), ("threads", threads), ("batch", B),
            ("seq", T), ("optimizer", timing.sgld ? "sgld" : opt.rawValue),
            ("params", model.parameterCount), ("blas_core", BlasRuntime.coreName),
            ("train_ms_per_step", round3(train * 1000)), ("train_tokens_per_s", round1(tokens / train)),
            ("infer_ms_per_batch", round3(infer * 1000)), ("infer_tokens_per_s", round1(tokens / infer)),
            ("train_flops_per_token", f.train), ("infer_flops_per_token", f.infer),
            ("train_gflops", round1(f.train * tokens / train / 1e9)),
            ("infer_gflops", round1(f.infer * tokens / infer / 1e9)),
            ("peak_rss_mib", round1(ProcessStats.peakRSSMiB)),
            ("loss_first_last", [round3(Double(losses.first!)), round3(Double(losses.last!))]),
            ("train_step_ms", trainTimes.map { round3($0 * 1000) }),
        ]
        let extra =
            profile
            ? profileOutput(
                threads: threads, ceilingBefore: ceilingBefore, steps: steps, train: (trainProfile, trainTimes),
                infer: (inferProfile, inferTimes)) : []
        print(jsonLine(result + extra))
    }

    /// The timed loops: `warmup` untimed then `steps` timed passes over the batches in turn.
    struct Timing {
        let name: String, warmup: Int, steps: Int, profile: Bool
        let batches: [AlbertBatch]
        let sgld: Bool

        /// Training steps (forward, backward, clipping, update): the timed steps' seconds and every loss.
        func training(_ shards: DataParallel, optimizer: Optimizer) throws -> ([Double], [Float]) {
            let model = shards.model, tokens = Double(shards.B * shards.T)
            var times: [Double] = [], losses: [Float] = []
            let center: FloatBuffer? = sgld ? FloatBuffer(count: model.params.count) : nil
            center?.pointer.update(from: model.params.pointer, count: model.params.count)
            let sgldSettings = LlcSettings().sgld  // the llc probe's default step
            let progress = Progress("bench \(name) \(sgld ? "SGLD" : "train") step", total: warmup + steps)
            for i in 0..<(warmup + steps) {
                Profiler.isOn = profile && i >= warmup
                let t0 = DispatchTime.now().uptimeNanoseconds
                let out = try shards.run(batches[i % batches.count])
                Profiler.phase = .update
                if let center {
                    Profiler.span(.sgld) {
                        sgldStep(
                            params: model.params.pointer, grads: model.grads.pointer, center: center.pointer,
                            square: nil, count: model.params.count, settings: sgldSettings, seed: UInt64(i))
                    }
                } else {
                    Profiler.span(.clipping) { clipGradients(model.grads, maxNorm: 1) }
                    Profiler.span(.optimizer) { optimizer.step(params: model.params, grads: model.grads, lr: 1e-3) }
                }
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                losses.append(out.loss)
                if i >= warmup { times.append(dt) }
                progress.update(i + 1, String(format: "loss %.3f, %.0f tok/s", out.loss, tokens / dt))
            }
            Profiler.isOn = false
            return (times, losses)
        }

        /// Inference passes with MLM logits at every position: the timed passes' seconds.
        func inference(_ shards: DataParallel) throws -> [Double] {
            let logits = FloatBuffer(count: shards.B * shards.T * shards.model.config.vocabSize)
            return try timedPasses("inference batch", tokens: shards.B * shards.T) { i in
                try shards.predictionLogits(batches[i % batches.count], out: logits.pointer)
            }
        }

        /// `warmup` untimed then `steps` timed forward passes of `body(i)`: the timed passes' seconds.
        func timedPasses(_ label: String, tokens: Int, _ body: (Int) throws -> Void) rethrows -> [Double] {
            Profiler.phase = .forward
            var times: [Double] = []
            let progress = Progress("bench \(name) \(label)", total: warmup + steps)
            for i in 0..<(warmup + steps) {
                Profiler.isOn = profile && i >= warmup
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body(i)
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if i >= warmup { times.append(dt) }
                progress.update(i + 1, String(format: "%.0f tok/s", Double(tokens) / dt))
            }
            Profiler.isOn = false
            return times
        }
    }

    typealias ProfileSnapshot = [KernelClass: [ProfilePhase: (seconds: Double, flops: Double)]]

    /// With --profile: the sgemm ceiling and both tables on stderr, and their figures for the JSON line.
    static func profileOutput(
        threads: Int, ceilingBefore: Double, steps: Int, train: (ProfileSnapshot, [Double]),
        infer: (ProfileSnapshot, [Double])
    ) -> [(String, Any)] {
        let ceiling = max(ceilingBefore, sgemmCeiling(threads: threads))
        log(
            String(
                format: "sgemm ceiling: %.1f GFLOP/s (1024x1024x1024 through the engine's gemm, %d threads; "
                    + "the best of 16 products in two rounds)", ceiling, threads))
        let trainTable = ProfileTable(
            title: "training step", snapshot: train.0, steps: steps, wall: train.1.reduce(0, +), ceiling: ceiling)
        let inferTable = ProfileTable(
            title: "inference batch", snapshot: infer.0, steps: steps, wall: infer.1.reduce(0, +), ceiling: ceiling)
        log(trainTable.text(phases: ProfilePhase.allCases))
        log(inferTable.text(phases: [.forward]))
        return [
            (
                "profile",
                [("sgemm_ceiling_gflops", round1(ceiling)), ("train", trainTable.json), ("infer", inferTable.json)]
                    as [(String, Any)]
            )
        ]
    }

    /// GFLOP/s of a large square product through the engine's gemm (the best of 8 after 2 untimed, so that
    /// a busy moment does not lower it): the matrix-product ceiling each GEMM family is compared with. The
    /// profile takes the better of two such rounds, one after training and one after inference.
    static func sgemmCeiling(threads: Int) -> Double {
        let n = 1024
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) {
            a[i] = Float(i % 13) * 0.01
            b[i] = Float(i % 7) * 0.01
        }
        var times: [Double] = []
        for i in 0..<10 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            gemm(
                transA: false, transB: false, M: n, N: n, K: n, A: a.pointer, lda: n, B: b.pointer, ldb: n, beta: 0,
                C: c.pointer, ldc: n, threads: threads)
            if i >= 2 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        return 2 * Double(n * n * n) / times.min()! / 1e9
    }

    /// Random ids in 5..<V with [CLS] first, exactly `perRow` labelled positions per row (80% become [MASK]=4).
    static func makeBatch(B: Int, T: Int, V: Int, perRow: Int, seed: UInt64) -> AlbertBatch {
        var rng = Rng(seed: seed)
        let batch = AlbertBatch(B: B, T: T)
        for b in 0..<B {
            for t in 0..<T {
                batch.ids[b * T + t] = t == 0 ? 2 : Int32(5 + rng.below(V - 5))
                batch.tokenTypes[b * T + t] = t >= T / 2 ? 1 : 0
            }
            var chosen = 0
            while chosen < perRow {
                let t = 1 + rng.below(T - 1)
                if batch.mlmLabels[b * T + t] >= 0 { continue }
                batch.mlmLabels[b * T + t] = batch.ids[b * T + t]
                if rng.uniform() < 0.8 { batch.ids[b * T + t] = 4 }
                chosen += 1
            }
            batch.sopLabels[b] = Int32(rng.below(2))
        }
        return batch
    }

    /// The FLOPs per token of fine-tuning: the encoder, and the pooler and classifier once per sequence.
    static func classifierFlopsPerToken(_ c: AlbertConfig, T: Int) -> (train: Double, infer: Double) {
        let head = Double(c.hiddenSize * (c.hiddenSize + 2)) / Double(T)
        let perToken = encoderFlopsPerToken(c, T: T) + head
        return (6 * perToken, 2 * perToken)
    }

    /// Multiply-add FLOPs per token actually computed: 2 per weight use forward, 4 more backward;
    /// attention scores and context 4*H*T per layer forward; the MLM head only at labelled positions in
    /// training and at every position in inference.
    static func flopsPerToken(_ c: AlbertConfig, T: Int, labelledFraction: Double) -> (train: Double, infer: Double) {
        let head = Double(c.hiddenSize * c.embeddingSize + c.embeddingSize * c.vocabSize)
        let encoder = encoderFlopsPerToken(c, T: T)
        return (6 * encoder + 6 * head * labelledFraction, 2 * encoder + 2 * head)
    }

    /// Half the forward FLOPs of the encoder per token: its weights' uses and the attention products.
    static func encoderFlopsPerToken(_ c: AlbertConfig, T: Int) -> Double {
        let H = Double(c.hiddenSize), E = Double(c.embeddingSize), I = Double(c.intermediateSize),
            L = Double(c.numHiddenLayers)
        let layer = 4 * H * H + 2 * H * I
        let body = L * layer + (c.family.projectsEmbeddings ? E * H : 0)
        return body + L * 2 * H * Double(T)
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

/// Per-kernel means over the profiled steps of one pass, with the time outside any kernel.
struct ProfileTable {
    let title: String
    let rows: [(kernel: KernelClass, seconds: [ProfilePhase: Double], flops: Double)]
    let stepSeconds: Double
    let outside: Double
    let ceiling: Double

    init(
        title: String, snapshot: [KernelClass: [ProfilePhase: (seconds: Double, flops: Double)]], steps: Int,
        wall: Double, ceiling: Double
    ) {
        self.title = title
        self.ceiling = ceiling
        let n = Double(steps)
        rows = KernelClass.allCases.compactMap { k in
            let perPhase = snapshot[k] ?? [:]
            let seconds = perPhase.mapValues { $0.seconds / n }
            let flops = perPhase.values.map(\.flops).reduce(0, +) / n
            return seconds.values.reduce(0, +) > 0 ? (k, seconds, flops) : nil
        }
        stepSeconds = wall / n
        outside = stepSeconds - rows.map { $0.seconds.values.reduce(0, +) }.reduce(0, +)
    }

    func text(phases: [ProfilePhase]) -> String {
        let ms = { (x: Double) in String(format: "%9.2f", x * 1000) }
        let name = { (s: String) in s.padding(toLength: 26, withPad: " ", startingAt: 0) }
        let split = phases.count > 1
        var lines = [String(format: "%@: %.2f ms per step (mean of the profiled steps)", title, stepSeconds * 1000)]
        let heads = split ? phases.map { " " + String(describing: $0).leftPadded(9) + " ms" }.joined() : ""
        lines.append(name("kernel") + heads + "  total ms   share  GFLOP/s  of ceiling")
        for r in rows.sorted(by: { $0.seconds.values.reduce(0, +) > $1.seconds.values.reduce(0, +) }) {
            let total = r.seconds.values.reduce(0, +)
            var line = name(r.kernel.label)
            if split { for ph in phases { line += " " + ms(r.seconds[ph] ?? 0) + "   " } }
            line += " " + ms(total) + String(format: "  %5.1f%%", 100 * total / stepSeconds)
            let rate = r.flops / total / 1e9
            line += r.flops > 0 ? String(format: "  %7.1f  %9.0f%%", rate, 100 * rate / ceiling) : "        -"
            lines.append(line)
        }
        let pad = String(repeating: " ", count: split ? phases.count * 13 : 0)
        lines.append(
            name("outside any kernel") + pad + " " + ms(outside)
                + String(format: "  %5.1f%%", 100 * outside / stepSeconds))
        let flops = rows.map(\.flops).reduce(0, +)
        lines.append(
            String(
                format: "matrix products: %.1f GFLOP/s over the whole step (%.0f%% of the ceiling)",
                flops / stepSeconds / 1e9, 100 * flops / stepSeconds / 1e9 / ceiling))
        return lines.joined(separator: "\n")
    }

    var json: [(String, Any)] {
        var out: [(String, Any)] = [("step_ms", round3(stepSeconds * 1000)), ("outside_ms", round3(outside * 1000))]
        for r in rows {
            let total = r.seconds.values.reduce(0, +)
            var entry: [(String, Any)] = [("ms", round3(total * 1000))]
            for (ph, sec) in r.seconds.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where sec > 0 {
                entry.append(("\(ph)_ms", round3(sec * 1000)))
            }
            if r.flops > 0 { entry.append(("gflops", round1(r.flops / total / 1e9))) }
            out.append((String(describing: r.kernel), entry))
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: " ", count: n - count) + self
    }
}

// Training a crosscoder on an activation store: batches streamed from the store (rows of a seeded
// per-epoch permutation, so a batch is a function of the seed and the step, and a resumed run continues
// exactly), lambda ramped linearly over the first 5% of steps, Adam; progress with loss, L0, explained
// variance per snapshot and dead features; the crosscoder and the optimizer state saved every --save-every
// steps so that training can resume.

import EmbryoCore
import EmbryoRun
import Foundation

public struct CrosscoderSettings: Codable, Sendable {
    public var features = 0  // 0: 8 x d
    public var l1 = 0.5
    public var lr = 1e-3
    public var steps = 2000
    public var batchSize = 512
    public var seed = 1
    public var decoderInitNorm = 0.08
    public var l1Warmup = 0.05
    public var saveEvery = 500
    public var logEvery = 100
    public var deadWindowTokens = 100_000

    public init() {}

    enum CodingKeys: String, CodingKey {
        case features, l1, lr, steps, seed
        case batchSize = "batch_size", decoderInitNorm = "decoder_init_norm", l1Warmup = "l1_warmup_fraction"
        case saveEvery = "save_every", logEvery = "log_every", deadWindowTokens = "dead_window_tokens"
    }
}

public struct CrosscoderResult: Sendable {
    public var steps: Int
    public var seconds: Double
    public var tokensPerSecond: Double
    public var explainedVariance: [Double]  // per snapshot, over the whole store
    public var l0: Double
    public var dead: Int
    /// Stopped by Ctrl-C or SIGTERM before the last step (state saved; nothing evaluated).
    public var interrupted = false
}

public final class CrosscoderTrainer {
    public let reader: ActivationReader
    public let settings: CrosscoderSettings
    public let out: URL
    public let crosscoder: Crosscoder
    let adam: Adam
    var permutation: (epoch: Int, rows: [Int])? = nil

    public init(reader: ActivationReader, settings s: CrosscoderSettings, out: URL) throws {
        self.reader = reader
        var s = s
        if s.features == 0 { s.features = 8 * reader.d }
        // encoder and decoder (S x d x F each), their gradients and Adam's two moments: 6 floats per weight
        let weights = Double(reader.S) * Double(reader.d) * Double(s.features) * 2
        guard s.features <= 1 << 22, weights * 6 * 4 <= 16e9 else {
            throw EmbryoError.usage(
                "--features \(s.features) would need \(Int(weights * 24 / 1e9)) GB for \(reader.S) snapshots x d \(reader.d); "
                    + "the limit is 16 GB")
        }
        guard s.batchSize <= reader.rows else {
            throw EmbryoError.usage("--batch-size \(s.batchSize) exceeds the store's \(reader.rows) rows")
        }
        settings = s
        self.out = out
        crosscoder = Crosscoder(snapshots: reader.S, dim: reader.d, features: s.features)
        adam = Adam(count: crosscoder.params.count)
    }

    /// Rows of the batch at `step`: consecutive slices of a seeded permutation per epoch.
    func batchRows(_ step: Int) -> [Int] {
        let B = settings.batchSize, perEpoch = max(1, reader.rows / B)
        let epoch = step / perEpoch, k = step % perEpoch
        if permutation?.epoch != epoch {
            var rows = Array(0..<reader.rows)
            var rng = Rng(seed: UInt64(settings.seed) &* 0x9E37_79B9 &+ UInt64(epoch))
            for i in stride(from: rows.count - 1, to: 0, by: -1) { rows.swapAt(i, rng.below(i + 1)) }
            permutation = (epoch, rows)
        }
        return permutation!.rows[(k * B)..<((k + 1) * B)].sorted()
    }

    func lambda(_ step: Int) -> Float {
        let ramp = max(1, Int(Double(settings.steps) * settings.l1Warmup))
        return Float(settings.l1) * min(1, Float(step + 1) / Float(ramp))
    }

    /// Trains to `settings.steps` (or only until step `until`, saving there, so that a later call with
    /// `resume` continues exactly).
    /// The saved state's step when resuming from one, else a fresh initialisation (step 0).
    func restoreOrInitialize(resume: Bool, log: (String) -> Void) throws -> Int {
        let saved = resume ? savedState() : nil
        if resume && saved == nil
            && FileManager.default.fileExists(atPath: out.appendingPathComponent("state/state.json").path)
        {
            throw EmbryoError.runtime(
                "cannot resume \(out.path): its state was saved in an older layout; start over without --resume")
        }
        if let saved {
            let start = try readState(from: saved)
            log("crosscode: resuming at step \(start) of \(settings.steps)")
            return start
        }
        if resume { log("crosscode: \(out.path) has no saved state; starting at step 0") }
        crosscoder.initialize(seed: UInt64(settings.seed), decoderNorm: Float(settings.decoderInitNorm))
        return 0
    }

    public func train(resume: Bool, until: Int? = nil, log: (String) -> Void) throws -> CrosscoderResult {
        // one writer per crosscoder directory, for the whole of training
        let lock = try DirectoryLock(out, purpose: "training a crosscoder")
        defer { withExtendedLifetime(lock) {} }
        for dir in [out, out.appendingPathComponent("state")] { removeStaleTemporaries(in: dir) }
        let start = try restoreOrInitialize(resume: resume, log: log)
        let S = reader.S, B = settings.batchSize, F = crosscoder.F
        let x = FloatBuffer(count: B * crosscoder.Sd)
        let buf = CrosscoderBuffers(B: B, S: S, d: reader.d, F: F)
        var lastActive = [Int](repeating: start, count: F)
        let window = max(1, settings.deadWindowTokens / B)
        var sse = [Double](repeating: 0, count: S), sst = sse, lossSum = 0.0, l0Sum = 0.0, n = 0
        let t0 = Date()
        let end = min(settings.steps, until ?? settings.steps)
        for step in start..<end {
            try reader.read(rows: batchRows(step), into: x.pointer)
            let st = crosscoder.forwardBackward(x.pointer, B: B, lambda: lambda(step), buf, gradients: true)
            guard st.loss.isFinite else {
                throw EmbryoError.runtime(
                    "the crosscoder's loss is not finite at step \(step + 1) (learning rate \(settings.lr) too high?); "
                        + "the last saved state in \(out.path) is kept")
            }
            adam.update(crosscoder.params, crosscoder.grads, lr: Float(settings.lr))
            let f = buf.codes
            for b in 0..<B { for i in 0..<F where f[b * F + i] > 0 { lastActive[i] = step } }
            for s in 0..<S {
                sse[s] += st.sse[s]
                sst[s] += st.sst[s]
            }
            lossSum += st.loss
            l0Sum += st.l0
            n += 1
            let done = step + 1
            if done % settings.logEvery == 0 || done == settings.steps {
                let ev = (0..<S).map { 1 - sse[$0] / max(sst[$0], 1e-12) }
                let dead = lastActive.filter { done - 1 - $0 >= window }.count
                let rate = Double((done - start) * B) / Date().timeIntervalSince(t0)
                log(
                    String(
                        format:
                            "crosscode: step %d/%d, loss %.3f, L0 %.1f, explained variance %.3f-%.3f (mean %.3f), dead %d, %.0f tokens/s",
                        done, settings.steps, lossSum / Double(n), l0Sum / Double(n), ev.min()!, ev.max()!,
                        ev.reduce(0, +) / Double(S), dead, rate))
                sse = [Double](repeating: 0, count: S)
                sst = sse
                lossSum = 0
                l0Sum = 0
                n = 0
            }
            if done % settings.saveEvery == 0 || done == settings.steps || done == end { try save(step: done) }
            if stopRequested != 0 && done < end {
                try save(step: done)
                log("crosscode: interrupted at step \(done); saved, continue with --resume")
                let seconds = Date().timeIntervalSince(t0)
                return CrosscoderResult(
                    steps: done, seconds: seconds, tokensPerSecond: Double((done - start) * B) / max(seconds, 1e-9),
                    explainedVariance: [], l0: 0, dead: 0, interrupted: true)
            }
        }
        let seconds = Date().timeIntervalSince(t0)
        let (ev, l0) = try evaluate()
        let dead = lastActive.filter { settings.steps - 1 - $0 >= window }.count
        return CrosscoderResult(
            steps: settings.steps, seconds: seconds,
            tokensPerSecond: Double((settings.steps - start) * B) / max(seconds, 1e-9), explainedVariance: ev, l0: l0,
            dead: dead)
    }

    /// Explained variance per snapshot and mean L0 over every row of the store (in store order).
    public func evaluate() throws -> ([Double], Double) {
        try Crosscoder.evaluate(crosscoder, reader: reader, batchSize: settings.batchSize)
    }

    // MARK: files

    public var config: [String: Any] {
        let m = reader.manifest
        let set = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(settings))) ?? [:]
        return [
            "format": "embryo-crosscoder", "version": 1, "snapshots": reader.S, "d": reader.d,
            "features": crosscoder.F, "activation": "relu", "layer": m.layer,
            "snapshot_steps": m.snapshots.map(\.step), "scales": m.snapshots.map { Double($0.scale) },
            "store": reader.dir.path, "settings": set,
        ]
    }

    /// Saves the weights for readers (crosscoder.safetensors, config.json) and the resumable state as one
    /// unit: a complete directory (weights, Adam moments, state.json) written as state/.save.tmp and renamed
    /// to state/save, the previous save kept as state/.save.old until the new one is in place. A kill at any
    /// moment leaves a complete save to resume from (state/save, or state/.save.old between the renames).
    func save(step: Int) throws {
        let cc = crosscoder
        let fm = FileManager.default
        func writeWeights(_ url: URL) throws {
            try writeSafetensors(
                cc.tensors.map { (name: $0.name, shape: $0.shape, data: UnsafePointer(cc.params.pointer + $0.offset)) },
                metadata: ["format": "embryo-crosscoder"], to: url)
        }
        try writeWeights(out.appendingPathComponent("crosscoder.safetensors"))
        try writeAtomically(
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
            to: out.appendingPathComponent("config.json"))
        let state = out.appendingPathComponent("state")
        let tmp = state.appendingPathComponent(".save.tmp"), current = state.appendingPathComponent("save")
        let old = state.appendingPathComponent(".save.old")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        try writeWeights(tmp.appendingPathComponent("crosscoder.safetensors"))
        try writeSafetensors(
            [
                (name: "m", shape: [adam.m.count], data: UnsafePointer(adam.m.pointer)),
                (name: "v", shape: [adam.v.count], data: UnsafePointer(adam.v.pointer)),
            ], metadata: ["format": "pt"], to: tmp.appendingPathComponent("adam.safetensors"))
        let set = try JSONSerialization.jsonObject(with: JSONEncoder().encode(settings))
        let obj: [String: Any] = ["step": step, "adam_step": adam.step, "settings": set]
        try writeAtomically(
            try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]),
            to: tmp.appendingPathComponent("state.json"))
        fsyncDirectory(tmp)
        // only a complete save is ever called "save"; the one before it stays until then
        if fm.fileExists(atPath: current.path) {
            try? fm.removeItem(at: old)
            try fm.moveItem(at: current, to: old)
        }
        try fm.moveItem(at: tmp, to: current)
        fsyncDirectory(state)
        try? fm.removeItem(at: old)
        // files of the layout before saves were directories
        for name in ["state.json", "adam.safetensors"] { try? fm.removeItem(at: state.appendingPathComponent(name)) }
    }

    /// The directory of the last complete save, if any.
    func savedState() -> URL? {
        let state = out.appendingPathComponent("state")
        for name in ["save", ".save.old"] {
            let dir = state.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("state.json").path) { return dir }
        }
        return nil
    }

    func readState(from dir: URL) throws -> Int {
        let stateURL = dir.appendingPathComponent("state.json")
        guard let o = (try? JSONSerialization.jsonObject(with: readFile(stateURL))) as? [String: Any],
            let step = o["step"] as? Int, let adamStep = o["adam_step"] as? Int
        else { throw EmbryoError.format(stateURL.path, "not a valid crosscoder state") }
        // the settings that shape the weights and the data order must be the ones the state was saved with
        if let saved = o["settings"] as? [String: Any],
            let now = try JSONSerialization.jsonObject(with: JSONEncoder().encode(settings)) as? [String: Any]
        {
            for k in ["features", "l1", "lr", "batch_size", "seed", "steps", "decoder_init_norm", "l1_warmup_fraction"]
            where "\(saved[k] ?? "nil")" != "\(now[k] ?? "nil")" {
                throw EmbryoError.runtime(
                    "cannot resume \(out.path): \(k) is \(now[k] ?? "nil") now but \(saved[k] ?? "nil") in the saved "
                        + "state; start over without --resume")
            }
        }
        do {
            try Crosscoder.load(crosscoder, from: dir)
            let file = try SafetensorsFile(url: dir.appendingPathComponent("adam.safetensors"))
            try file.read("m", into: adam.m.pointer, expectShape: [adam.m.count])
            try file.read("v", into: adam.v.pointer, expectShape: [adam.v.count])
        } catch {
            throw EmbryoError.runtime(
                "cannot resume \(out.path): the saved state in \(dir.path) is damaged (\(error)); start over without --resume"
            )
        }
        adam.step = adamStep
        return step
    }
}

extension Crosscoder {
    /// Explained variance per snapshot (1 - SSE / total variance) and mean L0 over every row of a store.
    public static func evaluate(_ cc: Crosscoder, reader: ActivationReader, batchSize B: Int) throws -> (
        [Double], Double
    ) {
        let S = reader.S, d = reader.d, Sd = cc.Sd
        let x = FloatBuffer(count: B * Sd)
        let buf = CrosscoderBuffers(B: B, S: S, d: d, F: cc.F)
        var sum = [Double](repeating: 0, count: Sd), sumSq = [Double](repeating: 0, count: S)
        var sse = [Double](repeating: 0, count: S), l0 = 0.0
        var r = 0
        while r < reader.rows {
            let idx = Array(r..<min(r + B, reader.rows))
            try reader.read(rows: idx, into: x.pointer)
            let st = cc.forwardBackward(x.pointer, B: idx.count, lambda: 0, buf, gradients: false)
            for s in 0..<S { sse[s] += st.sse[s] }
            l0 += st.l0 * Double(idx.count)
            for b in 0..<idx.count {
                for s in 0..<S {
                    for j in 0..<d {
                        let v = Double(x[b * Sd + s * d + j])
                        sum[s * d + j] += v
                        sumSq[s] += v * v
                    }
                }
            }
            r += idx.count
        }
        let N = Double(reader.rows)
        let ev = (0..<S).map { s -> Double in
            var meanSq = 0.0
            for j in 0..<d { meanSq += sum[s * d + j] * sum[s * d + j] / N }
            return 1 - sse[s] / max(sumSq[s] - meanSq, 1e-12)
        }
        return (ev, l0 / N)
    }

    /// Reads crosscoder.safetensors from `dir` into `cc` (shapes checked).
    public static func load(_ cc: Crosscoder, from dir: URL) throws {
        let file = try SafetensorsFile(url: dir.appendingPathComponent("crosscoder.safetensors"))
        for t in cc.tensors { try file.read(t.name, into: cc.params.pointer + t.offset, expectShape: t.shape) }
    }

    /// A crosscoder directory: config.json and crosscoder.safetensors.
    public static func open(_ dir: URL) throws -> (Crosscoder, [String: Any]) {
        let url = dir.appendingPathComponent("config.json")
        guard let cfg = try JSONSerialization.jsonObject(with: readFile(url)) as? [String: Any],
            cfg["format"] as? String == "embryo-crosscoder", let S = cfg["snapshots"] as? Int, let d = cfg["d"] as? Int,
            let F = cfg["features"] as? Int
        else { throw EmbryoError.format(url.path, "not an embryo crosscoder config") }
        let cc = Crosscoder(snapshots: S, dim: d, features: F)
        try load(cc, from: dir)
        return (cc, cfg)
    }
}

extension CrosscoderSettings {
    /// Refuses settings no crosscoder can train with (the message names the option that sets the field).
    public func validate() throws {
        guard l1 >= 0 && l1.isFinite && l1 <= 1e6 else {
            throw EmbryoError.usage("The value '\(l1)' is invalid for '--l1 <lambda>': expected 0 to 1e6")
        }
        guard lr > 0 && lr <= 1 else {
            throw EmbryoError.usage("The value '\(lr)' is invalid for '--lr <f>': expected a rate in (0, 1]")
        }
        for (name, v, least) in [
            ("features", features, 0), ("steps", steps, 1), ("batch-size", batchSize, 1), ("save-every", saveEvery, 1),
        ]
        where v < least {
            throw EmbryoError.usage("'--\(name)' must be at least \(least), got \(v)")
        }
        if seed < 0 { throw EmbryoError.usage("'--seed' must be at least 0, got \(seed)") }
    }
}

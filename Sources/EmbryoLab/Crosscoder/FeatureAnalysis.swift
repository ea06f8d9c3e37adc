// What a trained crosscoder says about training: per feature, its decoder norm at each snapshot (its
// strength), the emergence step (first snapshot reaching half its maximum strength), whether it only
// exists at initialisation, its decoder's drift, how often it fires, its top contexts, its association with
// UPOS tags and dependency relations, and how much of its activation the token identity alone explains.

import EmbryoCore
import EmbryoRun
import Foundation

public struct FeatureTrajectory: Sendable {
    public var index: Int
    public var norms: [Float]  // per snapshot
    public var emergenceIndex: Int
    public var emergenceStep: Int
    public var peakIndex: Int
    /// Strongest at the first snapshot and below half of that at the last: a feature of the initialisation.
    public var initOnly: Bool
    /// Cosine of the decoder direction at each snapshot with the last snapshot's.
    public var drift: [Float]
}

public struct FeatureProfile: Sendable {
    public var trajectory: FeatureTrajectory
    public var frequency: Double  // fraction of tokens where it fires
    public var meanActivation: Double  // over the tokens where it fires
    public var topRows: [(row: Int, value: Float)]
    public var topUpos: (tag: String, lift: Double, share: Double)?
    public var topDeprel: (tag: String, lift: Double, share: Double)?
    /// Fraction of the activation's variance explained by the token identity (between-token variance).
    public var tokenR2: Double
}

public enum FeatureAnalysis {
    public static func strengths(_ cc: Crosscoder, steps: [Int]) -> [FeatureTrajectory] {
        let S = cc.S, d = cc.d
        let norms = FloatBuffer(count: cc.F * S)
        cc.decoderNorms(norms.pointer)
        return (0..<cc.F).map { i in
            let n = (0..<S).map { norms[i * S + $0] }
            let mx = n.max() ?? 0
            let e = n.firstIndex { $0 >= 0.5 * mx } ?? 0
            let peak = n.firstIndex(of: mx) ?? 0
            let last = cc.params.pointer + cc.wDec + i * cc.Sd + (S - 1) * d
            let drift = (0..<S).map { s -> Float in
                let r = cc.params.pointer + cc.wDec + i * cc.Sd + s * d
                var dot: Float = 0
                for j in 0..<d { dot += r[j] * last[j] }
                let denom = n[s] * n[S - 1]
                return denom > 0 ? dot / denom : 0
            }
            return FeatureTrajectory(
                index: i, norms: n, emergenceIndex: e, emergenceStep: steps[e], peakIndex: peak,
                initOnly: peak == 0 && S > 1 && n[S - 1] < 0.5 * mx, drift: drift)
        }
    }

    /// One pass over the store: firing statistics, top rows, tag associations and token-identity R^2.
    public static func profiles(_ cc: Crosscoder, reader: ActivationReader, batchSize: Int = 512, top: Int = 5) throws
        -> [FeatureProfile]
    {
        let F = cc.F, N = reader.rows
        let traj = strengths(cc, steps: reader.manifest.snapshots.map(\.step))
        let tokens = try reader.tokens()
        let words = try reader.words()
        var count = [Int](repeating: 0, count: F), sum = [Double](repeating: 0, count: F)
        var sumSq = [Double](repeating: 0, count: F)
        var best = [[(row: Int, value: Float)]](repeating: [], count: F)
        var byToken = [[Int32: Double]](repeating: [:], count: F)
        var byUpos = [[String: Double]](repeating: [:], count: F), byDeprel = byUpos
        var tokenCount: [Int32: Int] = [:], uposCount: [String: Int] = [:], deprelCount: [String: Int] = [:]
        for t in tokens { tokenCount[t, default: 0] += 1 }
        for w in words {
            uposCount[w.upos, default: 0] += 1
            deprelCount[w.deprel, default: 0] += 1
        }
        let x = FloatBuffer(count: batchSize * cc.Sd)
        let buf = CrosscoderBuffers(B: batchSize, S: cc.S, d: cc.d, F: F)
        var r = 0
        while r < N {
            let idx = Array(r..<min(r + batchSize, N))
            try reader.read(rows: idx, into: x.pointer)
            cc.encode(x.pointer, B: idx.count, buf)
            let f = buf.codes
            for (b, row) in idx.enumerated() {
                for i in 0..<F {
                    let v = f[b * F + i]
                    guard v > 0 else { continue }
                    count[i] += 1
                    sum[i] += Double(v)
                    sumSq[i] += Double(v) * Double(v)
                    byToken[i][tokens[row], default: 0] += Double(v)
                    byUpos[i][words[row].upos, default: 0] += Double(v)
                    byDeprel[i][words[row].deprel, default: 0] += Double(v)
                    if best[i].count < top || v > best[i].last!.value {
                        best[i].append((row, v))
                        best[i].sort { $0.value > $1.value }
                        if best[i].count > top { best[i].removeLast() }
                    }
                }
            }
            r += idx.count
        }
        func association(_ mass: [String: Double], _ counts: [String: Int], total: Double) -> (String, Double, Double)?
        {
            guard total > 0 else { return nil }
            let known = mass.filter { $0.key != "_" }
            guard let top = known.max(by: { $0.value < $1.value }) else { return nil }
            let share = top.value / total
            let base = Double(counts[top.key] ?? 0) / Double(N)
            return (top.key, base > 0 ? share / base : 0, share)
        }
        return (0..<F).map { i in
            let n = Double(N), mean = sum[i] / n
            let total = sumSq[i] - n * mean * mean
            var between = -n * mean * mean
            for (t, s) in byToken[i] { between += s * s / Double(tokenCount[t]!) }
            return FeatureProfile(
                trajectory: traj[i], frequency: Double(count[i]) / n,
                meanActivation: count[i] > 0 ? sum[i] / Double(count[i]) : 0, topRows: best[i],
                topUpos: association(byUpos[i], uposCount, total: sum[i]),
                topDeprel: association(byDeprel[i], deprelCount, total: sum[i]),
                tokenR2: total > 1e-12 ? min(1, max(0, between / total)) : 0)
        }
    }

    /// The snapshot at which most features that form during training (after the first snapshot) emerge,
    /// and their share (ties: the earliest).
    public static func emergencePoint(_ ps: [FeatureProfile], steps: [Int]) -> (step: Int, share: Double) {
        let forming = ps.filter { $0.frequency > 0 && !$0.trajectory.initOnly && $0.trajectory.emergenceIndex > 0 }
        guard !forming.isEmpty else { return (steps[0], 0) }
        var hist = [Int](repeating: 0, count: steps.count)
        for p in forming { hist[p.trajectory.emergenceIndex] += 1 }
        let k = hist.indices.max { hist[$0] < hist[$1] || (hist[$0] == hist[$1] && $0 > $1) } ?? 0
        return (steps[k], Double(hist[k]) / Double(forming.count))
    }
}

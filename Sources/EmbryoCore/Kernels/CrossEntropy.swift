// Softmax cross-entropy over rows of logits, as torch.nn.CrossEntropyLoss (mean over rows whose label
// is not ignored). Forward writes each row's loss; backward writes dlogits = (softmax - onehot) * scale.

import Foundation

/// Per-row loss (0 for ignored rows, label < 0) and, when dlogits is given, its gradient times `scale`;
/// `predicted` gets each counted row's first index of the maximum logit.
/// Returns the number of counted rows. Rows are independent, so the result is thread-count invariant.
@inline(__always)
@discardableResult
public func crossEntropyForwardBackward(
    losses: UnsafeMutablePointer<Float>, dlogits: UnsafeMutablePointer<Float>?, correct: UnsafeMutablePointer<Float>?,
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int, classes V: Int, scale: Float,
    predicted: UnsafeMutablePointer<Int32>? = nil
) -> Int {
    parallelFor(rows, grain: 16) { lo, hi in
        for r in lo..<hi {
            let x = logits + r * V
            let label = Int(labels[r])
            if label < 0 {
                losses[r] = 0
                correct?[r] = 0
                predicted?[r] = -1
                if let d = dlogits { (d + r * V).update(repeating: 0, count: V) }
                continue
            }
            // the maximum, then its first index (NaN never wins; an all-NaN row gives index 0)
            let negInf = SIMD8<Float>(repeating: -.infinity)
            var mv = negInf
            vectorLoop(V) { j, k in
                var v = loadPartial(x + j, k)
                if k < 8 { for z in k..<8 { v[z] = -.infinity } }
                mv.replace(with: v, where: v .> mv)
            }
            let mx = mv.max()
            let arg = firstIndex(of: mx, in: x, count: V)
            // sum of exp in Double across 8-lane partials for a stable log
            var acc = SIMD8<Float>()
            var sumD: Double = 0
            let m = SIMD8<Float>(repeating: mx)
            vectorLoop(V) { j, k in
                var e = expSIMD(loadPartial(x + j, k) - m)
                if k < 8 { for z in k..<8 { e[z] = 0 } }
                if let d = dlogits { storePartial(e, d + r * V + j, k) }
                acc += e
                if (j + 8) % 1024 == 0 {
                    sumD += Double(acc.sum())
                    acc = SIMD8()
                }
            }
            sumD += Double(acc.sum())
            let logZ = Double(mx) + _logD(sumD)
            losses[r] = Float(logZ - Double(x[label]))
            correct?[r] = arg == label ? 1 : 0
            predicted?[r] = Int32(arg)
            if let d = dlogits {
                let row = d + r * V
                let inv = Float(1 / sumD) * scale
                for z in 0..<V { row[z] *= inv }
                row[label] -= scale
            }
        }
    }
    var n = 0
    for r in 0..<rows where labels[r] >= 0 { n += 1 }
    return n
}

/// The first index whose value equals `value`, 8 lanes at a time (0 when none does, as for a row of NaNs).
@inline(__always)
func firstIndex(of value: Float, in x: UnsafePointer<Float>, count n: Int) -> Int {
    let target = SIMD8<Float>(repeating: value)
    var j = 0
    while j + 8 <= n {
        let hit = load8(x + j) .== target
        if any(hit) { for k in 0..<8 where hit[k] { return j + k } }
        j += 8
    }
    while j < n {
        if x[j] == value { return j }
        j += 1
    }
    return 0
}

@inline(__always) func _logD(_ x: Double) -> Double { log(x) }

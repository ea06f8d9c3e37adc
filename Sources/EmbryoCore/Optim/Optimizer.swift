// Optimizers over a ParameterLayout: LAMB exactly as google-research/albert's lamb_optimizer.py and
// AdamW as torch.optim.AdamW, plus global-norm gradient clipping (torch's clip_grad_norm_) and the
// linear warmup / linear decay schedule. Reductions run over fixed 64k-element chunks in Double, so
// results do not depend on the thread count.

import Foundation

public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    case lamb, adamw
}

public struct OptimizerHyper: Codable, Sendable, Equatable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-6
    public var weightDecay: Float = 0.01
    public init() {}
}

public final class Optimizer {
    public let kind: OptimizerKind
    public var hyper: OptimizerHyper
    public let layout: ParameterLayout
    public let m: FloatBuffer
    public let v: FloatBuffer
    /// Updates applied so far (AdamW's bias correction uses it).
    public var stepCount = 0
    /// Per-tensor learning-rate multipliers by name (e.g. a larger rate for re-initialised layers).
    public var lrScale: [String: Float] = [:]

    public init(kind: OptimizerKind, layout: ParameterLayout, hyper: OptimizerHyper = OptimizerHyper()) {
        self.kind = kind
        self.layout = layout
        self.hyper = hyper
        m = FloatBuffer(count: layout.total)
        v = FloatBuffer(count: layout.total)
    }

    /// One update of `params` from `grads` at learning rate `lr`. Overwrites `grads` with the update
    /// direction (LAMB); callers zero gradients before the next backward anyway.
    public func step(params: FloatBuffer, grads: FloatBuffer, lr: Float) {
        stepCount += 1
        for t in layout.tensors {
            let tlr = lrScale.isEmpty ? lr : lr * (lrScale[t.name] ?? 1)
            switch kind {
            case .lamb: lambTensor(t, params: params.pointer, grads: grads.pointer, lr: tlr)
            case .adamw: adamwTensor(t, params: params.pointer, grads: grads.pointer, lr: tlr)
            }
        }
    }

    /// LAMB (You et al. 2019) as ALBERT's code: m, v without bias correction; u = m / (sqrt(v) + eps),
    /// plus weight_decay * w for decayed tensors; r = ||w|| / ||u|| (1 if either is 0) for decayed
    /// tensors only; w -= lr * r * u. LayerNorm weights and biases get neither decay nor r.
    private func lambTensor(
        _ t: ParameterTensor, params: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>, lr: Float
    ) {
        let w = params + t.offset, g = grads + t.offset, mm = m.pointer + t.offset, vv = v.pointer + t.offset
        let b1 = hyper.beta1, b2 = hyper.beta2, eps = hyper.eps
        let decay = !t.isNoDecay
        let wd = decay ? hyper.weightDecay : 0
        // pass 1: moments and the update direction (stored over the gradient), with both norms
        let (wNorm2, uNorm2) = chunkedSums(t.count) { lo, hi in
            var ws: Double = 0, us: Double = 0
            // the moments and u 8 lanes at a time (each lane as the scalar expression), the sums element by
            // element in index order, so the bits are the same as one element at a time
            var i = lo
            while i < hi {
                let n = min(8, hi - i)
                let gi = loadPartial(g + i, n), wi = loadPartial(w + i, n)
                let mi = b1 * loadPartial(mm + i, n) + (1 - b1) * gi
                let vi = b2 * loadPartial(vv + i, n) + (1 - b2) * gi * gi
                let u = mi / (vi.squareRoot() + eps) + wd * wi
                storePartial(mi, mm + i, n)
                storePartial(vi, vv + i, n)
                storePartial(u, g + i, n)
                for k in 0..<n {
                    ws += Double(wi[k]) * Double(wi[k])
                    us += Double(u[k]) * Double(u[k])
                }
                i += 8
            }
            return (ws, us)
        }
        var ratio: Float = 1
        if decay, wNorm2 > 0, uNorm2 > 0 { ratio = Float(wNorm2.squareRoot() / uNorm2.squareRoot()) }
        let scale = lr * ratio
        parallelFor(t.count, grain: 1 << 14) { lo, hi in
            for i in lo..<hi { w[i] -= scale * g[i] }
        }
    }

    /// torch.optim.AdamW on one tensor (see adamwUpdate).
    private func adamwTensor(
        _ t: ParameterTensor, params: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>, lr: Float
    ) {
        adamwUpdate(
            params: params + t.offset, grads: grads + t.offset, m: m.pointer + t.offset, v: v.pointer + t.offset,
            count: t.count, lr: lr, step: stepCount, hyper: hyper, weightDecay: t.isNoDecay ? 0 : hyper.weightDecay)
    }
}

/// torch.optim.AdamW over `count` values, `step` counting from 1: decoupled decay w *= 1 - lr * wd, then
/// w -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps). (Plain Adam is weightDecay 0.)
public func adamwUpdate(
    params w: UnsafeMutablePointer<Float>, grads g: UnsafePointer<Float>, m mm: UnsafeMutablePointer<Float>,
    v vv: UnsafeMutablePointer<Float>, count: Int, lr: Float, step: Int, hyper: OptimizerHyper, weightDecay wd: Float
) {
    let b1 = hyper.beta1, b2 = hyper.beta2, eps = hyper.eps
    let bc1 = 1 - Float(pow(Double(b1), Double(step)))
    let bc2 = 1 - Float(pow(Double(b2), Double(step)))
    let stepSize = lr / bc1, bc2Sqrt = bc2.squareRoot()
    let keep = 1 - lr * wd
    // 8 lanes at a time: each lane does the scalar expression's operations in its order, so the bits are
    // the same as one element at a time
    parallelFor(count, grain: 1 << 14) { lo, hi in
        var i = lo
        while i < hi {
            let n = min(8, hi - i)
            let gi = loadPartial(g + i, n)
            let mi = b1 * loadPartial(mm + i, n) + (1 - b1) * gi
            let vi = b2 * loadPartial(vv + i, n) + (1 - b2) * gi * gi
            storePartial(mi, mm + i, n)
            storePartial(vi, vv + i, n)
            storePartial(loadPartial(w + i, n) * keep - stepSize * mi / (vi.squareRoot() / bc2Sqrt + eps), w + i, n)
            i += 8
        }
    }
}

/// Sums of two per-element quantities over 0..<count, computed in fixed 64k chunks (in parallel) and
/// combined in chunk order, so the result is identical for any thread count.
func chunkedSums(_ count: Int, _ body: (Int, Int) -> (Double, Double)) -> (Double, Double) {
    let chunk = 1 << 16
    let n = (count + chunk - 1) / chunk
    if n <= 1 { return count > 0 ? body(0, count) : (0, 0) }
    return withUnsafeTemporaryAllocation(of: (Double, Double).self, capacity: n) { partial in
        parallelFor(n) { lo, hi in
            for c in lo..<hi { partial[c] = body(c * chunk, min(count, (c + 1) * chunk)) }
        }
        var a: Double = 0, b: Double = 0
        for c in 0..<n { a += partial[c].0; b += partial[c].1 }
        return (a, b)
    }
}

/// Global L2 norm of all gradients (in Double, thread-count invariant).
public func gradientNorm(_ grads: FloatBuffer) -> Float {
    let g = grads.pointer
    let (s, _) = chunkedSums(grads.count) { lo, hi in
        var acc: Double = 0
        for i in lo..<hi { acc += Double(g[i]) * Double(g[i]) }
        return (acc, 0)
    }
    return Float(s.squareRoot())
}

/// torch.nn.utils.clip_grad_norm_: scale by maxNorm / (norm + 1e-6) when that is below 1. Returns the norm before clipping.
@discardableResult
public func clipGradients(_ grads: FloatBuffer, maxNorm: Float) -> Float { clipGradients([grads], maxNorm: maxNorm) }

/// clip_grad_norm_ over several buffers with one global norm (e.g. an encoder's and a new head's gradients).
@discardableResult
public func clipGradients(_ buffers: [FloatBuffer], maxNorm: Float) -> Float {
    let norm = Float(buffers.map { Double(gradientNorm($0)) }.map { $0 * $0 }.reduce(0, +).squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for grads in buffers {
            let g = grads.pointer
            parallelFor(grads.count, grain: 1 << 14) { lo, hi in
                for i in lo..<hi { g[i] *= coef }
            }
        }
    }
    return norm
}

/// Linear warmup to the peak over `warmup` updates, then linear decay towards 0 at `total`.
/// `step` counts updates from 1: lr(s) = peak * s / warmup for s <= warmup, else
/// peak * (total - s + 1) / (total - warmup), so the first and last updates both move the weights.
public struct LinearSchedule: Codable, Sendable, Equatable {
    public var peak: Float
    public var warmup: Int
    public var total: Int
    /// The rate at step 0 as a share of the peak (Cramming's warmup starts at 0.25 of it).
    public var start: Float
    /// Steps of linear decay at the end, after a constant rate (warmup-stable-decay); nil: decay from the
    /// end of the warmup (linear warmup, linear decay).
    public var cooldown: Int?

    public init(peak: Float, warmup: Int, total: Int, start: Float = 0, cooldown: Int? = nil) {
        self.peak = peak
        self.warmup = warmup
        self.total = total
        self.start = start
        self.cooldown = cooldown
    }

    public func lr(step s: Int) -> Float {
        if warmup > 0 && s <= warmup {
            if start == 0 { return peak * Float(s) / Float(warmup) }
            return peak * (start + (1 - start) * Float(s) / Float(warmup))
        }
        if let c = cooldown {
            if s <= total - c { return peak }
            return peak * Float(max(0, total - s + 1)) / Float(max(1, c))
        }
        let span = max(1, total - warmup)
        return peak * Float(max(0, total - s + 1)) / Float(span)
    }
}

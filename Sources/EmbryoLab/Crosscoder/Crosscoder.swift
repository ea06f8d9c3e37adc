// A crosscoder across S snapshots (Ge et al. 2025, after Lindsey et al. 2024): one sparse code shared by
// every snapshot, one decoder per snapshot.
//   f = ReLU(sum_s W_enc^s x^s + b_enc)            x (B, S*d): the snapshots' activations side by side
//   x_hat^s = W_dec^s f + b_dec^s
//   loss = mean over tokens of [ sum_s ||x^s - x_hat^s||^2 + lambda * sum_i f_i * sum_s ||W_dec,i^s|| ]
// With the snapshot blocks concatenated, the encoder is one (S*d, F) matrix and the decoder one (F, S*d)
// matrix, so a step is five sgemms. Parameters in one buffer: W_enc (S*d, F), b_enc (F), W_dec (F, S*d),
// b_dec (S*d).

import EmbryoCore
import Foundation

public struct CrosscoderStats: Sendable {
    public var loss: Double = 0
    public var reconstruction: Double = 0  // mean over tokens of sum_s ||x^s - x_hat^s||^2
    public var sparsity: Double = 0  // mean over tokens of sum_i f_i sum_s ||W_dec,i^s||
    public var l0: Double = 0  // mean active features per token
    public var sse: [Double] = []  // per snapshot: sum of squared errors
    public var sst: [Double] = []  // per snapshot: sum of squared deviations from the batch mean
}

public final class CrosscoderBuffers {
    public let B: Int
    let pre, f, xhat, dxhat, df, norms, fsum: FloatBuffer
    // the codes as sparse rows (CSR) and sparse columns (CSC), for the sparse path
    let rowStart, colStart: IntBuffer
    let csrCol, cscRow: IntBuffer
    let csrVal, cscVal: FloatBuffer
    var nnz = 0

    public init(B: Int, S: Int, d: Int, F: Int) {
        self.B = B
        pre = FloatBuffer(count: B * F)
        f = FloatBuffer(count: B * F)
        xhat = FloatBuffer(count: B * S * d)
        dxhat = FloatBuffer(count: B * S * d)
        df = FloatBuffer(count: B * F)
        norms = FloatBuffer(count: F * S)
        fsum = FloatBuffer(count: F)
        rowStart = IntBuffer(count: B + 1)
        colStart = IntBuffer(count: F + 1)
        csrCol = IntBuffer(count: B * F)
        cscRow = IntBuffer(count: B * F)
        csrVal = FloatBuffer(count: B * F)
        cscVal = FloatBuffer(count: B * F)
    }

    /// Gathers the nonzero codes of the first B rows into CSR and CSC form.
    func gather(B: Int, F: Int) {
        let f = self.f.pointer
        var n = 0
        colStart.pointer.update(repeating: 0, count: F + 1)
        for b in 0..<B {
            rowStart[b] = Int32(n)
            for i in 0..<F where f[b * F + i] > 0 {
                csrCol[n] = Int32(i)
                csrVal[n] = f[b * F + i]
                colStart[i + 1] += 1
                n += 1
            }
        }
        rowStart[B] = Int32(n)
        nnz = n
        for i in 0..<F { colStart[i + 1] += colStart[i] }
        // rows in increasing order within each column
        var fill = (0..<F).map { Int(colStart[$0]) }
        for b in 0..<B {
            for k in Int(rowStart[b])..<Int(rowStart[b + 1]) {
                let i = Int(csrCol[k])
                cscRow[fill[i]] = Int32(b)
                cscVal[fill[i]] = csrVal[k]
                fill[i] += 1
            }
        }
    }

    /// The codes of the last forward pass, (B, F).
    public var codes: UnsafeMutablePointer<Float> { f.pointer }
}

public final class Crosscoder {
    public let S: Int, d: Int, F: Int
    public var Sd: Int { S * d }
    public let params: FloatBuffer
    public let grads: FloatBuffer
    public let wEnc: Int, bEnc: Int, wDec: Int, bDec: Int
    /// Below this fraction of nonzero codes, decoding and the decoder-side gradients use the codes'
    /// sparsity (saxpy/sdot per active code) instead of dense sgemms.
    public var sparseBelow = 0.1

    public init(snapshots S: Int, dim d: Int, features F: Int) {
        self.S = S
        self.d = d
        self.F = F
        wEnc = 0
        bEnc = S * d * F
        wDec = bEnc + F
        bDec = wDec + F * S * d
        params = FloatBuffer(count: bDec + S * d)
        grads = FloatBuffer(count: bDec + S * d)
    }

    /// Tensors under the names saved in crosscoder.safetensors.
    public var tensors: [(name: String, shape: [Int], offset: Int)] {
        [("W_enc", [Sd, F], wEnc), ("b_enc", [F], bEnc), ("W_dec", [F, Sd], wDec), ("b_dec", [Sd], bDec)]
    }

    /// Decoder rows: a random direction per feature with norm `decoderNorm`, identical for every snapshot;
    /// W_enc = W_dec transposed; biases zero.
    public func initialize(seed: UInt64, decoderNorm: Float) {
        params.zero()
        var rng = Rng(seed: seed)
        let p = params.pointer
        var row = [Float](repeating: 0, count: d)
        for i in 0..<F {
            var n: Float = 0
            for j in 0..<d {
                row[j] = Float(rng.normal())
                n += row[j] * row[j]
            }
            let k = decoderNorm / max(n.squareRoot(), 1e-12)
            for s in 0..<S {
                for j in 0..<d {
                    let v = row[j] * k
                    p[wDec + i * Sd + s * d + j] = v
                    p[wEnc + (s * d + j) * F + i] = v
                }
            }
        }
    }

    /// ||W_dec,i^s|| for every feature and snapshot, into `out` (F, S).
    public func decoderNorms(_ out: UnsafeMutablePointer<Float>) {
        let p = params.pointer + wDec, S = self.S, d = self.d, Sd = self.Sd
        parallelFor(F, grain: 64) { lo, hi in
            for i in lo..<hi {
                for s in 0..<S {
                    var n: Float = 0
                    let r = p + i * Sd + s * d
                    for j in 0..<d { n += r[j] * r[j] }
                    out[i * S + s] = n.squareRoot()
                }
            }
        }
    }

    /// Codes for a batch: fills buf.pre and buf.f.
    public func encode(_ x: UnsafePointer<Float>, B: Int, _ buf: CrosscoderBuffers) {
        let p = params.pointer, pre = buf.pre.pointer, f = buf.f.pointer, F = self.F
        for b in 0..<B { (pre + b * F).update(from: p + bEnc, count: F) }
        gemm(
            transA: false, transB: false, M: B, N: F, K: Sd, A: x, lda: Sd, B: p + wEnc, ldb: F, beta: 1, C: pre, ldc: F
        )
        parallelFor(B * F, grain: 1 << 14) { lo, hi in
            for i in lo..<hi { f[i] = max(pre[i], 0) }
        }
    }

    /// Reconstructions from buf.f into buf.xhat.
    public func decode(B: Int, _ buf: CrosscoderBuffers, sparse: Bool = false) {
        let p = params.pointer, xhat = buf.xhat.pointer, Sd = self.Sd
        if sparse {
            let start = buf.rowStart.pointer, col = buf.csrCol.pointer, val = buf.csrVal.pointer
            parallelFor(B, grain: 8) { lo, hi in
                for b in lo..<hi {
                    let out = xhat + b * Sd
                    out.update(from: p + self.bDec, count: Sd)
                    for k in Int(start[b])..<Int(start[b + 1]) {
                        axpy(Sd, val[k], p + self.wDec + Int(col[k]) * Sd, out)
                    }
                }
            }
            return
        }
        for b in 0..<B { (xhat + b * Sd).update(from: p + bDec, count: Sd) }
        gemm(
            transA: false, transB: false, M: B, N: Sd, K: F, A: buf.f.pointer, lda: F, B: p + wDec, ldb: Sd, beta: 1,
            C: xhat, ldc: Sd)
    }

    /// Loss of a batch and, with `gradients`, its gradient into `grads` (overwritten).
    @discardableResult
    public func forwardBackward(
        _ x: UnsafePointer<Float>, B: Int, lambda: Float, _ buf: CrosscoderBuffers, gradients: Bool
    ) -> CrosscoderStats {
        let S = self.S, d = self.d, F = self.F, Sd = self.Sd
        encode(x, B: B, buf)
        buf.gather(B: B, F: F)
        let sparse = Double(buf.nnz) < sparseBelow * Double(B * F)
        decode(B: B, buf, sparse: sparse)
        decoderNorms(buf.norms.pointer)
        let f = buf.f.pointer, xhat = buf.xhat.pointer, dxhat = buf.dxhat.pointer, norms = buf.norms.pointer
        var st = CrosscoderStats()
        st.sse = [Double](repeating: 0, count: S)
        st.sst = [Double](repeating: 0, count: S)
        // reconstruction error and its gradient 2 (x_hat - x) / B, one snapshot per task
        let inv = 1 / Float(B)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * S)
        defer { sums.deallocate() }
        parallelFor(S, grain: 1) { lo, hi in
            var mean = [Double](repeating: 0, count: d)
            for s in lo..<hi {
                for j in 0..<d { mean[j] = 0 }
                for b in 0..<B { for j in 0..<d { mean[j] += Double(x[b * Sd + s * d + j]) } }
                for j in 0..<d { mean[j] /= Double(B) }
                var sse = 0.0, sst = 0.0
                for b in 0..<B {
                    let o = b * Sd + s * d
                    for j in 0..<d {
                        let r = xhat[o + j] - x[o + j]
                        sse += Double(r * r)
                        let c = Double(x[o + j]) - mean[j]
                        sst += c * c
                        dxhat[o + j] = 2 * r * inv
                    }
                }
                sums[2 * s] = sse
                sums[2 * s + 1] = sst
            }
        }
        for s in 0..<S {
            st.sse[s] = sums[2 * s]
            st.sst[s] = sums[2 * s + 1]
        }
        // sparsity penalty: per feature, its total decoder norm
        var total = [Float](repeating: 0, count: F)
        for i in 0..<F { for s in 0..<S { total[i] += norms[i * S + s] } }
        var penalty = 0.0, active = 0
        let fsum = buf.fsum.pointer
        fsum.update(repeating: 0, count: F)
        for b in 0..<B {
            for i in 0..<F {
                let v = f[b * F + i]
                if v > 0 {
                    active += 1
                    penalty += Double(v * total[i])
                    fsum[i] += v
                }
            }
        }
        st.reconstruction = st.sse.reduce(0, +) / Double(B)
        st.sparsity = penalty / Double(B)
        st.loss = st.reconstruction + Double(lambda) * st.sparsity
        st.l0 = Double(active) / Double(B)
        guard gradients else { return st }

        let p = params.pointer, g = grads.pointer, pre = buf.pre.pointer, df = buf.df.pointer
        // decoder: dW_dec = f^T dxhat, plus lambda * mean_b f_bi * W_dec,i^s / ||W_dec,i^s||
        if sparse {
            let cs = buf.colStart.pointer, rows = buf.cscRow.pointer, vals = buf.cscVal.pointer
            parallelFor(F, grain: 16) { lo, hi in
                for i in lo..<hi {
                    let out = g + self.wDec + i * Sd
                    out.update(repeating: 0, count: Sd)
                    for k in Int(cs[i])..<Int(cs[i + 1]) { axpy(Sd, vals[k], dxhat + Int(rows[k]) * Sd, out) }
                }
            }
        } else {
            gemm(
                transA: true, transB: false, M: F, N: Sd, K: B, A: f, lda: F, B: dxhat, ldb: Sd, beta: 0, C: g + wDec,
                ldc: Sd)
        }
        parallelFor(F, grain: 64) { lo, hi in
            for i in lo..<hi where fsum[i] > 0 {
                for s in 0..<S where norms[i * S + s] > 0 {
                    let k = lambda * fsum[i] * inv / norms[i * S + s]
                    let w = p + wDec + i * Sd + s * d, gw = g + wDec + i * Sd + s * d
                    for j in 0..<d { gw[j] += k * w[j] }
                }
            }
        }
        let gbd = g + bDec
        parallelFor(Sd, grain: 256) { lo, hi in
            for j in lo..<hi {
                var t: Float = 0
                for b in 0..<B { t += dxhat[b * Sd + j] }
                gbd[j] = t
            }
        }
        // codes: df = dxhat W_dec^T + lambda / B * total_i, through the ReLU
        if sparse {
            let start = buf.rowStart.pointer, col = buf.csrCol.pointer
            total.withUnsafeBufferPointer { tot in
                parallelFor(B, grain: 8) { lo, hi in
                    for b in lo..<hi {
                        let row = df + b * F
                        row.update(repeating: 0, count: F)
                        for k in Int(start[b])..<Int(start[b + 1]) {
                            let i = Int(col[k])
                            row[i] = dot(Sd, dxhat + b * Sd, p + self.wDec + i * Sd) + lambda * inv * tot[i]
                        }
                    }
                }
            }
        } else {
            gemm(
                transA: false, transB: true, M: B, N: F, K: Sd, A: dxhat, lda: Sd, B: p + wDec, ldb: Sd, beta: 0, C: df,
                ldc: F)
        }
        if !sparse {
            total.withUnsafeBufferPointer { tot in
                parallelFor(B, grain: 16) { lo, hi in
                    for b in lo..<hi {
                        for i in 0..<F {
                            let k = b * F + i
                            df[k] = pre[k] > 0 ? df[k] + lambda * inv * tot[i] : 0
                        }
                    }
                }
            }
        }
        // encoder: dW_enc = x^T df, db_enc = sum_b df
        gemm(transA: true, transB: false, M: Sd, N: F, K: B, A: x, lda: Sd, B: df, ldb: F, beta: 0, C: g + wEnc, ldc: F)
        let gbe = g + bEnc
        parallelFor(F, grain: 128) { lo, hi in
            for i in lo..<hi {
                var t: Float = 0
                for b in 0..<B { t += df[b * F + i] }
                gbe[i] = t
            }
        }
        return st
    }
}

/// Adam (bias-corrected, no weight decay) over a parameter buffer.
public final class Adam {
    public let m: FloatBuffer, v: FloatBuffer
    public var step = 0
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8

    public init(count: Int) {
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
    }

    public func update(_ params: FloatBuffer, _ grads: FloatBuffer, lr: Float) {
        step += 1
        let b1 = beta1, b2 = beta2, eps = self.eps
        let c1 = 1 - Float(pow(Double(b1), Double(step))), c2 = (1 - Float(pow(Double(b2), Double(step)))).squareRoot()
        let w = params.pointer, g = grads.pointer, mm = m.pointer, vv = v.pointer
        let stepSize = lr / c1, ic2 = 1 / c2
        parallelFor(params.count, grain: 1 << 15) { lo, hi in
            for i in lo..<hi {
                let gi = g[i]
                let mi = b1 * mm[i] + (1 - b1) * gi
                let vi = b2 * vv[i] + (1 - b2) * gi * gi
                mm[i] = mi
                vv[i] = vi
                w[i] -= stepSize * mi / (vi.squareRoot() * ic2 + eps)
            }
        }
    }
}

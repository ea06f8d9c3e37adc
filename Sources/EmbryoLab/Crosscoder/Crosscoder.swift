// A crosscoder across S snapshots (Ge et al. 2025, after Lindsey et al. 2024): one sparse code shared by
// every snapshot, one decoder per snapshot.
//   f = ReLU(sum_s W_enc^s x^s + b_enc)            x (B, S*d): the snapshots' activations side by side
//   x_hat^s = W_dec^s f + b_dec^s
//   loss = mean over tokens of [ sum_s ||x^s - x_hat^s||^2 + lambda * sum_i f_i * sum_s ||W_dec,i^s|| ]
// With the snapshot blocks concatenated, the encoder is one (S*d, F) matrix and the decoder one (F, S*d)
// matrix, so a step is five sgemms. Parameters in one buffer: W_enc (S*d, F), b_enc (F), W_dec (F, S*d),
// b_dec (S*d).

import EmbryoCore
import EmbryoRun
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
    let fill: IntBuffer  // (F) scratch for the CSC transpose
    var nnz = 0
    // per-step scratch: per snapshot mean (S, d), SSE and SST (S, 2), and each feature's total decoder norm (F)
    let means: UnsafeMutablePointer<Double>, sums: UnsafeMutablePointer<Double>
    let total: FloatBuffer

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
        fill = IntBuffer(count: F)
        means = .allocate(capacity: S * d)
        sums = .allocate(capacity: 2 * S)
        total = FloatBuffer(count: F)
    }

    deinit {
        means.deallocate()
        sums.deallocate()
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
        fill.pointer.update(from: colStart.pointer, count: F)
        for b in 0..<B {
            for k in Int(rowStart[b])..<Int(rowStart[b + 1]) {
                let i = Int(csrCol[k]), at = Int(fill[i])
                cscRow[at] = Int32(b)
                cscVal[at] = csrVal[k]
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
        encode(x, B: B, buf)
        buf.gather(B: B, F: F)
        let sparse = Double(buf.nnz) < sparseBelow * Double(B * F)
        decode(B: B, buf, sparse: sparse)
        decoderNorms(buf.norms.pointer)
        var st = reconstructionError(x, B: B, buf)
        let penalty = sparsityPenalty(buf)
        st.reconstruction = st.sse.reduce(0, +) / Double(B)
        st.sparsity = penalty / Double(B)
        st.loss = st.reconstruction + Double(lambda) * st.sparsity
        st.l0 = Double(buf.nnz) / Double(B)
        guard gradients else { return st }
        decoderBackward(B: B, lambda: lambda, buf, sparse: sparse)
        codesBackward(B: B, lambda: lambda, buf, sparse: sparse)
        let g = grads.pointer, df = buf.df.pointer
        // encoder: dW_enc = x^T df, db_enc = sum_b df
        gemm(transA: true, transB: false, M: Sd, N: F, K: B, A: x, lda: Sd, B: df, ldb: F, beta: 0, C: g + wEnc, ldc: F)
        columnSums(df, rows: B, cols: F, into: g + bEnc)
        return st
    }

    /// Per snapshot, the summed squared error and the total sum of squares of the batch, and the error's
    /// gradient 2 (x_hat - x) / B into buf.dxhat; one snapshot per task.
    func reconstructionError(_ x: UnsafePointer<Float>, B: Int, _ buf: CrosscoderBuffers) -> CrosscoderStats {
        let S = self.S, d = self.d, Sd = self.Sd
        let xhat = buf.xhat.pointer, dxhat = buf.dxhat.pointer
        var st = CrosscoderStats()
        st.sse = [Double](repeating: 0, count: S)
        st.sst = [Double](repeating: 0, count: S)
        let inv = 1 / Float(B)
        let sums = buf.sums
        parallelFor(S, grain: 1) { lo, hi in
            for s in lo..<hi {
                let mean = buf.means + s * d
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
        return st
    }

    /// The sparsity penalty summed over the batch: per nonzero code, the code times its feature's total
    /// decoder norm (kept in buf.total; buf.fsum gets each feature's summed codes).
    func sparsityPenalty(_ buf: CrosscoderBuffers) -> Double {
        let S = self.S, F = self.F, norms = buf.norms.pointer
        // sparsity penalty: per feature, its total decoder norm, over the nonzero codes gathered above
        let total = buf.total.pointer
        for i in 0..<F {
            total[i] = 0
            for s in 0..<S { total[i] += norms[i * S + s] }
        }
        var penalty = 0.0
        let fsum = buf.fsum.pointer
        fsum.update(repeating: 0, count: F)
        for k in 0..<buf.nnz {
            let i = Int(buf.csrCol[k]), v = buf.csrVal[k]
            penalty += Double(v * total[i])
            fsum[i] += v
        }
        return penalty
    }

    /// dW_dec = f^T dxhat, plus the penalty's lambda * mean_b f_bi * W_dec,i^s / ||W_dec,i^s||, and db_dec.
    func decoderBackward(B: Int, lambda: Float, _ buf: CrosscoderBuffers, sparse: Bool) {
        let S = self.S, d = self.d, F = self.F, Sd = self.Sd, inv = 1 / Float(B)
        let f = buf.f.pointer, dxhat = buf.dxhat.pointer, norms = buf.norms.pointer, fsum = buf.fsum.pointer
        let p = params.pointer, g = grads.pointer
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
        columnSums(dxhat, rows: B, cols: Sd, into: g + bDec)
    }

    /// df = dxhat W_dec^T + lambda / B * total_i, through the ReLU.
    func codesBackward(B: Int, lambda: Float, _ buf: CrosscoderBuffers, sparse: Bool) {
        let F = self.F, Sd = self.Sd, inv = 1 / Float(B)
        let p = params.pointer, pre = buf.pre.pointer, df = buf.df.pointer, dxhat = buf.dxhat.pointer
        let total = buf.total.pointer
        if sparse {
            let start = buf.rowStart.pointer, col = buf.csrCol.pointer
            parallelFor(B, grain: 8) { lo, hi in
                for b in lo..<hi {
                    let row = df + b * F
                    row.update(repeating: 0, count: F)
                    for k in Int(start[b])..<Int(start[b + 1]) {
                        let i = Int(col[k])
                        row[i] = dot(Sd, dxhat + b * Sd, p + self.wDec + i * Sd) + lambda * inv * total[i]
                    }
                }
            }
        } else {
            gemm(
                transA: false, transB: true, M: B, N: F, K: Sd, A: dxhat, lda: Sd, B: p + wDec, ldb: Sd, beta: 0, C: df,
                ldc: F)
            parallelFor(B, grain: 16) { lo, hi in
                for b in lo..<hi {
                    for i in 0..<F {
                        let k = b * F + i
                        df[k] = pre[k] > 0 ? df[k] + lambda * inv * total[i] : 0
                    }
                }
            }
        }
    }

    /// out[j] = sum over rows of m[r, j] (a bias gradient), each column summed in row order.
    func columnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        parallelFor(cols, grain: 128) { lo, hi in
            for j in lo..<hi {
                var t: Float = 0
                for r in 0..<rows { t += m[r * cols + j] }
                out[j] = t
            }
        }
    }
}

/// Adam (bias-corrected, no weight decay) over a parameter buffer: the engine's AdamW kernel with decay 0.
public final class Adam {
    public let m: FloatBuffer, v: FloatBuffer
    public var step = 0
    public var hyper: OptimizerHyper

    public init(count: Int) {
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
        hyper = OptimizerHyper()
        hyper.eps = 1e-8
        hyper.weightDecay = 0
    }

    public func update(_ params: FloatBuffer, _ grads: FloatBuffer, lr: Float) {
        step += 1
        adamwUpdate(
            params: params.pointer, grads: grads.pointer, m: m.pointer, v: v.pointer, count: params.count, lr: lr,
            step: step, hyper: hyper, weightDecay: 0)
    }
}

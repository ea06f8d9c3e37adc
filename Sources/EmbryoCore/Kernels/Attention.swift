// Multi-head self-attention core on a fused (B, T, 3H) q|k|v buffer, with a key padding mask.
// Matches HF's eager ALBERT attention: softmax(q k^T / sqrt(HS) + mask) v, where masked keys get
// probability zero (HF adds finfo.min, whose exp underflows to exactly 0). One (batch, head) per task.

@inline(__always)
public func attentionForward(
    ctx: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    qkv: UnsafePointer<Float>, keyMask: UnsafePointer<Float>,
    B: Int, T: Int, H: Int, NH: Int, neighbourBias: Float = 0
) {
    let HS = H / NH, ld = 3 * H
    let scale = 1 / Float(HS).squareRoot()
    parallelFor(B * NH) { lo, hi in
        var clock = SplitClock()
        for bh in lo..<hi {
            let b = bh / NH, h = bh % NH
            let q = qkv + b * T * ld + h * HS
            let p = probs + bh * T * T
            sgemmSerial(
                transA: false, transB: true, M: T, N: T, K: HS, alpha: scale, A: q, lda: ld,
                B: q + H, ldb: ld, beta: 0, C: p, ldc: T)
            if neighbourBias != 0 { addNeighbourBias(p, T: T, towardPrevious: h % 2 == 0, bias: neighbourBias) }
            clock.markFirst()
            maskedSoftmaxRows(p, rows: T, cols: T, keyMask: keyMask + b * T)
            clock.markSecond()
            sgemmSerial(
                transA: false, transB: false, M: T, N: HS, K: T, A: p, lda: T, B: q + 2 * H, ldb: ld,
                beta: 0, C: ctx + b * T * H + h * HS, ldc: H)
            clock.markFirst()
        }
        clock.bookAttention()
    }
}

/// The attention nudge (a training-time intervention, not part of HF's model): adds `bias` to the score of
/// each query's previous key (even heads) or next key (odd heads) before the softmax. The backward needs no
/// change: the bias is a constant, and the softmax's gradient is taken from the probabilities it produced.
@inline(__always)
func addNeighbourBias(_ p: UnsafeMutablePointer<Float>, T: Int, towardPrevious: Bool, bias: Float) {
    if towardPrevious {
        for i in 1..<max(T, 1) { p[i * T + i - 1] += bias }
    } else {
        for i in 0..<max(T - 1, 0) { p[i * T + i + 1] += bias }
    }
}

/// Writes dqkv (not accumulated: attention is its only consumer) from dctx. `dprobs` is (B, NH, T, T) scratch.
@inline(__always)
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, dprobs: UnsafeMutablePointer<Float>,
    dctx: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    B: Int, T: Int, H: Int, NH: Int, extra: AttentionGradientView? = nil
) {
    let HS = H / NH, ld = 3 * H
    let scale = 1 / Float(HS).squareRoot()
    parallelFor(B * NH) { lo, hi in
        var clock = SplitClock()
        for bh in lo..<hi {
            let b = bh / NH, h = bh % NH
            let q = qkv + b * T * ld + h * HS
            let dq = dqkv + b * T * ld + h * HS
            let p = probs + bh * T * T
            let dp = dprobs + bh * T * T
            let dc = dctx + b * T * H + h * HS
            // dprobs = dctx v^T ; dv = probs^T dctx
            sgemmSerial(
                transA: false, transB: true, M: T, N: T, K: HS, A: dc, lda: H, B: q + 2 * H, ldb: ld,
                beta: 0, C: dp, ldc: T)
            sgemmSerial(
                transA: true, transB: false, M: T, N: HS, K: T, A: p, lda: T, B: dc, ldb: H,
                beta: 0, C: dq + 2 * H, ldc: ld)
            if let extra {  // a regulariser's gradient on the probabilities themselves
                for e in Int(extra.offsets[bh])..<Int(extra.offsets[bh + 1]) {
                    dp[Int(extra.index[e])] += extra.value[e]
                }
            }
            clock.markFirst()
            // softmax backward, with the 1/sqrt(HS) of the scores folded in
            for i in 0..<T {
                let pr = p + i * T, dr = dp + i * T
                let dot = vdot(pr, dr, T)
                for j in 0..<T { dr[j] = pr[j] * (dr[j] - dot) * scale }
            }
            clock.markSecond()
            // dq = dscores k ; dk = dscores^T q
            sgemmSerial(
                transA: false, transB: false, M: T, N: HS, K: T, A: dp, lda: T, B: q + H, ldb: ld,
                beta: 0, C: dq, ldc: ld)
            sgemmSerial(
                transA: true, transB: false, M: T, N: HS, K: T, A: dp, lda: T, B: q, ldb: ld,
                beta: 0, C: dq + H, ldc: ld)
            clock.markFirst()
        }
        clock.bookAttention()
    }
}

/// Row softmax in place over `cols` entries; keys whose mask is 0 get probability exactly 0 (as HF's
/// finfo.min mask gives after exp). A row with no visible key becomes uniform, as it does in HF.
@inline(__always)
public func maskedSoftmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, keyMask: UnsafePointer<Float>) {
    var visible = 0
    for j in 0..<cols where keyMask[j] != 0 { visible += 1 }
    for i in 0..<rows {
        let row = p + i * cols
        if visible == 0 {
            for j in 0..<cols { row[j] = 1 / Float(cols) }
        } else {
            softmaxRow(row, cols, mask: visible == cols ? nil : keyMask)
        }
    }
}

/// Softmax of one row, 8 lanes at a time; with a 0/1 mask, masked lanes take no part in the max and
/// are multiplied to exactly 0.
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, mask: UnsafePointer<Float>?) {
    let negInf = SIMD8<Float>(repeating: -.infinity)
    var mv = negInf
    vectorLoop(n) { i, k in
        var x = loadPartial(row + i, k)
        if k < 8 { for z in k..<8 { x[z] = -.infinity } }
        if let mask { x.replace(with: negInf, where: loadPartial(mask + i, k) .== 0) }
        mv.replace(with: x, where: x .> mv)
    }
    let m = SIMD8<Float>(repeating: mv.max())
    var acc = SIMD8<Float>()
    vectorLoop(n) { i, k in
        var e = expSIMD(loadPartial(row + i, k) - m)
        if let mask { e *= loadPartial(mask + i, k) }
        if k < 8 { for z in k..<8 { e[z] = 0 } }
        storePartial(e, row + i, k)
        acc += e
    }
    let inv = 1 / acc.sum()
    vectorLoop(n) { i, k in storePartial(loadPartial(row + i, k) * inv, row + i, k) }
}

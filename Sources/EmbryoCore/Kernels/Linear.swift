// Linear layer y = x W^T + b with torch's weight layout W (out, in), optionally plus a residual.
// Backward accumulates: dweight += dout^T x, dbias += column sums of dout, and dinp += dout W (or dinp =).

/// out(R, O) = residual + inp(R, I) W^T + bias. `inp` rows may be strided (ldInp >= I).
@inline(__always)
public func linearForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil,
    rows R: Int, inDim I: Int, outDim O: Int, ldInp: Int? = nil, ldOut: Int? = nil
) {
    let lo = ldOut ?? O
    parallelFor(R, grain: 256) { a, b in
        for r in a..<b {
            let o = out + r * lo
            switch (bias, residual) {
            case let (bb?, rr?): let rp = rr + r * O; for j in 0..<O { o[j] = rp[j] + bb[j] }
            case let (bb?, nil): o.update(from: bb, count: O)
            case let (nil, rr?): o.update(from: rr + r * O, count: O)
            case (nil, nil): o.update(repeating: 0, count: O)
            }
        }
    }
    gemm(
        transA: false, transB: true, M: R, N: O, K: I, A: inp, lda: ldInp ?? I, B: weight, ldb: I,
        beta: 1, C: out, ldc: lo)
}

@inline(__always)
public func linearBackward(
    dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows R: Int, inDim I: Int, outDim O: Int, ldInp: Int? = nil, ldDinp: Int? = nil, ldDout: Int? = nil,
    accumulateDinp: Bool = true
) {
    let ldo = ldDout ?? O
    if let dinp {
        gemm(
            transA: false, transB: false, M: R, N: I, K: O, A: dout, lda: ldo, B: weight, ldb: I,
            beta: accumulateDinp ? 1 : 0, C: dinp, ldc: ldDinp ?? I)
    }
    gemm(
        transA: true, transB: false, M: O, N: I, K: R, A: dout, lda: ldo, B: inp, ldb: ldInp ?? I,
        beta: 1, C: dweight, ldc: I)
    if let dbias { columnSumAccumulate(dbias, dout, rows: R, cols: O, ld: ldo) }
}

/// acc[j] += sum over rows of m[r, j]; split over columns so each sum has one order.
@inline(__always)
public func columnSumAccumulate(
    _ acc: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int
) {
    parallelFor(cols, grain: 64) { lo, hi in
        for r in 0..<rows {
            let row = m + r * ld
            for j in lo..<hi { acc[j] += row[j] }
        }
    }
}

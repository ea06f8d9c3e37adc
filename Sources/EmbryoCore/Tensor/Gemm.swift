// Row-major sgemm through OpenBLAS: C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C.
// Large products are split over rows of C (or columns when C is wide and short) into fixed chunks,
// one single-threaded OpenBLAS call per thread; K is never split, so sums keep one order.

import CBLAS

@inline(__always)
public func gemm(
    transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1,
    A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = Threads.count
) {
    if M <= 0 || N <= 0 { return }
    let work = M * N * max(K, 1)
    let splitRows = M >= N
    let extent = splitRows ? M : N
    let n = work < (1 << 17) ? 1 : min(threads, max(1, extent / 16))
    if n <= 1 {
        sgemmSerial(
            transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, A: A, lda: lda,
            B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
        return
    }
    // chunk edges on multiples of 16 so every chunk keeps full-width micro-kernel tiles
    let step = ((extent + n - 1) / n + 15) / 16 * 16
    parallelFor(n, threads: n) { lo, hi in
        for chunk in lo..<hi {
            let s = chunk * step
            let e = min(extent, s + step)
            if s >= e { continue }
            if splitRows {
                let a = transA ? A + s : A + s * lda
                sgemmSerial(
                    transA: transA, transB: transB, M: e - s, N: N, K: K, alpha: alpha, A: a, lda: lda,
                    B: B, ldb: ldb, beta: beta, C: C + s * ldc, ldc: ldc)
            } else {
                let b = transB ? B + s * ldb : B + s
                sgemmSerial(
                    transA: transA, transB: transB, M: M, N: e - s, K: K, alpha: alpha, A: A, lda: lda,
                    B: b, ldb: ldb, beta: beta, C: C + s, ldc: ldc)
            }
        }
    }
}

/// One OpenBLAS call on the calling thread (OpenBLAS is pinned to one thread by Threads.configure).
@inline(__always)
public func sgemmSerial(
    transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1,
    A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
) {
    if M <= 0 || N <= 0 { return }
    if K <= 0 {
        // BLAS leaves C untouched for K == 0 only when beta == 1; spell it out
        for i in 0..<M { for j in 0..<N { C[i * ldc + j] *= beta } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

/// y += alpha * x over n contiguous floats (BLAS saxpy, on the calling thread).
@inline(__always)
public func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
}

/// The dot product of n contiguous floats (BLAS sdot, on the calling thread).
@inline(__always)
public func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
    cblas_sdot(Int32(n), x, 1, y, 1)
}

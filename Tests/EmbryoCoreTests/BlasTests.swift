// The sgemm wrapper against naive loops for every transpose case, odd sizes, strided operands,
// beta 0 and 1, and sizes large enough to take the split-over-threads path.

import EmbryoCore
import Foundation
import XCTest

final class BlasTests: XCTestCase {
    func naive(
        _ tA: Bool, _ tB: Bool, M: Int, N: Int, K: Int, alpha: Float, A: [Float], lda: Int, B: [Float], ldb: Int,
        beta: Float, C: [Float], ldc: Int
    ) -> [Float] {
        var out = C
        for i in 0..<M {
            for j in 0..<N {
                var s: Double = 0
                for k in 0..<K {
                    let a = tA ? A[k * lda + i] : A[i * lda + k]
                    let b = tB ? B[j * ldb + k] : B[k * ldb + j]
                    s += Double(a) * Double(b)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(C[i * ldc + j]))
            }
        }
        return out
    }

    func check(M: Int, N: Int, K: Int, threads: Int) {
        var rng = Rng(seed: UInt64(M * 1000 + N * 10 + K))
        for tA in [false, true] {
            for tB in [false, true] {
                for beta: Float in [0, 1] {
                    let lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 2, ldc = N + 1
                    let A = randomBuffer((tA ? K : M) * lda, &rng), B = randomBuffer((tB ? N : K) * ldb, &rng)
                    let C = randomBuffer(M * ldc, &rng)
                    let expected = naive(
                        tA, tB, M: M, N: N, K: K, alpha: 0.7, A: A.array, lda: lda, B: B.array, ldb: ldb,
                        beta: beta, C: C.array, ldc: ldc)
                    gemm(
                        transA: tA, transB: tB, M: M, N: N, K: K, alpha: 0.7, A: A.pointer, lda: lda, B: B.pointer,
                        ldb: ldb,
                        beta: beta, C: C.pointer, ldc: ldc, threads: threads)
                    var worst: Float = 0
                    for i in 0..<M {
                        for j in 0..<N { worst = max(worst, abs(C[i * ldc + j] - expected[i * ldc + j])) }
                    }
                    XCTAssertLessThan(
                        worst, 1e-3, "M \(M) N \(N) K \(K) tA \(tA) tB \(tB) beta \(beta) threads \(threads)")
                    // the padding columns of C are never touched
                    for i in 0..<M { XCTAssertEqual(C[i * ldc + N], expected[i * ldc + N]) }
                }
            }
        }
    }

    func testSmallOddShapes() {
        check(M: 3, N: 5, K: 7, threads: 1)
        check(M: 1, N: 1, K: 1, threads: 2)
        check(M: 13, N: 11, K: 1, threads: 2)
    }

    func testSplitOverRowsAndColumns() {
        check(M: 97, N: 33, K: 45, threads: 2)  // split over rows of C
        check(M: 35, N: 131, K: 41, threads: 3)  // split over columns of C
    }

    func testSplitIsThreadCountStableAndMatchesSerial() {
        var rng = Rng(seed: 9)
        let M = 129, N = 65, K = 70
        let A = randomBuffer(M * K, &rng), B = randomBuffer(K * N, &rng)
        let c1 = FloatBuffer(count: M * N), c2 = FloatBuffer(count: M * N)
        gemm(
            transA: false, transB: false, M: M, N: N, K: K, A: A.pointer, lda: K, B: B.pointer, ldb: N, beta: 0,
            C: c1.pointer, ldc: N,
            threads: 1)
        gemm(
            transA: false, transB: false, M: M, N: N, K: K, A: A.pointer, lda: K, B: B.pointer, ldb: N, beta: 0,
            C: c2.pointer, ldc: N,
            threads: 2)
        var worst: Float = 0
        for i in 0..<(M * N) { worst = max(worst, abs(c1[i] - c2[i])) }
        XCTAssertLessThan(worst, 1e-4)
    }

    func testZeroInnerDimensionScalesByBeta() {
        let C = FloatBuffer([1, 2, 3, 4])
        let A = FloatBuffer(count: 1), B = FloatBuffer(count: 1)
        gemm(
            transA: false, transB: false, M: 2, N: 2, K: 0, A: A.pointer, lda: 1, B: B.pointer, ldb: 2, beta: 0.5,
            C: C.pointer, ldc: 2)
        XCTAssertEqual(C.array, [0.5, 1, 1.5, 2])
    }

    func testVectorMathMatchesFoundation() {
        var worstExp: Float = 0, worstTanh: Float = 0
        var x: Float = -80
        while x < 80 {
            let e = expScalar(x), r = Float(Foundation.exp(Double(x)))
            worstExp = max(worstExp, abs(e - r) / r)
            worstTanh = max(worstTanh, abs(tanhScalar(x / 8) - Float(Foundation.tanh(Double(x / 8)))))
            x += 0.0137
        }
        XCTAssertLessThan(worstExp, 4e-7)
        XCTAssertLessThan(worstTanh, 4e-7)
        XCTAssertEqual(expScalar(-1000), expScalar(-87.3))
        XCTAssertTrue(expScalar(1000).isFinite)
    }
}

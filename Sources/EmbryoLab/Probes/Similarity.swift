// Representational similarity of two sets of vectors for the same tokens (n rows each): linear CKA
// (Kornblith et al. 2019) and SVCCA (Raghu et al. 2017). The cross products go through OpenBLAS; the rest
// is in double precision on d x d matrices, with LAPACK's eigensolver. Both are invariant to orthogonal transforms of either side;
// CKA also to isotropic scaling, SVCCA to any invertible linear map of the kept directions.

import EmbryoCore
import EmbryoRun
import Foundation

public enum Similarity {
    /// Column-centred copy of a row-major n x d matrix.
    static func centred(_ x: [Float], n: Int, d: Int) -> [Float] {
        var means = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { means[j] += Double(x[i * d + j]) } }
        var out = x
        for j in 0..<d {
            let m = Float(means[j] / Double(n))
            for i in 0..<n { out[i * d + j] -= m }
        }
        return out
    }

    /// A^T B for row-major n x da and n x db matrices: da x db, in double.
    static func crossProduct(_ a: [Float], _ da: Int, _ b: [Float], _ db: Int, n: Int) -> [Double] {
        var c = [Float](repeating: 0, count: da * db)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    gemm(
                        transA: true, transB: false, M: da, N: db, K: n, A: pa.baseAddress!, lda: da,
                        B: pb.baseAddress!, ldb: db, beta: 0, C: pc.baseAddress!, ldc: db)
                }
            }
        }
        return c.map(Double.init)
    }

    static func frobeniusSquared(_ m: [Double]) -> Double { m.reduce(0) { $0 + $1 * $1 } }

    /// Linear CKA of row-major x (n x dx) and y (n x dy): ||Yc'Xc||^2 / (||Xc'Xc|| ||Yc'Yc||), in [0, 1].
    public static func linearCKA(_ x: [Float], dx: Int, _ y: [Float], dy: Int, n: Int) -> Double {
        let xc = centred(x, n: n, d: dx), yc = centred(y, n: n, d: dy)
        let xy = frobeniusSquared(crossProduct(yc, dy, xc, dx, n: n))
        let xx = frobeniusSquared(crossProduct(xc, dx, xc, dx, n: n)).squareRoot()
        let yy = frobeniusSquared(crossProduct(yc, dy, yc, dy, n: n)).squareRoot()
        guard xx > 0 && yy > 0 else { return .nan }
        return xy / (xx * yy)
    }

    /// SVCCA: each side reduced to its top principal directions explaining `keep` of its variance, then
    /// the mean of the canonical correlations between the two reduced sides (as many as the smaller keeps).
    public static func svcca(_ x: [Float], dx: Int, _ y: [Float], dy: Int, n: Int, keep: Double = 0.99) -> Double {
        let xc = centred(x, n: n, d: dx), yc = centred(y, n: n, d: dy)
        let (lx, px) = principal(crossProduct(xc, dx, xc, dx, n: n), d: dx, keep: keep)
        let (ly, py) = principal(crossProduct(yc, dy, yc, dy, n: n), d: dy, keep: keep)
        guard !lx.isEmpty && !ly.isEmpty else { return .nan }
        let sxy = crossProduct(xc, dx, yc, dy, n: n)  // dx x dy
        // the whitened cross-covariance of the reduced sides: Lx^-1/2 Px' Sxy Py Ly^-1/2 (kx x ky)
        let kx = lx.count, ky = ly.count
        var m = [Double](repeating: 0, count: kx * ky)
        var t = [Double](repeating: 0, count: dx * ky)  // Sxy Py
        for i in 0..<dx {
            for b in 0..<ky {
                var s = 0.0
                for j in 0..<dy { s += sxy[i * dy + j] * py[j * ky + b] }
                t[i * ky + b] = s
            }
        }
        for a in 0..<kx {
            for b in 0..<ky {
                var s = 0.0
                for i in 0..<dx { s += px[i * kx + a] * t[i * ky + b] }
                m[a * ky + b] = s / (lx[a] * ly[b]).squareRoot()
            }
        }
        // canonical correlations: square roots of the eigenvalues of M M' (kx x kx)
        var mmt = [Double](repeating: 0, count: kx * kx)
        for a in 0..<kx {
            for c in a..<kx {
                var s = 0.0
                for b in 0..<ky { s += m[a * ky + b] * m[c * ky + b] }
                mmt[a * kx + c] = s
                mmt[c * kx + a] = s
            }
        }
        guard let (values, _) = symmetricEigen(mmt, n: kx) else { return .nan }
        let r = values.prefix(min(kx, ky)).map { min(1, max(0, $0).squareRoot()) }
        return r.reduce(0, +) / Double(r.count)
    }

    /// The eigenvalues (descending) and eigenvectors (columns of a d x k matrix) of a covariance that
    /// explain `keep` of its trace; eigenvalues below 1e-12 of the largest are never kept.
    static func principal(_ cov: [Double], d: Int, keep: Double) -> ([Double], [Double]) {
        guard let (values, vectors) = symmetricEigen(cov, n: d) else { return ([], []) }
        let total = values.reduce(0) { $0 + max($1, 0) }
        guard total > 0 else { return ([], []) }
        var k = 0, sum = 0.0
        while k < d && sum < keep * total && values[k] > 1e-12 * values[0] {
            sum += values[k]
            k += 1
        }
        var p = [Double](repeating: 0, count: d * k)
        for i in 0..<d { for c in 0..<k { p[i * k + c] = vectors[i * d + c] } }
        return (Array(values.prefix(k)), p)
    }
}

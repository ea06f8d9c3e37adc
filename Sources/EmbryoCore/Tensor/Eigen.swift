// Eigendecomposition of a symmetric matrix through LAPACK's dsyev (bundled with OpenBLAS).

import CBLAS

/// Eigenvalues in descending order and the row-major n x n matrix whose columns are the matching unit
/// eigenvectors, of the symmetric row-major matrix `a`; nil when LAPACK reports a failure.
public func symmetricEigen(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double])? {
    guard n > 0 else { return ([], []) }
    // a symmetric matrix is its own transpose, so row-major in is column-major in; LAPACK returns the
    // eigenvectors as columns of a column-major matrix, i.e. as rows of the row-major result
    var m = a
    var w = [Double](repeating: 0, count: n)
    var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
    var nn = Int32(n), lda = Int32(n), info: Int32 = 0
    var query = 0.0, lwork: Int32 = -1
    dsyev_(&jobz, &uplo, &nn, &m, &lda, &w, &query, &lwork, &info)
    guard info == 0 else { return nil }
    lwork = Int32(query)
    var work = [Double](repeating: 0, count: max(1, Int(lwork)))
    dsyev_(&jobz, &uplo, &nn, &m, &lda, &w, &work, &lwork, &info)
    guard info == 0 else { return nil }
    var vectors = [Double](repeating: 0, count: n * n)
    for c in 0..<n {
        let src = n - 1 - c  // ascending from LAPACK, descending here
        for i in 0..<n { vectors[i * n + c] = m[src * n + i] }
    }
    return (w.reversed(), vectors)
}

// Similarity measures against numpy (Scripts/make-similarity-fixture.py): linear CKA computed through
// n x n Gram matrices and SVCCA through SVD and QR, on random matrices; and the invariances both must
// have (a representation against itself, a rotation of it, a rescaling).

import EmbryoCore
import EmbryoLab
import EmbryoRun
import Foundation
import XCTest

final class SimilarityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var name: String
            var dy: Int
            var y: [Float]
            var linear_cka: Double
            var svcca: Double
        }
        var n: Int
        var dx: Int
        var x: [Float]
        var cases: [Case]
    }

    func fixture() throws -> Fixture {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("similarity.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testLinearCKAAndSVCCAMatchNumpy() throws {
        let f = try fixture()
        XCTAssertEqual(f.cases.count, 3)
        for c in f.cases {
            let cka = Similarity.linearCKA(f.x, dx: f.dx, c.y, dy: c.dy, n: f.n)
            XCTAssertEqual(cka, c.linear_cka, accuracy: 1e-4, c.name)
            let svcca = Similarity.svcca(f.x, dx: f.dx, c.y, dy: c.dy, n: f.n)
            XCTAssertEqual(svcca, c.svcca, accuracy: 1e-3, c.name)
        }
    }

    func testInvariances() throws {
        let f = try fixture()
        let x = f.x, n = f.n, d = f.dx
        XCTAssertEqual(Similarity.linearCKA(x, dx: d, x, dy: d, n: n), 1, accuracy: 1e-5)
        XCTAssertEqual(Similarity.svcca(x, dx: d, x, dy: d, n: n), 1, accuracy: 1e-5)
        // a rotation (Givens rotations of every pair of columns) and a rescaling
        var r = x
        for p in 0..<(d - 1) {
            let angle = Float(p + 1) * 0.37, c = cos(angle), s = sin(angle)
            for i in 0..<n {
                let a = r[i * d + p], b = r[i * d + p + 1]
                r[i * d + p] = c * a - s * b
                r[i * d + p + 1] = s * a + c * b
            }
        }
        XCTAssertEqual(Similarity.linearCKA(x, dx: d, r, dy: d, n: n), 1, accuracy: 1e-5)
        XCTAssertEqual(Similarity.svcca(x, dx: d, r, dy: d, n: n), 1, accuracy: 1e-4)
        let scaled = x.map { $0 * 3 + 1 }
        XCTAssertEqual(Similarity.linearCKA(x, dx: d, scaled, dy: d, n: n), 1, accuracy: 1e-5)
        // fewer dimensions than the other side: still a number in [0, 1]
        let half = (0..<n).flatMap { i in (0..<(d / 2)).map { x[i * d + $0] } }
        let v = Similarity.linearCKA(x, dx: d, half, dy: d / 2, n: n)
        XCTAssertGreaterThan(v, 0)
        XCTAssertLessThan(v, 1)
    }
}

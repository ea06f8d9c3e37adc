// The LLC estimator against losses whose answer is known: a regular quadratic in d dimensions has
// lambda = d/2 (here the discrete sampler's exact stationary value), a degenerate direction lowers it; the
// same seed gives the same bits; the warnings fire on a diverging chain, a drifting trace and a negative
// estimate; stage boundaries and R-hat on hand-made inputs.

import EmbryoCore
import EmbryoLab
import EmbryoRun
import EmbryoTestSupport
import Foundation
import XCTest

/// L(w) = 1/2 sum a_i w_i^2 with its exact gradient (every minibatch the same), minimum at w* = 0.
final class QuadraticTarget: LlcTarget {
    let a: [Float]
    let params: FloatBuffer, grads: FloatBuffer
    init(_ a: [Float]) {
        self.a = a
        params = FloatBuffer(count: a.count)
        grads = FloatBuffer(count: a.count)
    }
    var parameterCount: Int { a.count }
    var parameters: UnsafeMutablePointer<Float> { params.pointer }
    var gradient: UnsafeMutablePointer<Float> { grads.pointer }
    func loss(minibatch: Int, gradient: Bool) throws -> Double {
        var l = 0.0
        for i in 0..<a.count {
            l += 0.5 * Double(a[i]) * Double(params[i]) * Double(params[i])
            if gradient { grads[i] = a[i] * params[i] }
        }
        return l
    }
}

/// A loss that is a function of the minibatch number alone (no gradient): a scripted trace.
final class ScriptedTarget: LlcTarget {
    let script: (Int, Bool) -> Double
    let params = FloatBuffer(count: 4), grads = FloatBuffer(count: 4)
    init(_ script: @escaping (Int, Bool) -> Double) { self.script = script }
    var parameterCount: Int { 4 }
    var parameters: UnsafeMutablePointer<Float> { params.pointer }
    var gradient: UnsafeMutablePointer<Float> { grads.pointer }
    func loss(minibatch: Int, gradient: Bool) throws -> Double { script(minibatch, gradient) }
}

final class LlcTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    func settings(draws: Int = 4000) -> LlcSettings {
        var s = LlcSettings()
        s.eps = 1e-4
        s.gamma = 10
        s.nbeta = 1000
        s.chains = 6
        s.draws = draws
        s.burnin = 300
        return s
    }

    /// E[n_beta L] under the discrete chain w' = w - (eps/2) k w + sqrt(eps) z, k = n_beta a + gamma: its
    /// stationary variance is 1 / (k (1 - eps k / 4)).
    func expected(_ a: [Float], _ s: LlcSettings) -> Double {
        a.reduce(0) { sum, ai in
            let nb = s.effectiveNbeta, k = nb * Double(ai) + s.gamma
            return sum + nb * Double(ai) / (2 * k * (1 - s.eps * k / 4))
        }
    }

    func testRegularQuadraticHasHalfItsDimension() throws {
        let a = [Float](repeating: 1, count: 20), s = settings()
        let target = QuadraticTarget(a)
        let e = try LlcEstimator.estimate(target, settings: s)
        let want = expected(a, s)
        XCTAssertEqual(want, 10, accuracy: 0.3)  // d/2, up to the localisation and the step
        let m = try XCTUnwrap(e.mean), se = try XCTUnwrap(e.standardError)
        XCTAssertLessThan(abs(m - want), 3 * se, "estimate \(m) ± \(se), want \(want)")
        XCTAssertLessThan(se, 0.05 * want)
        XCTAssertEqual(e.centerLoss, 0)
        XCTAssertEqual(try XCTUnwrap(e.rhat), 1, accuracy: 0.05)
        XCTAssertTrue(e.warnings.isEmpty, "\(e.warnings)")
        XCTAssertEqual(Array(target.params.array), [Float](repeating: 0, count: 20), "w* is restored")
    }

    func testADegenerateDirectionLowersIt() throws {
        let a = [Float](repeating: 1, count: 14) + [Float](repeating: 0, count: 6), s = settings()
        let e = try LlcEstimator.estimate(QuadraticTarget(a), settings: s)
        let want = expected(a, s)
        XCTAssertEqual(want, 7, accuracy: 0.3)
        let m = try XCTUnwrap(e.mean), se = try XCTUnwrap(e.standardError)
        XCTAssertLessThan(abs(m - want), 3 * se, "estimate \(m) ± \(se), want \(want)")
        XCTAssertLessThan(m, 10 - 10 * se)
    }

    func testRmspropSamplerAlsoRecoversTheRegularCase() throws {
        // with g = a w small next to eps_rms = 0.1, the preconditioner is close to 10: the step is eps * 10
        var s = settings()
        s.sampler = .rmspropSgld
        s.eps = 1e-5
        let a = [Float](repeating: 1, count: 20)
        let m = try XCTUnwrap(LlcEstimator.estimate(QuadraticTarget(a), settings: s).mean)
        XCTAssertEqual(m, 10, accuracy: 0.6)
    }

    /// One step of each sampler against its formula, the noise drawn again from the block's own stream.
    func testOneStepOfEachSamplerIsItsFormula() {
        let n = 9000, seed: UInt64 = 77
        var rng = Rng(seed: 3)
        let w0 = (0..<n).map { _ in Float(rng.normal()) }, c = (0..<n).map { _ in Float(rng.normal()) * 0.1 }
        let g = (0..<n).map { _ in Float(rng.normal()) }
        var z = [Float](repeating: 0, count: n)
        for k in 0..<3 {  // blocks of 4,096, each from (seed, block)
            var r = Rng(seed: seed ^ (UInt64(k) &* 0xD1B5_4A32_D192_ED03))
            let lo = k * 4096, m = min(4096, n - lo)
            z.withUnsafeMutableBufferPointer { fillStandardNormal($0.baseAddress! + lo, count: m, rng: &r) }
        }
        for sampler in SgldSampler.allCases {
            let s = SgldSettings(sampler: sampler, eps: 1e-3, gamma: 50, nbeta: 20)
            let w = FloatBuffer(w0), v = FloatBuffer(count: n), gb = FloatBuffer(g), cb = FloatBuffer(c)
            for i in 0..<n { v[i] = 0.25 }
            sgldStep(
                params: w.pointer, grads: gb.pointer, center: cb.pointer, square: sampler == .sgld ? nil : v.pointer,
                count: n, settings: s, seed: seed)
            withExtendedLifetime((gb, cb, v)) {}
            for i in stride(from: 0, to: n, by: 997) {
                let drift = Double(s.nbeta * g[i] + s.gamma * (w0[i] - c[i]))
                var p = 1.0
                if sampler == .rmspropSgld {
                    let vi = 0.99 * 0.25 + 0.01 * Double(g[i]) * Double(g[i])
                    p = 1 / (vi.squareRoot() + 0.1)
                }
                let want = Double(w0[i]) - 5e-4 * p * drift + (1e-3 * p).squareRoot() * Double(z[i])
                XCTAssertEqual(Double(w[i]), want, accuracy: 1e-5, "\(sampler) \(i)")
            }
        }
        // the draws are standard normal
        let mean = z.reduce(0, +) / Float(n),
            sd = (z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(n)).squareRoot()
        XCTAssertEqual(Double(mean), 0, accuracy: 0.04)
        XCTAssertEqual(Double(sd), 1, accuracy: 0.03)
    }

    func testSameSeedSameBits() throws {
        let a = (0..<10_000).map { Float($0 % 5) * 0.5 }
        var s = settings(draws: 40)
        s.burnin = 10
        s.chains = 2
        s.sampler = .rmspropSgld
        let e1 = try LlcEstimator.estimate(QuadraticTarget(a), settings: s)
        let e2 = try LlcEstimator.estimate(QuadraticTarget(a), settings: s)
        XCTAssertEqual(e1, e2)
        Threads.configure(1)
        let e3 = try LlcEstimator.estimate(QuadraticTarget(a), settings: s)
        XCTAssertEqual(e1, e3, "the noise does not depend on the thread count (three blocks of parameters)")
        Threads.configure(2)
        s.seed = 2
        let e4 = try LlcEstimator.estimate(QuadraticTarget(a), settings: s)
        XCTAssertNotEqual(e1.mean, e4.mean)
    }

    func testWarningsFireOnADivergingChainADriftAndANegativeEstimate() throws {
        var s = settings(draws: 100)
        s.burnin = 10
        s.chains = 3
        let steps = s.burnin + s.draws
        // chain 2 blows up at its 20th step (w* itself stays put); the others sit still with small noise
        let diverging = ScriptedTarget { k, moved in
            let c = k / steps, t = k % steps
            return moved && c == 1 && t >= 19 ? 1e6 : 1 + 0.001 * Double((k * 7919) % 13)
        }
        let d = try LlcEstimator.estimate(diverging, settings: s, divergenceLoss: 10)
        XCTAssertEqual(d.chains[1].divergedAt, 19)
        XCTAssertNil(d.chains[1].estimate)
        XCTAssertTrue(d.warnings.contains { $0.hasPrefix("chain 2 diverged at step 20") }, "\(d.warnings)")
        XCTAssertFalse(d.warnings.contains { $0.contains("not flattened") }, "\(d.warnings)")
        // every draw's loss grows with the draw: the last half still drifts
        let drifting = ScriptedTarget { k, _ in 1 + 0.01 * Double(k % steps) + 0.001 * Double((k * 7919) % 13) }
        let r = try LlcEstimator.estimate(drifting, settings: s)
        XCTAssertTrue(r.warnings.contains { $0.contains("has not flattened") }, "\(r.warnings)")
        // the draws score lower than w* on the same minibatches (the centre loss is read without a gradient)
        let n = try LlcEstimator.estimate(ScriptedTarget { _, moved in moved ? 0.5 : 1 }, settings: s)
        XCTAssertTrue(n.warnings.contains { $0.hasPrefix("the estimate is negative") }, "\(n.warnings)")
        let nan = try LlcEstimator.estimate(ScriptedTarget { _, moved in moved ? .nan : 1 }, settings: s)
        XCTAssertNil(nan.mean)
        XCTAssertTrue(nan.warnings.contains("every chain diverged: no estimate"), "\(nan.warnings)")
        XCTAssertTrue(nan.warnings[0].contains("(loss not a number)"), "\(nan.warnings)")
        XCTAssertThrowsError(try LlcEstimator.estimate(ScriptedTarget { _, _ in .infinity }, settings: s))
    }

    func testRhatAndStageBoundaries() {
        let same = [[1.0, 2, 3, 2, 1], [1.0, 2, 3, 2, 1]]
        XCTAssertEqual(LlcDiagnostics.rhat(same)!, (4.0 / 5).squareRoot(), accuracy: 1e-12)
        let apart = [[1.0, 1.1, 0.9, 1.0], [5.0, 5.1, 4.9, 5.0]]
        XCTAssertGreaterThan(LlcDiagnostics.rhat(apart)!, 5)
        XCTAssertNil(LlcDiagnostics.rhat([[1.0, 2.0]]))
        let curve: [(step: Int, value: Double)] = [(0, 1), (100, 3), (200, 3), (300, 2), (400, 5), (500, 6)]
        XCTAssertEqual(LlcReport.stageBoundaries(curve), [200, 300])
        // the fall from 3 to 2 is within two standard errors of 0.4 each: flat, so no boundary at all
        let errors = Dictionary(uniqueKeysWithValues: curve.map { ($0.step, 0.4) })
        XCTAssertEqual(LlcReport.stageBoundaries(curve, errors: errors), [])
        XCTAssertEqual(LlcDiagnostics.slopeCritical(df: 8), 3.355, accuracy: 0.03)
        XCTAssertEqual(LlcDiagnostics.slopeCritical(df: 1000), 2.576, accuracy: 0.005)
        XCTAssertEqual(LlcReport.stageBoundaries([(0, 1), (1, 2), (2, 3)]), [])
    }
}

final class LlcProbeTests: ScratchDirectoryTestCase {
    /// The probe on every snapshot of a short run: its metrics, llc.jsonl with every chain's trace, the
    /// report's section, the minibatches drawn from the run's own steps, and the same bits from a fresh cache.
    func testEverySnapshotOfAShortRun() throws {
        let run = try Run(trainMicroRun())
        var o = ProbeOptions()
        o.probes = ["llc"]
        o.llc.chains = 2
        o.llc.draws = 6
        o.llc.burnin = 2
        o.llc.batch = 4
        o.llc.gamma = 1000
        let runner = try ProbeRunner(run: run, options: o, warn: { _ in })
        let ms = try runner.run(try runner.scan()) { _, _, _, _ in }
        for key in ["mean", "std_error", "center_loss", "warnings"] {
            XCTAssertEqual(ms.filter { $0.key == key }.map(\.step), [0, 10, 20], key)
        }
        let lines = try String(contentsOf: run.probes.appendingPathComponent("llc.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].contains("\"trace\""))
        let html = try String(contentsOf: run.probes.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Local learning coefficient"))
        XCTAssertTrue(ProbeReport.summary(ms).contains { $0.hasPrefix("local learning coefficient: ") })
        let warned = ms + [ProbeMetric(step: 30, probe: "llc", key: "warnings", value: 2, count: 2)]
        XCTAssertTrue(
            ProbeReport.summary(warned).contains {
                $0.hasPrefix("warning: the LLC estimates of steps ") && $0.contains("30")
            })
        // a minibatch is the first rows of a training step's batch, the step drawn within the run
        let source = try run.snapshots().last!.load().0
        let target = try RunBatchTarget(run: run, config: source.config, rows: 4, seed: 1)
        let steps = (0..<50).map(target.trainingStep)
        XCTAssertTrue(steps.allSatisfy { (1...20).contains($0) }, "\(steps)")
        XCTAssertGreaterThan(Set(steps).count, 10)
        // measured again from scratch: the same bits
        try FileManager.default.removeItem(at: run.probes)
        let again = try ProbeRunner(run: run, options: o, warn: { _ in })
        XCTAssertEqual(try again.run(try again.scan()) { _, _, _, _ in }, ms)
    }
}

// Optimizers in closed form (first LAMB and AdamW steps), the schedule, clipping, and determinism:
// the same seed and thread count give bit-identical parameters after 20 training steps.

import EmbryoCore
import Foundation
import XCTest

final class OptimizerTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    /// Fills params with w0 and grads with g0 on every tensor, returns the layout.
    func setup(_ layout: ParameterLayout, params: FloatBuffer, grads: FloatBuffer) {
        for i in 0..<params.count {
            params[i] = Float(i % 7) * 0.1 - 0.3
            grads[i] = Float(i % 5) * 0.02 - 0.05
        }
    }

    func testLambFirstStepClosedForm() {
        let layout = ParameterLayout(config: tinyConfig())
        let params = FloatBuffer(count: layout.total), grads = FloatBuffer(count: layout.total)
        setup(layout, params: params, grads: grads)
        let w0 = params.array, g0 = grads.array
        let opt = Optimizer(kind: .lamb, layout: layout)
        let lr: Float = 0.05
        opt.step(params: params, grads: grads, lr: lr)
        for t in layout.tensors {
            // first step without bias correction: m = 0.1 g, v = 0.001 g^2
            var u = [Double](repeating: 0, count: t.count)
            var wn: Double = 0, un: Double = 0
            for i in 0..<t.count {
                let g = Double(g0[t.offset + i]), w = Double(w0[t.offset + i])
                u[i] = 0.1 * g / ((0.001 * g * g).squareRoot() + 1e-6) + (t.isNoDecay ? 0 : 0.01 * w)
                wn += w * w
                un += u[i] * u[i]
            }
            let ratio = t.isNoDecay || wn == 0 || un == 0 ? 1 : wn.squareRoot() / un.squareRoot()
            for i in 0..<t.count {
                let expected = Double(w0[t.offset + i]) - Double(lr) * ratio * u[i]
                XCTAssertEqual(Double(params[t.offset + i]), expected, accuracy: 2e-6, "\(t.name)[\(i)]")
            }
        }
        XCTAssertTrue(layout.tensor(named: "predictions.bias")!.isNoDecay)
        XCTAssertTrue(layout.tensor(named: "albert.embeddings.LayerNorm.weight")!.isNoDecay)
        XCTAssertFalse(layout.tensor(named: "albert.embeddings.word_embeddings.weight")!.isNoDecay)
    }

    func testAdamWFirstStepClosedForm() {
        let layout = ParameterLayout(config: tinyConfig())
        let params = FloatBuffer(count: layout.total), grads = FloatBuffer(count: layout.total)
        setup(layout, params: params, grads: grads)
        let w0 = params.array, g0 = grads.array
        let opt = Optimizer(kind: .adamw, layout: layout)
        opt.step(params: params, grads: grads, lr: 0.01)
        for t in layout.tensors {
            for i in 0..<t.count {
                // bias-corrected first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps)
                let g = Double(g0[t.offset + i]), w = Double(w0[t.offset + i])
                let wd = t.isNoDecay ? 0 : 0.01
                let expected = w * (1 - 0.01 * wd) - 0.01 * g / (abs(g) + 1e-6)
                XCTAssertEqual(Double(params[t.offset + i]), expected, accuracy: 2e-6, "\(t.name)[\(i)]")
            }
        }
    }

    /// AdamW 8 lanes at a time gives the same bits as torch's expressions evaluated one element at a time,
    /// over several steps and a length with a partial last vector.
    func testAdamWEqualsTheElementwiseExpressionBitForBit() {
        let n = 37
        var rng = Rng(seed: 5)
        let w = FloatBuffer(count: n), m = FloatBuffer(count: n), v = FloatBuffer(count: n), g = FloatBuffer(count: n)
        for i in 0..<n { w[i] = Float(rng.normal()) }
        var rw = w.array, rm = [Float](repeating: 0, count: n), rv = [Float](repeating: 0, count: n)
        let hyper = OptimizerHyper(), lr: Float = 0.003, wd: Float = 0.01
        for step in 1...4 {
            for i in 0..<n { g[i] = Float(rng.normal()) * 0.1 }
            adamwUpdate(
                params: w.pointer, grads: g.pointer, m: m.pointer, v: v.pointer, count: n, lr: lr, step: step,
                hyper: hyper, weightDecay: wd)
            let bc1 = 1 - Float(pow(Double(hyper.beta1), Double(step)))
            let bc2 = 1 - Float(pow(Double(hyper.beta2), Double(step)))
            for i in 0..<n {
                rm[i] = hyper.beta1 * rm[i] + (1 - hyper.beta1) * g[i]
                rv[i] = hyper.beta2 * rv[i] + (1 - hyper.beta2) * g[i] * g[i]
                rw[i] = rw[i] * (1 - lr * wd) - lr / bc1 * rm[i] / (rv[i].squareRoot() / bc2.squareRoot() + hyper.eps)
            }
        }
        XCTAssertEqual(w.array.map(\.bitPattern), rw.map(\.bitPattern))
        XCTAssertEqual(m.array.map(\.bitPattern), rm.map(\.bitPattern))
        XCTAssertEqual(v.array.map(\.bitPattern), rv.map(\.bitPattern))
    }

    /// LAMB's vectorised pass gives the same bits as ALBERT's expressions one element at a time, with the
    /// norms summed in index order (one chunk), on every tensor of the tiny layout over two steps.
    func testLambEqualsTheElementwiseExpressionBitForBit() {
        let layout = ParameterLayout(config: tinyConfig())
        let params = FloatBuffer(count: layout.total), grads = FloatBuffer(count: layout.total)
        setup(layout, params: params, grads: grads)
        var rw = params.array
        var rm = [Float](repeating: 0, count: layout.total), rv = rm
        let opt = Optimizer(kind: .lamb, layout: layout), h = opt.hyper, lr: Float = 0.02
        var rng = Rng(seed: 9)
        for _ in 0..<2 {
            for i in 0..<grads.count { grads[i] = Float(rng.normal()) * 0.05 }
            let g = grads.array
            opt.step(params: params, grads: grads, lr: lr)
            for t in layout.tensors where t.count < 1 << 16 {
                let wd: Float = t.isNoDecay ? 0 : h.weightDecay
                var u = [Float](repeating: 0, count: t.count), ws: Double = 0, us: Double = 0
                for k in 0..<t.count {
                    let i = t.offset + k
                    rm[i] = h.beta1 * rm[i] + (1 - h.beta1) * g[i]
                    rv[i] = h.beta2 * rv[i] + (1 - h.beta2) * g[i] * g[i]
                    u[k] = rm[i] / (rv[i].squareRoot() + h.eps) + wd * rw[i]
                    ws += Double(rw[i]) * Double(rw[i])
                    us += Double(u[k]) * Double(u[k])
                }
                var ratio: Float = 1
                if !t.isNoDecay, ws > 0, us > 0 { ratio = Float(ws.squareRoot() / us.squareRoot()) }
                for k in 0..<t.count { rw[t.offset + k] -= lr * ratio * u[k] }
            }
        }
        for t in layout.tensors where t.count < 1 << 16 {
            let range = t.offset..<(t.offset + t.count)
            XCTAssertEqual(params.array[range].map(\.bitPattern), rw[range].map(\.bitPattern), t.name)
        }
    }

    func testScheduleWarmsUpAndDecays() {
        let s = LinearSchedule(peak: 1, warmup: 4, total: 10)
        let expected: [Float] = [0.25, 0.5, 0.75, 1, 1, 5.0 / 6, 4.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6]
        for (i, e) in expected.enumerated() { XCTAssertEqual(s.lr(step: i + 1), e, accuracy: 1e-6) }
        XCTAssertEqual(LinearSchedule(peak: 2, warmup: 0, total: 4).lr(step: 1), 2)
    }

    func testClippingScalesToMaxNorm() {
        let g = FloatBuffer([3, 4])
        XCTAssertEqual(clipGradients(g, maxNorm: 1), 5)
        XCTAssertEqual(Double(g[0]), 0.6, accuracy: 1e-6)
        XCTAssertEqual(Double(g[1]), 0.8, accuracy: 1e-6)
        let small = FloatBuffer([0.3, 0.4])
        clipGradients(small, maxNorm: 1)
        XCTAssertEqual(small.array, [0.3, 0.4])
    }

    /// 20 steps of pretraining on random batches with `kind`; returns the final parameters.
    func train(seed: UInt64, threads: Int, kind: OptimizerKind) throws -> [Float] {
        Threads.configure(threads)
        let config = tinyConfig(vocab: 64)
        let model = try Albert(config: config)
        model.initializeWeights(seed: seed)
        let opt = Optimizer(kind: kind, layout: model.layout)
        let a = Activations(config: config, B: 3, T: 10)
        let schedule = LinearSchedule(peak: 5e-3, warmup: 5, total: 20)
        for step in 1...20 {
            let batch = randomBatch(B: 3, T: 10, vocab: 64, seed: seed &* 100 &+ UInt64(step))
            model.zeroGrad()
            try model.forward(a, batch)
            model.backward(a, batch)
            clipGradients(model.grads, maxNorm: 1)
            opt.step(params: model.params, grads: model.grads, lr: schedule.lr(step: step))
        }
        XCTAssertEqual(opt.stepCount, 20)
        return model.params.array
    }

    func testSameSeedAndThreadsGiveBitIdenticalParameters() throws {
        for kind in OptimizerKind.allCases {
            let a = try train(seed: 5, threads: 2, kind: kind)
            let b = try train(seed: 5, threads: 2, kind: kind)
            XCTAssertEqual(a, b, "\(kind) is not reproducible")
            let c = try train(seed: 6, threads: 2, kind: kind)
            XCTAssertNotEqual(a, c, "\(kind): the seed has no effect")
        }
        XCTAssertNotEqual(
            try train(seed: 5, threads: 2, kind: .lamb), try train(seed: 5, threads: 2, kind: .adamw),
            "the optimizer kind has no effect")
    }

    func testTrainingReducesLossOnAFixedBatch() throws {
        let config = tinyConfig(vocab: 64)
        let model = try Albert(config: config)
        model.initializeWeights(seed: 1)
        let opt = Optimizer(kind: .lamb, layout: model.layout)
        let a = Activations(config: config, B: 3, T: 10)
        let batch = randomBatch(B: 3, T: 10, vocab: 64, seed: 2)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            model.zeroGrad()
            let out = try model.forward(a, batch)
            if step == 0 { first = out.loss }
            last = out.loss
            model.backward(a, batch)
            clipGradients(model.grads, maxNorm: 1)
            opt.step(params: model.params, grads: model.grads, lr: 2e-2)
        }
        XCTAssertLessThan(last, first * 0.5, "loss \(first) -> \(last)")
    }
}

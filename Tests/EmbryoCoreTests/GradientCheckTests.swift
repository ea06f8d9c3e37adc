// Finite-difference checks: every kernel's backward against central differences of
// loss = sum(out * dout) (accumulated in Double, h = 1e-2), and a directional derivative per parameter
// tensor of the whole model, shared and unshared.

import EmbryoCore
import Foundation
import XCTest

/// Random buffer with N(0, std^2) entries.
func randomBuffer(_ n: Int, _ rng: inout Rng, std: Float = 1) -> FloatBuffer {
    let b = FloatBuffer(count: n)
    rng.fillNormal(b.pointer, count: n, std: std)
    return b
}

func weightedSum(_ out: UnsafePointer<Float>, _ dout: FloatBuffer) -> Double {
    var s: Double = 0
    for i in 0..<dout.count { s += Double(out[i]) * Double(dout[i]) }
    return s
}

/// Central differences of `loss` with respect to every element of `x`, compared with `analytic`.
func assertGradient(
    _ label: String, x: FloatBuffer, analytic: [Float], h: Float = 1e-2, tol: Double = 1e-2,
    file: StaticString = #filePath, line: UInt = #line, loss: () -> Double
) {
    var worst: Double = 0
    let scale = max(Double(maxAbs(analytic)), 1e-3)
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + h
        let lp = loss()
        x[i] = saved - h
        let lm = loss()
        x[i] = saved
        let fd = (lp - lm) / (2 * Double(h))
        worst = max(worst, abs(fd - Double(analytic[i])) / scale)
    }
    XCTAssertLessThanOrEqual(worst, tol, "\(label): max relative error \(worst)", file: file, line: line)
}

final class KernelGradientTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    func testLinearBackward() {
        var rng = Rng(seed: 1)
        let R = 7, I = 5, O = 6
        let x = randomBuffer(R * I, &rng), w = randomBuffer(O * I, &rng), b = randomBuffer(O, &rng)
        let res = randomBuffer(R * O, &rng), dout = randomBuffer(R * O, &rng), out = FloatBuffer(count: R * O)
        func loss() -> Double {
            linearForward(
                out: out.pointer, inp: x.pointer, weight: w.pointer, bias: b.pointer, residual: res.pointer,
                rows: R, inDim: I, outDim: O)
            return weightedSum(out.pointer, dout)
        }
        let dx = FloatBuffer(count: R * I), dw = FloatBuffer(count: O * I), db = FloatBuffer(count: O)
        linearBackward(
            dinp: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, inp: x.pointer,
            weight: w.pointer, rows: R, inDim: I, outDim: O)
        assertGradient("linear dinp", x: x, analytic: dx.array, loss: loss)
        assertGradient("linear dweight", x: w, analytic: dw.array, loss: loss)
        assertGradient("linear dbias", x: b, analytic: db.array, loss: loss)
        // the residual passes dout straight through
        assertGradient("linear residual", x: res, analytic: dout.array, loss: loss)
    }

    func testLayerNormBackward() {
        var rng = Rng(seed: 2)
        let R = 5, C = 13
        let x = randomBuffer(R * C, &rng), w = randomBuffer(C, &rng), b = randomBuffer(C, &rng)
        let dout = randomBuffer(R * C, &rng), out = FloatBuffer(count: R * C)
        let mean = FloatBuffer(count: R), rstd = FloatBuffer(count: R)
        func loss() -> Double {
            layerNormForward(
                out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer, weight: w.pointer,
                bias: b.pointer, rows: R, dim: C, eps: 1e-12)
            return weightedSum(out.pointer, dout)
        }
        _ = loss()
        let dx = FloatBuffer(count: R * C), dw = FloatBuffer(count: C), db = FloatBuffer(count: C)
        layerNormBackward(
            dinp: dx.pointer, dweight: dw.pointer, dbias: db.pointer, dout: dout.pointer, inp: x.pointer,
            weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: R, dim: C)
        assertGradient("layernorm dinp", x: x, analytic: dx.array, loss: loss)
        assertGradient("layernorm dweight", x: w, analytic: dw.array, loss: loss)
        assertGradient("layernorm dbias", x: b, analytic: db.array, loss: loss)
    }

    func testGeluAndTanhBackward() {
        var rng = Rng(seed: 3)
        let n = 37
        let x = randomBuffer(n, &rng, std: 2), dout = randomBuffer(n, &rng), out = FloatBuffer(count: n)
        func gelu() -> Double {
            geluForward(out: out.pointer, inp: x.pointer, count: n); return weightedSum(out.pointer, dout)
        }
        let dx = FloatBuffer(count: n)
        geluBackward(dinp: dx.pointer, inp: x.pointer, dout: dout.pointer, count: n)
        assertGradient("gelu", x: x, analytic: dx.array, loss: gelu)
        func geluErf() -> Double {
            geluErfForward(out: out.pointer, inp: x.pointer, count: n); return weightedSum(out.pointer, dout)
        }
        let de = FloatBuffer(count: n)
        geluErfBackward(dinp: de.pointer, inp: x.pointer, dout: dout.pointer, count: n)
        assertGradient("exact gelu", x: x, analytic: de.array, loss: geluErf)
        func tanhLoss() -> Double {
            tanhForward(out: out.pointer, inp: x.pointer, count: n); return weightedSum(out.pointer, dout)
        }
        _ = tanhLoss()
        let dt = FloatBuffer(count: n)
        tanhBackward(dinp: dt.pointer, out: out.pointer, dout: dout.pointer, count: n)
        assertGradient("tanh", x: x, analytic: dt.array, loss: tanhLoss)
    }

    func testAttentionBackwardWithPadding() {
        var rng = Rng(seed: 4)
        let B = 2, T = 5, H = 6, NH = 2
        let qkv = randomBuffer(B * T * 3 * H, &rng), dout = randomBuffer(B * T * H, &rng)
        let ctx = FloatBuffer(count: B * T * H), probs = FloatBuffer(count: B * NH * T * T)
        let mask = FloatBuffer([1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        func loss() -> Double {
            attentionForward(
                ctx: ctx.pointer, probs: probs.pointer, qkv: qkv.pointer, keyMask: mask.pointer, B: B, T: T, H: H,
                NH: NH)
            return weightedSum(ctx.pointer, dout)
        }
        _ = loss()
        let dqkv = FloatBuffer(count: B * T * 3 * H), dprobs = FloatBuffer(count: B * NH * T * T)
        attentionBackward(
            dqkv: dqkv.pointer, dprobs: dprobs.pointer, dctx: dout.pointer, qkv: qkv.pointer,
            probs: probs.pointer, B: B, T: T, H: H, NH: NH)
        assertGradient("attention dqkv", x: qkv, analytic: dqkv.array, loss: loss)
        // masked keys get exactly zero probability
        for bh in 0..<(NH) { for i in 0..<T { XCTAssertEqual(probs[(NH + bh) * T * T + i * T + 4], 0) } }
    }

    /// The attention nudge adds a constant to the neighbour's score (previous key in even heads, next in odd):
    /// the same backward gives the gradient, and a large bias puts nearly all of a row's mass on that key.
    func testAttentionNudgeBackwardAndDirection() {
        var rng = Rng(seed: 5)
        let B = 1, T = 6, H = 6, NH = 2
        let qkv = randomBuffer(B * T * 3 * H, &rng), dout = randomBuffer(B * T * H, &rng)
        let ctx = FloatBuffer(count: B * T * H), probs = FloatBuffer(count: B * NH * T * T)
        let mask = FloatBuffer([Float](repeating: 1, count: T))
        var bias: Float = 1.5
        func loss() -> Double {
            attentionForward(
                ctx: ctx.pointer, probs: probs.pointer, qkv: qkv.pointer, keyMask: mask.pointer, B: B, T: T, H: H,
                NH: NH, neighbourBias: bias)
            return weightedSum(ctx.pointer, dout)
        }
        _ = loss()
        let dqkv = FloatBuffer(count: B * T * 3 * H), dprobs = FloatBuffer(count: B * NH * T * T)
        attentionBackward(
            dqkv: dqkv.pointer, dprobs: dprobs.pointer, dctx: dout.pointer, qkv: qkv.pointer,
            probs: probs.pointer, B: B, T: T, H: H, NH: NH)
        assertGradient("nudged attention dqkv", x: qkv, analytic: dqkv.array, loss: loss)
        bias = 30
        _ = loss()
        for i in 0..<T {
            if i > 0 { XCTAssertGreaterThan(probs[i * T + i - 1], 0.999, "head 0, row \(i)") }
            if i < T - 1 { XCTAssertGreaterThan(probs[T * T + i * T + i + 1], 0.999, "head 1, row \(i)") }
        }
    }

    func testEmbeddingBackward() {
        var rng = Rng(seed: 5)
        let B = 2, T = 3, E = 4, V = 6
        let ids = IntBuffer([1, 0, 3, 3, 5, 1]), types = IntBuffer([0, 0, 1, 0, 1, 1])
        let word = randomBuffer(V * E, &rng), pos = randomBuffer(T * E, &rng), typ = randomBuffer(2 * E, &rng)
        let dout = randomBuffer(B * T * E, &rng), out = FloatBuffer(count: B * T * E)
        func loss() -> Double {
            embeddingForward(
                out: out.pointer, ids: ids.pointer, tokenTypes: types.pointer, word: word.pointer,
                position: pos.pointer, tokenType: typ.pointer, B: B, T: T, E: E)
            return weightedSum(out.pointer, dout)
        }
        let dw = FloatBuffer(count: V * E), dp = FloatBuffer(count: T * E), dt = FloatBuffer(count: 2 * E)
        embeddingBackward(
            dword: dw.pointer, dposition: dp.pointer, dtokenType: dt.pointer, dout: dout.pointer,
            ids: ids.pointer, tokenTypes: types.pointer, B: B, T: T, E: E, padId: -1)
        assertGradient("embedding word", x: word, analytic: dw.array, loss: loss)
        assertGradient("embedding position", x: pos, analytic: dp.array, loss: loss)
        assertGradient("embedding token type", x: typ, analytic: dt.array, loss: loss)
    }

    func testCrossEntropyBackward() {
        var rng = Rng(seed: 6)
        let R = 4, V = 11
        let logits = randomBuffer(R * V, &rng, std: 3)
        let labels = IntBuffer([3, -100, 10, 0])
        let losses = FloatBuffer(count: R), dl = FloatBuffer(count: R * V)
        func loss() -> Double {
            crossEntropyForwardBackward(
                losses: losses.pointer, dlogits: nil, correct: nil, logits: logits.pointer,
                labels: labels.pointer, rows: R, classes: V, scale: 1)
            return losses.array.reduce(0) { $0 + Double($1) }
        }
        let n = crossEntropyForwardBackward(
            losses: losses.pointer, dlogits: dl.pointer, correct: nil, logits: logits.pointer,
            labels: labels.pointer, rows: R, classes: V, scale: 1)
        XCTAssertEqual(n, 3)
        XCTAssertEqual(losses[1], 0)
        assertGradient("cross entropy", x: logits, analytic: dl.array, loss: loss)
    }

    /// The top prediction is the first index of the row's maximum: ties within and across 8-lane groups,
    /// a maximum in the partial last group, a maximum of 0 beside a short row, and a row of NaNs (index 0).
    func testCrossEntropyPredictsTheFirstIndexOfTheMaximum() {
        let V = 19
        var rows: [[Float]] = []
        var tie = [Float](repeating: -1, count: V)
        tie[11] = 2; tie[17] = 2; tie[3] = 1
        rows.append(tie)
        var tail = [Float](repeating: -3, count: V)
        tail[18] = 0.5
        rows.append(tail)
        var zero = [Float](repeating: -2, count: V)
        zero[16] = 0
        rows.append(zero)
        rows.append([Float](repeating: .nan, count: V))
        var sameEverywhere = [Float](repeating: 4, count: V)
        sameEverywhere[0] = 4
        rows.append(sameEverywhere)
        let logits = FloatBuffer(rows.flatMap { $0 })
        let labels = IntBuffer([Int32](repeating: 1, count: rows.count))
        let losses = FloatBuffer(count: rows.count), predicted = IntBuffer(count: rows.count)
        crossEntropyForwardBackward(
            losses: losses.pointer, dlogits: nil, correct: nil, logits: logits.pointer, labels: labels.pointer,
            rows: rows.count, classes: V, scale: 1, predicted: predicted.pointer)
        XCTAssertEqual(predicted.array, [11, 18, 16, 0, 0])
    }
}

final class ModelGradientTests: XCTestCase {
    override func setUp() { Threads.configure(2) }

    /// For each parameter tensor: d/dh loss(params + h * u) at 0, with u a random unit direction on that tensor.
    func directional(groups: Int, bert: Bool = false) throws {
        let config = bert ? tinyConfig().bert() : tinyConfig(groups: groups)
        let model = try Albert(config: config)
        model.initializeWeights(seed: 11)
        // larger weights than the 0.02 init so every path carries visible gradient; perturb LayerNorm/biases too
        var rng = Rng(seed: 12)
        for i in 0..<model.params.count { model.params[i] = model.params[i] * 3 + Float(rng.normal()) * 0.05 }
        let batch = randomBatch(B: 2, T: 8, vocab: config.vocabSize, seed: 13)
        let a = Activations(config: config, B: 2, T: 8)
        model.zeroGrad()
        try model.forward(a, batch)
        model.backward(a, batch)
        try assertDirectionalDerivatives(model, &rng, label: "groups \(groups)") {
            Double(try model.forward(a, batch, gradients: false).loss)
        }
    }

    func testDirectionalDerivativesShared() throws { try directional(groups: 1) }
    func testDirectionalDerivativesUnshared() throws { try directional(groups: 2) }
    func testDirectionalDerivativesBert() throws { try directional(groups: 2, bert: true) }
}

final class ExactGeluTests: XCTestCase {
    /// x * Phi(x) against erfc from the C library in double precision over [-12, 12] (beyond -13 the result
    /// is below float's normal range).
    func testExactGeluMatchesErf() {
        var xs: [Float] = stride(from: -12, through: 12, by: 0.01).map { Float($0) }
        xs += [-9.5, 9.5, 0, -0.0, 1e-20, -1e-20]
        let x = FloatBuffer(xs), out = FloatBuffer(count: xs.count)
        geluErfForward(out: out.pointer, inp: x.pointer, count: xs.count)
        for (i, v) in xs.enumerated() {
            let d = Double(v), ref = 0.5 * d * erfc(-d / 2.0.squareRoot())
            // relative precision, including the lower tail where x * Phi(x) is tiny; there the float exponent
            // -x^2/2 carries a rounding of about x^2/2 ulp, so the bound grows with it
            let bound = 3e-7 * (1 + d * d / 2) * abs(ref)
            XCTAssertLessThanOrEqual(abs(Double(out[i]) - ref), bound, "gelu(\(v))")
        }
    }
}

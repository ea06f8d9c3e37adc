// Elementwise activations: gelu_new (the tanh approximation HF's ACT2FN["gelu_new"] uses), the exact GELU
// x * Phi(x) of ACT2FN["gelu"] (BERT), and tanh (the pooler). tanh and the normal CDF are computed from the
// vectorised exp, several times faster than tanhf and erff.

@usableFromInline let geluC: Float = 0.797_884_560_802_865_4  // sqrt(2 / pi)
@usableFromInline let geluK: Float = 0.044_715

@inline(__always)
public func geluForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    parallelFor(count, grain: 4096) { lo, hi in
        mapSIMD(out + lo, inp + lo, hi - lo) { x in
            let t = tanhSIMD(geluC * (x + geluK * x * x * x))
            return 0.5 * x * (1 + t)
        }
    }
}

/// dinp += dout * gelu'(inp), or dinp = ... when not accumulating (dinp may then alias dout).
@inline(__always)
public func geluBackward(
    dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
    accumulate: Bool = true
) {
    slopeBackward(dinp: dinp, inp: inp, dout: dout, count: count, accumulate: accumulate) { x in
        let x2 = x * x
        let t = tanhSIMD(geluC * (x + geluK * x2 * x))
        let dt = (1 - t * t) * geluC * (1 + 3 * geluK * x2)
        return 0.5 * (1 + t) + 0.5 * x * dt
    }
}

/// dinp += dout * slope(inp) elementwise, or dinp = ... when not accumulating (dinp may then alias dout).
@inline(__always)
func slopeBackward(
    dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
    accumulate: Bool, slope: (SIMD8<Float>) -> SIMD8<Float>
) {
    parallelFor(count, grain: 4096) { lo, hi in
        if accumulate {
            var i = lo
            while i < hi {
                let n = min(8, hi - i)
                let v = loadPartial(dinp + i, n) + loadPartial(dout + i, n) * slope(loadPartial(inp + i, n))
                storePartial(v, dinp + i, n)
                i += 8
            }
        } else {
            zipSIMD(dinp + lo, inp + lo, dout + lo, hi - lo) { x, g in g * slope(x) }
        }
    }
}

/// Phi(x) and phi(x), the standard normal CDF and density, per lane, from one exp. The lower tail
/// Phi(-|x|) = 0.5 erfc(z), z = |x| / sqrt(2), is computed as 0.5 t f(t) exp(-x^2 / 2) with t = 1 / (1 + z / 2)
/// and f a degree-10 polynomial fitted to erfc(z) exp(z^2) / t by Scripts/fit-normal-tail.py (relative error
/// 1.2e-8, 1.7e-7 evaluated in float), so the tail keeps its relative precision where 1 - Phi(-x) would
/// round to 0, and exp(-x^2 / 2) also gives phi.
@inline(__always)
func normalCdfPdf(_ x: SIMD8<Float>) -> (cdf: SIMD8<Float>, pdf: SIMD8<Float>) {
    var z = x * 0.707_106_781_186_547_5
    z.replace(with: -z, where: z .< 0)
    let t = 1 / (1 + 0.5 * z)
    var f = SIMD8<Float>(repeating: 0.043_172_017_3)
    f = f * t - 0.234_600_295
    f = f * t + 0.493_374_747
    f = f * t - 0.454_550_75
    f = f * t + 0.131_840_705
    f = f * t - 0.059_046_689
    f = f * t + 0.093_413_559_6
    f = f * t + 0.175_324_275
    f = f * t + 0.246_883_862
    f = f * t + 0.282_093_778
    f = f * t + 0.282_094_795
    let e = expSIMD(-0.5 * x * x)
    let tail = 0.5 * t * f * e  // Phi(-|x|)
    var cdf = 1 - tail
    cdf.replace(with: tail, where: x .< 0)
    return (cdf, 0.398_942_280_401_432_7 * e)  // 1 / sqrt(2 pi)
}

@inline(__always)
public func geluErfForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    parallelFor(count, grain: 4096) { lo, hi in
        mapSIMD(out + lo, inp + lo, hi - lo) { x in x * normalCdfPdf(x).cdf }
    }
}

/// dinp += dout * (Phi(x) + x phi(x)), or dinp = ... when not accumulating (dinp may then alias dout).
@inline(__always)
public func geluErfBackward(
    dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
    accumulate: Bool = true
) {
    slopeBackward(dinp: dinp, inp: inp, dout: dout, count: count, accumulate: accumulate) { x in
        let (cdf, pdf) = normalCdfPdf(x)
        return cdf + x * pdf
    }
}

/// The configured GELU forward (gelu_new or the exact one).
@inline(__always)
public func activationForward(
    _ kind: AlbertConfig.Activation, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int
) {
    switch kind {
    case .geluTanh: geluForward(out: out, inp: inp, count: count)
    case .geluErf: geluErfForward(out: out, inp: inp, count: count)
    }
}

/// The configured GELU backward.
@inline(__always)
public func activationBackward(
    _ kind: AlbertConfig.Activation, dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    dout: UnsafePointer<Float>, count: Int, accumulate: Bool = true
) {
    switch kind {
    case .geluTanh: geluBackward(dinp: dinp, inp: inp, dout: dout, count: count, accumulate: accumulate)
    case .geluErf: geluErfBackward(dinp: dinp, inp: inp, dout: dout, count: count, accumulate: accumulate)
    }
}

@inline(__always)
public func tanhForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    mapSIMD(out, inp, count) { tanhSIMD($0) }
}

/// dinp += dout * (1 - out^2), from the saved output (or dinp = ... when not accumulating).
@inline(__always)
public func tanhBackward(
    dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
    accumulate: Bool = true
) {
    for i in 0..<count {
        let v = dout[i] * (1 - out[i] * out[i])
        dinp[i] = accumulate ? dinp[i] + v : v
    }
}

// Elementwise activations: gelu_new (the tanh approximation HF's ACT2FN["gelu_new"] uses) and tanh
// (the pooler). tanh is computed from the vectorised exp, several times faster than tanhf.

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
    @inline(__always) func slope(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let x2 = x * x
        let t = tanhSIMD(geluC * (x + geluK * x2 * x))
        let dt = (1 - t * t) * geluC * (1 + 3 * geluK * x2)
        return 0.5 * (1 + t) + 0.5 * x * dt
    }
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

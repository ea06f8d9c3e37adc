// LayerNorm over the last dimension, as torch.nn.LayerNorm: biased variance, eps inside the square root.
// Forward saves per-row mean and 1/std; backward accumulates into dweight and dbias, and into dinp unless
// told to overwrite it (llm.c's form).

@inline(__always)
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows: Int, dim C: Int, eps: Float, ldOut: Int? = nil
) {
    let ldo = ldOut ?? C
    parallelFor(rows, grain: 64) { lo, hi in
        for r in lo..<hi {
            let x = inp + r * C
            let m = vsum(x, C) / Float(C)
            let v = vsumSquaredDiff(x, C, m) / Float(C)
            let s = 1 / (v + eps).squareRoot()
            let o = out + r * ldo
            let mv = SIMD8<Float>(repeating: m), sv = SIMD8<Float>(repeating: s)
            var i = 0
            while i + 8 <= C {
                store8((load8(x + i) - mv) * sv * load8(weight + i) + load8(bias + i), o + i)
                i += 8
            }
            while i < C {
                o[i] = (x[i] - m) * s * weight[i] + bias[i]
                i += 1
            }
            mean[r] = m
            rstd[r] = s
        }
    }
}

@inline(__always)
public func layerNormBackward(
    dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dim C: Int, accumulate: Bool = true
) {
    parallelFor(rows, grain: 64) { lo, hi in
        for r in lo..<hi {
            let x = inp + r * C, g = dout + r * C, d = dinp + r * C
            let m = mean[r], s = rstd[r]
            let mv = SIMD8<Float>(repeating: m), sv = SIMD8<Float>(repeating: s)
            var accD = SIMD8<Float>(), accDX = SIMD8<Float>()
            var i = 0
            while i + 8 <= C {
                let dn = load8(g + i) * load8(weight + i)
                accD += dn
                accDX += dn * (load8(x + i) - mv) * sv
                i += 8
            }
            var sumD = accD.sum(), sumDX = accDX.sum()
            for j in i..<C {
                let dn = g[j] * weight[j]
                sumD += dn
                sumDX += dn * (x[j] - m) * s
            }
            let meanD = sumD / Float(C), meanDX = sumDX / Float(C)
            let mdv = SIMD8<Float>(repeating: meanD), mdxv = SIMD8<Float>(repeating: meanDX)
            i = 0
            while i + 8 <= C {
                let xhat = (load8(x + i) - mv) * sv
                let v = (load8(g + i) * load8(weight + i) - mdv - xhat * mdxv) * sv
                store8(accumulate ? load8(d + i) + v : v, d + i)
                i += 8
            }
            for j in i..<C {
                let xhat = (x[j] - m) * s
                let v = (g[j] * weight[j] - meanD - xhat * meanDX) * s
                d[j] = accumulate ? d[j] + v : v
            }
        }
    }
    // parameter gradients reduce over rows: split the columns instead so each sum keeps one order
    parallelFor(C / 8, threads: min(Threads.count, max(1, rows / 256))) { lo, hi in
        for r in 0..<rows {
            let x = inp + r * C, g = dout + r * C
            let mv = SIMD8<Float>(repeating: mean[r]), sv = SIMD8<Float>(repeating: rstd[r])
            for c in lo..<hi {
                let i = 8 * c
                let gv = load8(g + i)
                store8(load8(dweight + i) + gv * (load8(x + i) - mv) * sv, dweight + i)
                store8(load8(dbias + i) + gv, dbias + i)
            }
        }
    }
    for i in (C / 8 * 8)..<C {
        for r in 0..<rows {
            let x = inp + r * C, g = dout + r * C
            dweight[i] += g[i] * (x[i] - mean[r]) * rstd[r]
            dbias[i] += g[i]
        }
    }
}

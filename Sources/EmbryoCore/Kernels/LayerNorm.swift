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
            for i in 0..<C { o[i] = (x[i] - m) * s * weight[i] + bias[i] }
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
            var sumD: Float = 0, sumDX: Float = 0
            for i in 0..<C {
                let dn = g[i] * weight[i]
                sumD += dn
                sumDX += dn * (x[i] - m) * s
            }
            let meanD = sumD / Float(C), meanDX = sumDX / Float(C)
            for i in 0..<C {
                let xhat = (x[i] - m) * s
                let v = (g[i] * weight[i] - meanD - xhat * meanDX) * s
                d[i] = accumulate ? d[i] + v : v
            }
        }
    }
    // parameter gradients reduce over rows: split the columns instead so each sum keeps one order
    parallelFor(C, grain: 16) { lo, hi in
        for r in 0..<rows {
            let x = inp + r * C, g = dout + r * C
            let m = mean[r], s = rstd[r]
            for i in lo..<hi {
                dweight[i] += g[i] * (x[i] - m) * s
                dbias[i] += g[i]
            }
        }
    }
}

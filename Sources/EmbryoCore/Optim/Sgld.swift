// Stochastic-gradient Langevin steps around a centre w* (Lau et al. 2023's localised, tempered SGLD, as
// devinterp's SGMCMC.sgld and SGMCMC.rmsprop_sgld compute them):
//   sgld:          w <- w - (eps/2) (n_beta g + gamma (w - w*)) + sqrt(eps) z
//   rmsprop-sgld:  V <- alpha V + (1 - alpha) g^2, P = 1 / (sqrt(V) + rmsEps),
//                  w <- w - (eps/2) P (n_beta g + gamma (w - w*)) + sqrt(eps P) z
// with z standard normal. The noise of each block of 4,096 parameters comes from its own stream, seeded by
// (seed, block), so the draws do not depend on the thread count.

import Foundation

public enum SgldSampler: String, Codable, Sendable, CaseIterable {
    case sgld
    case rmspropSgld = "rmsprop-sgld"
}

public struct SgldSettings: Codable, Equatable, Sendable {
    public var sampler: SgldSampler
    /// Step size (devinterp's lr).
    public var eps: Float
    /// Localisation strength: the pull towards w*.
    public var gamma: Float
    /// Inverse temperature times the sample size.
    public var nbeta: Float
    /// RMSProp's moving-average coefficient and stabiliser (devinterp's defaults).
    public var rmsAlpha: Float = 0.99
    public var rmsEps: Float = 0.1

    public init(sampler: SgldSampler, eps: Float, gamma: Float, nbeta: Float) {
        self.sampler = sampler
        self.eps = eps
        self.gamma = gamma
        self.nbeta = nbeta
    }
}

/// One step in place. `square` is RMSProp's running mean of g^2 (count floats, zero at the chain's start),
/// unused by plain SGLD. `seed` names this step's noise (e.g. a hash of the chain and the draw).
public func sgldStep(
    params w: UnsafeMutablePointer<Float>, grads g: UnsafePointer<Float>, center c: UnsafePointer<Float>,
    square: UnsafeMutablePointer<Float>?, count: Int, settings s: SgldSettings, seed: UInt64
) {
    let block = 4096
    let half = s.eps / 2, root = s.eps.squareRoot()
    let blocks = (count + block - 1) / block
    parallelFor(blocks) { lo, hi in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { z in
            for k in lo..<hi {
                let start = k * block, n = min(block, count - start)
                var rng = Rng(seed: seed ^ (UInt64(k) &* 0xD1B5_4A32_D192_ED03))
                fillStandardNormal(z.baseAddress!, count: n, rng: &rng)
                if let v = square {
                    for j in 0..<n {
                        let i = start + j
                        let drift = s.nbeta * g[i] + s.gamma * (w[i] - c[i])
                        v[i] = s.rmsAlpha * v[i] + (1 - s.rmsAlpha) * g[i] * g[i]
                        let p = 1 / (v[i].squareRoot() + s.rmsEps)
                        w[i] = w[i] - half * p * drift + root * p.squareRoot() * z[j]
                    }
                } else {
                    for j in 0..<n {
                        let i = start + j
                        w[i] = w[i] - half * (s.nbeta * g[i] + s.gamma * (w[i] - c[i])) + root * z[j]
                    }
                }
            }
        }
    }
}

/// `count` standard normal floats by Marsaglia's polar method (pairs from one accepted point of the unit
/// disc): no trigonometry, one log and one square root per pair.
@inline(__always)
public func fillStandardNormal(_ p: UnsafeMutablePointer<Float>, count: Int, rng: inout Rng) {
    var i = 0
    while i < count {
        var u: Float = 0, v: Float = 0, s: Float = 0
        repeat {
            let r = rng.next()
            // two 24-bit uniforms in (-1, 1) from one draw
            u = Float(Int32(truncatingIfNeeded: r >> 40) - (1 << 23)) * (1 / Float(1 << 23))
            v = Float(Int32(truncatingIfNeeded: (r >> 8) & 0xFF_FFFF) - (1 << 23)) * (1 / Float(1 << 23))
            s = u * u + v * v
        } while s >= 1 || s == 0
        let f = (-2 * log(s) / s).squareRoot()
        p[i] = u * f
        if i + 1 < count { p[i + 1] = v * f }
        i += 2
    }
}

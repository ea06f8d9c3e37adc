// The local learning coefficient of a point w* of a loss (Lau et al. 2023; devinterp's estimator):
//   lambda_hat = n_beta * (E[L_m(w)] - L(w*)),
// the expectation over SGLD draws from the tempered posterior localised at w*. Each chain starts at w* and
// takes `burnin` steps and then `draws` steps whose minibatch losses (at the point before the step, as
// devinterp records them) form its trace; L(w*) is the mean loss at w* over the same draws' minibatches,
// so each chain's estimate is a paired difference. Chains are summed in order: the same seed, settings
// and thread count give the same bits.

import EmbryoCore
import Foundation

/// A loss whose local learning coefficient is wanted: its parameters, and the loss of numbered minibatches.
public protocol LlcTarget: AnyObject {
    var parameterCount: Int { get }
    /// The parameters, moved by the sampler and restored to w* afterwards.
    var parameters: UnsafeMutablePointer<Float> { get }
    /// Where `loss(minibatch:gradient: true)` leaves the gradient.
    var gradient: UnsafeMutablePointer<Float> { get }
    /// The loss of minibatch `index` at the current parameters (a mean over its examples), with its gradient
    /// in `gradient` when asked.
    func loss(minibatch index: Int, gradient: Bool) throws -> Double
}

public struct LlcSettings: Codable, Equatable, Sendable {
    public var sampler: SgldSampler = .sgld
    public var eps: Double = 1e-4
    public var gamma: Double = 1000
    /// nil: devinterp's default for the minibatch size b, b / ln b.
    public var nbeta: Double? = nil
    public var chains = 4
    public var draws = 100
    public var burnin = 50
    /// Sequences per minibatch.
    public var batch = 32
    public var seed: UInt64 = 1
    public init() {}

    public var effectiveNbeta: Double { nbeta ?? Double(batch) / log(Double(max(batch, 2))) }

    public var sgld: SgldSettings {
        SgldSettings(sampler: sampler, eps: Float(eps), gamma: Float(gamma), nbeta: Float(effectiveNbeta))
    }

    /// Every setting, for a cache key.
    public var key: String {
        "\(sampler.rawValue)|eps \(eps)|gamma \(gamma)|nbeta \(effectiveNbeta)|chains \(chains)|draws \(draws)"
            + "|burnin \(burnin)|batch \(batch)|seed \(seed)"
    }

    /// Forward passes per estimate: each chain's draws at w*, then its burn-in and draws with gradients.
    public var passes: Int { chains * (2 * draws + burnin) }

    /// The minibatch of step `t` (0..<burnin + draws) of chain `c`: every step of every chain has its own.
    public func minibatch(chain c: Int, step t: Int) -> Int { c * (burnin + draws) + t }
}

/// One chain: the minibatch losses of its burn-in and of its draws, L(w*) on each draw's minibatch, and
/// where it diverged (nil when it did not).
public struct LlcChain: Codable, Equatable, Sendable {
    public var burnin: [Double] = []
    public var trace: [Double] = []
    public var centerLoss: [Double] = []
    public var divergedAt: Int? = nil
    /// The loss that ended a diverged chain (nil when it was not a finite number).
    public var divergedLoss: Double? = nil
    /// n_beta * (mean trace - mean L(w*)); nil for a diverged chain.
    public var estimate: Double? = nil
}

public struct LlcEstimate: Codable, Equatable, Sendable {
    public var nbeta: Double
    public var chains: [LlcChain]
    /// Mean of the chains' estimates (over the chains that did not diverge; nil when none is left).
    public var mean: Double?
    /// Standard deviation of the chains' estimates over the square root of their number.
    public var standardError: Double?
    /// Gelman-Rubin potential scale reduction of the draws' losses across chains.
    public var rhat: Double?
    /// L(w*): the mean over every chain's draws' minibatches.
    public var centerLoss: Double
    public var warnings: [String] = []
}

public enum LlcEstimator {
    /// Samples `settings.chains` chains around the target's current parameters and estimates the LLC. A
    /// chain diverges at a non-finite loss or one above both `divergenceLoss` (e.g. the run's step-0 loss)
    /// and twice the loss at w* (so that the step-0 snapshot itself can be measured).
    /// The parameters are w* again on return.
    public static func estimate(
        _ target: LlcTarget, settings s: LlcSettings, divergenceLoss: Double = .infinity,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> LlcEstimate {
        let n = target.parameterCount, w = target.parameters
        let center = FloatBuffer(count: n)
        center.pointer.update(from: w, count: n)
        defer { w.update(from: center.pointer, count: n) }
        let square = s.sampler == .rmspropSgld ? FloatBuffer(count: n) : nil
        let sgld = s.sgld, steps = s.burnin + s.draws
        var chains: [LlcChain] = []
        var done = 0
        let total = s.passes
        for c in 0..<s.chains {
            var chain = LlcChain()
            w.update(from: center.pointer, count: n)
            // L(w*) on the minibatches of this chain's draws
            for t in s.burnin..<steps {
                let loss = try target.loss(minibatch: s.minibatch(chain: c, step: t), gradient: false)
                guard loss.isFinite else {
                    throw EmbryoError.runtime("the loss at the weights themselves is \(loss) (minibatch \(t + 1))")
                }
                chain.centerLoss.append(loss)
                done += 1
                progress?(done, total)
            }
            square?.zero()
            // above the reference loss (a snapshot at or near it, such as step 0: above twice its own loss)
            let ceiling = max(divergenceLoss, 2 * mean(chain.centerLoss))
            for t in 0..<steps {
                let loss = try target.loss(minibatch: s.minibatch(chain: c, step: t), gradient: true)
                done += 1
                progress?(done, total)
                // a diverged chain keeps its finite losses; the step where it left is recorded
                if !loss.isFinite || loss > ceiling {
                    chain.divergedAt = t
                    chain.divergedLoss = loss.isFinite ? loss : nil
                    done += steps - 1 - t
                    break
                }
                if t < s.burnin { chain.burnin.append(loss) } else { chain.trace.append(loss) }
                sgldStep(
                    params: w, grads: target.gradient, center: center.pointer, square: square?.pointer, count: n,
                    settings: sgld, seed: s.seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(c) << 32 ^ UInt64(t))
            }
            if chain.divergedAt == nil {
                chain.estimate = s.effectiveNbeta * (mean(chain.trace) - mean(chain.centerLoss))
            }
            chains.append(chain)
        }
        return summarize(chains, nbeta: s.effectiveNbeta)
    }

    /// The estimate, its standard error, R-hat and the warnings from finished chains.
    public static func summarize(_ chains: [LlcChain], nbeta: Double) -> LlcEstimate {
        let kept = chains.compactMap(\.estimate)
        let m = kept.isEmpty ? nil : mean(kept)
        var se: Double? = nil
        if kept.count >= 2, let m {
            let v = kept.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(kept.count - 1)
            se = (v / Double(kept.count)).squareRoot()
        }
        let traces = chains.filter { $0.divergedAt == nil }.map(\.trace)
        var out = LlcEstimate(
            nbeta: nbeta, chains: chains, mean: m, standardError: se, rhat: LlcDiagnostics.rhat(traces),
            centerLoss: mean(chains.flatMap(\.centerLoss)))
        out.warnings = LlcDiagnostics.warnings(out)
        return out
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
}

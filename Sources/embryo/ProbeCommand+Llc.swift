// The llc probe's options of `embryo probe` (and `embryo llc-sweep`): sampler, step size, localisation,
// inverse temperature, chains, draws, burn-in, minibatch and seed.

import EmbryoCore
import EmbryoLab

enum LlcOptions {
    static let defaults = LlcSettings()
    static let sampler = OptionSpec.option(
        "llc-sampler", SgldSampler.allCases.map(\.rawValue).joined(separator: "|"),
        "SGLD, or SGLD preconditioned by RMSProp (alpha 0.99, eps 0.1, as devinterp).",
        default: defaults.sampler.rawValue)
    static let eps = OptionSpec.option("llc-eps", "f", "SGLD step size.", default: "\(defaults.eps)")
    static let gamma = OptionSpec.option(
        "llc-gamma", "f", "Localisation: the pull towards the snapshot's weights.", default: "\(defaults.gamma)")
    static let nbeta = OptionSpec.option(
        "llc-nbeta", "f", "Inverse temperature n*beta (default: batch / ln(batch), as devinterp).", default: nil)
    static let chains = OptionSpec.option("llc-chains", "n", "Chains per snapshot.", default: "\(defaults.chains)")
    static let draws = OptionSpec.option(
        "llc-draws", "n", "Draws per chain after the burn-in.", default: "\(defaults.draws)")
    static let burnin = OptionSpec.option(
        "llc-burnin", "n", "Steps per chain before the draws.", default: "\(defaults.burnin)")
    static let batch = OptionSpec.option(
        "llc-batch", "n", "Sequences per minibatch (the first rows of a training step's batch).",
        default: "\(defaults.batch)")
    static let seed = OptionSpec.option(
        "llc-seed", "n", "Seed of the minibatches' steps and of the noise.", default: "\(defaults.seed)")

    static let all = [sampler, eps, gamma, nbeta, chains, draws, burnin, batch, seed]

    /// The settings from the parsed options (each checked: positive sizes, positive step size).
    static func settings(_ a: ParsedArguments) throws -> LlcSettings {
        var s = LlcSettings()
        s.sampler = SgldSampler(rawValue: try a.choice(sampler, SgldSampler.allCases.map(\.rawValue))!)!
        s.eps = try positive(a, eps)!
        s.gamma = try nonNegative(a, gamma)!
        s.nbeta = try positive(a, nbeta)
        s.chains = try a.int(chains, min: 2)!
        s.draws = try a.int(draws, min: 2)!
        s.burnin = try a.int(burnin, min: 0)!
        s.batch = try a.int(batch, min: 2)!
        s.seed = UInt64(try a.int(seed, min: 0)!)
        return s
    }

    static func positive(_ a: ParsedArguments, _ o: OptionSpec) throws -> Double? {
        guard let v = try a.double(o) else { return nil }
        guard v > 0, v.isFinite else { throw EmbryoError.usage("'--\(o.name)' must be a positive number, got \(v)") }
        return v
    }

    static func nonNegative(_ a: ParsedArguments, _ o: OptionSpec) throws -> Double? {
        guard let v = try a.double(o) else { return nil }
        guard v >= 0, v.isFinite else { throw EmbryoError.usage("'--\(o.name)' must be 0 or more, got \(v)") }
        return v
    }
}

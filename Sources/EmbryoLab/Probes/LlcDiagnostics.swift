// Whether an LLC estimate can be trusted: agreement between chains (Gelman-Rubin R-hat), whether the
// draws' loss has stopped drifting after the burn-in (the slope of the chains' mean trace over the last half
// of the draws, its standard error widened for the trace's lag-1 autocorrelation), negative estimates and
// diverged chains. devinterp leaves these to the user; here each one is a warning in the summary and report.

import Foundation

public enum LlcDiagnostics {
    /// Two-sided 1% critical value of Student's t with `df` degrees of freedom (the normal's 2.576 with
    /// the Cornish-Fisher terms in 1/df and 1/df^2; within 1% of the table from df 8 on).
    public static func slopeCritical(df: Int) -> Double {
        let z = 2.575_829, n = Double(max(df, 1))
        return z + (z * z * z + z) / (4 * n) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n)
    }

    /// The potential scale reduction factor of equally long traces (nil with fewer than two chains or draws,
    /// or no spread within chains).
    public static func rhat(_ traces: [[Double]]) -> Double? {
        let m = traces.count, n = traces.map(\.count).min() ?? 0
        guard m >= 2, n >= 2 else { return nil }
        let cut = traces.map { Array($0.prefix(n)) }
        let means = cut.map { $0.reduce(0, +) / Double(n) }
        let grand = means.reduce(0, +) / Double(m)
        let within =
            zip(cut, means).map { t, mu in t.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(n - 1) }
            .reduce(0, +) / Double(m)
        let between = Double(n) * means.reduce(0) { $0 + ($1 - grand) * ($1 - grand) } / Double(m - 1)
        guard within > 0 else { return nil }
        let pooled = Double(n - 1) / Double(n) * within + between / Double(n)
        return (pooled / within).squareRoot()
    }

    /// The slope per draw of `trace` over its last half, its t statistic (standard error widened by
    /// sqrt((1 + r) / (1 - r)) for a lag-1 autocorrelation r > 0 of the residuals) and its degrees of freedom;
    /// nil under 8 points.
    public static func lateSlope(_ trace: [Double]) -> (slope: Double, t: Double, df: Int)? {
        let y = Array(trace.suffix(trace.count / 2))
        let n = y.count
        guard n >= 8 else { return nil }
        let xm = Double(n - 1) / 2, ym = y.reduce(0, +) / Double(n)
        var sxx = 0.0, sxy = 0.0
        for (i, v) in y.enumerated() {
            sxx += (Double(i) - xm) * (Double(i) - xm)
            sxy += (Double(i) - xm) * (v - ym)
        }
        let b = sxy / sxx
        let e = y.enumerated().map { i, v in v - ym - b * (Double(i) - xm) }
        let sse = e.reduce(0) { $0 + $1 * $1 }
        guard sse > 0 else { return (b, b == 0 ? 0 : .infinity, n - 2) }
        var lag = 0.0
        for i in 1..<n { lag += e[i] * e[i - 1] }
        let r = min(0.95, max(0, lag / sse))
        let se = (sse / Double(n - 2) / sxx).squareRoot() * ((1 + r) / (1 - r)).squareRoot()
        return (b, b / se, n - 2)
    }

    /// The chains' mean trace (over the chains that did not diverge), draw by draw.
    public static func meanTrace(_ chains: [LlcChain]) -> [Double] {
        let kept = chains.filter { $0.divergedAt == nil }.map(\.trace)
        guard let n = kept.map(\.count).min(), n > 0 else { return [] }
        return (0..<n).map { i in kept.reduce(0) { $0 + $1[i] } / Double(kept.count) }
    }

    /// Plain-language warnings for an estimate: diverged chains, a negative estimate, a trace still drifting.
    public static func warnings(_ e: LlcEstimate) -> [String] {
        var out: [String] = []
        for (c, chain) in e.chains.enumerated() {
            guard let t = chain.divergedAt else { continue }
            let loss = chain.divergedLoss.map(format) ?? "not a number"
            out.append(
                "chain \(c + 1) diverged at step \(t + 1) (loss \(loss)): left out of the estimate; "
                    + "try a smaller --llc-eps or a larger --llc-gamma")
        }
        if e.chains.allSatisfy({ $0.divergedAt != nil }) && !e.chains.isEmpty {
            out.append("every chain diverged: no estimate")
        }
        if let m = e.mean, m < 0 {
            out.append(
                "the estimate is negative (\(format(m))): the chains found lower loss than w*, which is then not a "
                    + "local minimum at this temperature; try a smaller --llc-eps or a larger --llc-gamma")
        }
        if let (b, t, df) = lateSlope(meanTrace(e.chains)), abs(t) > slopeCritical(df: df) {
            out.append(
                "the draws' loss has not flattened after the burn-in (slope \(format(b)) per draw over the last "
                    + "half, t = \(format(t))): give more --llc-burnin or --llc-draws, or a larger --llc-gamma")
        }
        return out
    }

    static func format(_ x: Double) -> String { String(format: abs(x) < 0.01 && x != 0 ? "%.2e" : "%.3f", x) }
}

// Milestones across the runs of each group (Milestones.of on each run's compared metrics): per group the
// median and interquartile range of every milestone and of the lags between them, the share of runs whose
// structure onset comes before their capabilities onset with a two-sided sign test, and the correlation
// across runs of the structure onset with the escape step, and how many structure onsets stand out from
// their curve's snapshot-to-snapshot noise (Milestones.prominence).

import EmbryoCore
import EmbryoRun
import Foundation

public struct MilestoneGroupSummary: Sendable {
    public var group: String
    public var runs: [(name: String, milestones: Milestones)]
    /// Per milestone and lag: runs where it was found, median, first and third quartile.
    public var rows: [(name: String, found: Int, median: Double, q1: Double, q3: Double)]
    /// Runs with both onsets, and of them those with structure strictly first; the sign test's p.
    public var ordered: Int, structureFirst: Int
    public var signP: Double
    /// Pearson correlation of the structure onset with the escape step over runs with both (nan below 3).
    public var structureEscapeCorrelation: Double
    public var correlated: Int
    /// Runs whose structure onset's prominence could be judged, and of them those at `Milestones.distinctZ`
    /// or more.
    public var judged: Int = 0, distinct: Int = 0
}

public enum MilestoneComparison {
    /// Each group's milestones, from the folders its runs' metrics came from.
    public static func summary(_ g: ComparisonGroup) throws -> MilestoneGroupSummary {
        let metrics = try g.runs.map { r in
            let file = r.folder.appendingPathComponent("metrics.jsonl")
            return FileManager.default.fileExists(atPath: file.path) ? try MetricTables.read(file) : []
        }
        // one capabilities measure for the whole group: mask prediction unless every run has minimal pairs
        let usePairs = metrics.allSatisfy { $0.contains { $0.probe == "pairs" && $0.key == Milestones.pairsKey } }
        let runs = try zip(g.runs, metrics).map { r, ms in
            (name: r.name, milestones: try Milestones.of(run: r.run, metrics: ms, upTo: r.cutAt, pairs: usePairs))
        }
        var rows: [(name: String, found: Int, median: Double, q1: Double, q3: Double)] = []
        let columns = Milestones(from: 0, lastStep: 0, capabilities: "").columns.map(\.name)
        for (k, name) in columns.enumerated() {
            let xs = runs.compactMap { $0.milestones.columns[k].step }.map(Double.init).sorted()
            rows.append(
                (
                    name, xs.count, SeedStatistics.median(xs), SeedStatistics.interpolatedQuantile(xs, 0.25),
                    SeedStatistics.interpolatedQuantile(xs, 0.75)
                ))
        }
        let both = runs.compactMap { r in
            r.milestones.structureOnset.flatMap { s in r.milestones.capabilitiesOnset.map { (s, $0) } }
        }.filter { $0.0 != $0.1 }
        let first = both.filter { $0.0 < $0.1 }.count
        let pairs = runs.compactMap { r in
            r.milestones.structureOnset.flatMap { s in r.milestones.escape.map { (Double(s), Double($0)) } }
        }
        let z = runs.compactMap(\.milestones.structureOnsetZ)
        return MilestoneGroupSummary(
            group: g.name, runs: runs, rows: rows, ordered: both.count, structureFirst: first,
            signP: signTest(first, of: both.count), structureEscapeCorrelation: pearson(pairs), correlated: pairs.count,
            judged: z.count, distinct: z.filter { $0 >= Milestones.distinctZ }.count)
    }

    /// Two-sided sign test: the probability under p = 1/2 of a split at least as uneven as k of n.
    public static func signTest(_ k: Int, of n: Int) -> Double {
        guard n > 0 else { return .nan }
        let tail = (0...min(k, n - k)).map { SeedStatistics.binomial(n, $0) }.reduce(0, +)
        return min(1, 2 * tail * pow(0.5, Double(n)))
    }

    /// Pearson's r (TaskMetrics'), nan for fewer than 3 pairs or a side without spread.
    public static func pearson(_ xy: [(Double, Double)]) -> Double {
        let x = xy.map(\.0), y = xy.map(\.1)
        guard xy.count >= 3, Set(x).count > 1, Set(y).count > 1 else { return .nan }
        return TaskMetrics.pearson(x, y)
    }

    /// The Markdown table: one row per milestone and lag, a column per group; then order and correlation.
    public static func markdown(_ s: [MilestoneGroupSummary]) -> String {
        func f(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.0f", x) }
        var out = "| milestone | " + s.map { "\($0.group): median [IQR] (found)" }.joined(separator: " | ") + " |\n"
        out += "| --- |" + String(repeating: " --- |", count: s.count) + "\n"
        for (i, row) in (s.first?.rows ?? []).enumerated() {
            out += "| \(row.name) | "
            out +=
                s.map { g in
                    let r = g.rows[i]
                    return "\(f(r.median)) [\(f(r.q1))-\(f(r.q3))] (\(r.found) of \(g.runs.count))"
                }.joined(separator: " | ") + " |\n"
        }
        for g in s {
            let measure = g.runs.first?.milestones.capabilities ?? "-"
            out +=
                "\n\(g.group) (capabilities from \(measure)): structure before capabilities in \(g.structureFirst) of "
            out += "\(g.ordered) runs with both "
            out += "(sign test p = \(g.signP.isNaN ? "–" : String(format: "%.3f", g.signP))); correlation of the "
            out += "structure onset with the escape over \(g.correlated) runs: r = "
            out += g.structureEscapeCorrelation.isNaN ? "–" : String(format: "%.2f", g.structureEscapeCorrelation)
            out += "; structure onset distinct from the curve's snapshot-to-snapshot noise (prominence "
            out += "z >= \(Int(Milestones.distinctZ))) in \(g.distinct) of \(g.judged) runs judged\n"
        }
        return out
    }
}

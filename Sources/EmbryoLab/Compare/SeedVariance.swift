// Where the spread between runs comes from: each run's initialisation and data seeds (run.json), and for a
// group whose runs cross every initialisation seed with every data seed (a factorial design, one run per
// cell), a two-way decomposition of the final values' sum of squares into the initialisation's main
// effect, the data order's main effect and the rest (their interaction, with one run per cell).

import EmbryoCore
import EmbryoRun
import Foundation

public struct SeedVariance: Sendable {
    public var group: String
    public var metric: String
    /// "init" (only the initialisation seed varies), "data", "both" (the two move together, as --seeds
    /// gives), "factorial", or "mixed" (neither pattern).
    public var design: String
    public var n: Int
    public var sd: Double
    /// Shares of the total sum of squares (factorial designs only).
    public var initShare: Double?, dataShare: Double?, residualShare: Double?

    /// Each run's (init, data) seeds; nil when a run has no run.json.
    static func seeds(_ g: ComparisonGroup) -> [(Int, Int)]? {
        var out: [(Int, Int)] = []
        for r in g.runs {
            guard r.run.hasManifest, let c = try? r.run.manifest().config else { return nil }
            out.append((c.effectiveInitSeed, c.effectiveDataSeed))
        }
        return out
    }

    /// The design of a group's seeds.
    static func design(_ s: [(Int, Int)]) -> String {
        let inits = Set(s.map(\.0)), datas = Set(s.map(\.1))
        if datas.count == 1 { return inits.count == 1 ? "single" : "init" }
        if inits.count == 1 { return "data" }
        let cells = Set(s.map { "\($0.0),\($0.1)" })
        if cells.count == s.count && s.count == inits.count * datas.count { return "factorial" }
        if s.allSatisfy({ $0.0 == $0.1 }) { return "both" }
        return "mixed"
    }

    /// The decomposition of `values` (one per run, in the group's order) for a group with seeds `s`.
    public static func analyse(group: String, metric: String, seeds s: [(Int, Int)], values: [Double]) -> SeedVariance {
        let d = design(s)
        var v = SeedVariance(
            group: group, metric: metric, design: d, n: values.count, sd: SeedStatistics.sd(values))
        guard d == "factorial", values.allSatisfy(\.isFinite) else { return v }
        let inits = Array(Set(s.map(\.0))).sorted(), datas = Array(Set(s.map(\.1))).sorted()
        let m = SeedStatistics.mean(values)
        func mean(_ keep: (Int, Int) -> Bool) -> Double {
            SeedStatistics.mean(zip(s, values).filter { keep($0.0.0, $0.0.1) }.map(\.1))
        }
        let row = Dictionary(uniqueKeysWithValues: inits.map { i in (i, mean { a, _ in a == i }) })
        let col = Dictionary(uniqueKeysWithValues: datas.map { j in (j, mean { _, b in b == j }) })
        let total = values.map { ($0 - m) * ($0 - m) }.reduce(0, +)
        guard total > 0 else { return v }
        let ssInit = Double(datas.count) * inits.map { (row[$0]! - m) * (row[$0]! - m) }.reduce(0, +)
        let ssData = Double(inits.count) * datas.map { (col[$0]! - m) * (col[$0]! - m) }.reduce(0, +)
        v.initShare = ssInit / total
        v.dataShare = ssData / total
        v.residualShare = max(0, 1 - v.initShare! - v.dataShare!)
        return v
    }

    /// Per group with a known seed design, per metric in `metrics`: the decomposition of the final values,
    /// and of the escape step when every run escaped.
    public static func all(_ c: Comparison, metrics: [String], escapes: [EscapeGroupSummary]) -> [SeedVariance] {
        var out: [SeedVariance] = []
        for (gi, g) in c.groups.enumerated() where g.runs.count >= 2 {
            guard let s = seeds(g) else { continue }
            for m in metrics where c.shared.contains(m) {
                out.append(analyse(group: g.name, metric: m, seeds: s, values: c.outcomes(g, m).map(\.final)))
            }
            let steps = escapes[gi].runs.map { $0.escape?.escapeStep.map(Double.init) ?? .infinity }
            if steps.allSatisfy(\.isFinite) {
                out.append(analyse(group: g.name, metric: "escape_step", seeds: s, values: steps))
            }
        }
        return out
    }

    public static func jsonl(_ vs: [SeedVariance]) -> String {
        func num(_ x: Double?) -> Any { x.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        return vs.map {
            jsonLine([
                ("kind", "seed_variance"), ("group", $0.group), ("metric", $0.metric), ("design", $0.design),
                ("n", $0.n), ("sd", num($0.sd)), ("init_share", num($0.initShare)),
                ("data_share", num($0.dataShare)), ("residual_share", num($0.residualShare)),
            ]) + "\n"
        }.joined()
    }

    /// The factorial groups' decompositions as a Markdown table (empty when no group is factorial).
    public static func markdown(_ vs: [SeedVariance]) -> String {
        let f = vs.filter { $0.initShare != nil }
        guard !f.isEmpty else { return "" }
        var t = "| group | metric | runs | sd | initialisation | data order | interaction/rest |\n"
        t += "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
        for v in f {
            t +=
                "| \(CompareReport.cell(v.group)) | \(CompareReport.cell(v.metric)) | \(v.n) | "
                + String(format: "%.3f", v.sd) + " | "
            t +=
                [v.initShare!, v.dataShare!, v.residualShare!].map { String(format: "%.0f%%", 100 * $0) }.joined(
                    separator: " | ") + " |\n"
        }
        return t
    }
}

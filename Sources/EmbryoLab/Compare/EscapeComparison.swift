// The escape from the word-frequency plateau across groups of runs: per group the distribution of the
// escape step (median, interquartile range, a bootstrap interval of the median, the share of runs escaped
// by given steps) and of the steepest-descent step, and between groups a permutation test on ranks. A run
// that never escapes ranks after every run that does ("none" sorts last), so the statistics stay defined
// when a group has runs still on the plateau at their last step.

import EmbryoCore
import EmbryoRun
import Foundation

public struct EscapeGroupSummary: Sendable {
    public var group: String
    /// Each run's escape (nil when the run's log holds no evaluation or unigram loss).
    public var runs: [(name: String, escape: EscapeSummary?)]
    /// Runs whose escape could be measured, and those of them that escaped.
    public var measured: Int
    public var escaped: Int
    /// Quantiles of the escape step, +infinity standing for "none".
    public var median: Double, q1: Double, q3: Double
    public var medianInterval: SeedStatistics.Interval
    public var steepestMedian: Double, steepestQ1: Double, steepestQ3: Double
    /// Share of the measured runs escaped by each step of `EscapeComparison.bySteps`.
    public var shareBy: [(step: Int, share: Double)]
}

public struct EscapeTest: Sendable {
    public var a: String, b: String
    public var medianA: Double, medianB: Double
    /// Permutation test of the difference in mean ranks of the escape steps ("none" ranked last).
    public var result: SeedStatistics.Permutation
    public var nA: Int, nB: Int
}

public enum EscapeComparison {
    public static let bySteps = [800, 1200, 1600, 2400]

    /// An escape step as a number to rank: +infinity for none.
    static func value(_ e: EscapeSummary) -> Double { e.escapeStep.map(Double.init) ?? .infinity }

    public static func summary(_ g: ComparisonGroup) throws -> EscapeGroupSummary {
        let runs = try g.runs.map { (name: $0.name, escape: try EscapeSummary.of($0.run, upTo: $0.cutAt)) }
        let known = runs.compactMap(\.escape)
        let xs = known.map(value).sorted()
        let steep = known.compactMap(\.steepestDescentStep).map(Double.init).sorted()
        return EscapeGroupSummary(
            group: g.name, runs: runs, measured: known.count, escaped: known.filter { $0.escapeStep != nil }.count,
            median: SeedStatistics.median(xs), q1: SeedStatistics.interpolatedQuantile(xs, 0.25),
            q3: SeedStatistics.interpolatedQuantile(xs, 0.75), medianInterval: SeedStatistics.bootstrapMedian(xs),
            steepestMedian: SeedStatistics.median(steep), steepestQ1: SeedStatistics.interpolatedQuantile(steep, 0.25),
            steepestQ3: SeedStatistics.interpolatedQuantile(steep, 0.75),
            shareBy: bySteps.map { s in
                (
                    s,
                    known.isEmpty
                        ? .nan : Double(known.filter { ($0.escapeStep ?? .max) <= s }.count) / Double(known.count)
                )
            })
    }

    /// Between every two groups: the rank test of their escape steps.
    public static func tests(_ s: [EscapeGroupSummary]) -> [EscapeTest] {
        var out: [EscapeTest] = []
        for i in s.indices {
            for j in s.indices where j > i {
                let a = s[i].runs.compactMap(\.escape).map(value), b = s[j].runs.compactMap(\.escape).map(value)
                guard !a.isEmpty, !b.isEmpty else { continue }
                let ranks = TaskMetrics.ranks(a + b)  // +infinity (no escape) ties with itself, last
                out.append(
                    EscapeTest(
                        a: s[i].group, b: s[j].group, medianA: s[i].median, medianB: s[j].median,
                        result: SeedStatistics.permutationTest(Array(ranks[..<a.count]), Array(ranks[a.count...])),
                        nA: a.count, nB: b.count))
            }
        }
        return out
    }

    /// A step for tables: the number, "none" for +infinity, "–" when not measured.
    public static func text(_ x: Double) -> String {
        if x.isNaN { return "–" }
        return x.isInfinite ? "none" : String(Int(x.rounded()))
    }

    public static func markdown(_ s: [EscapeGroupSummary], _ tests: [EscapeTest]) -> String {
        var t = "| group | runs | escaped | escape step: median | IQR | 95% CI of median | "
        t += bySteps.map { "by \($0)" }.joined(separator: " | ") + " | steepest descent: median (IQR) |\n"
        t += "| --- | ---: | ---: | ---: | ---: | ---: | " + bySteps.map { _ in "---:" }.joined(separator: " | ")
        t += " | ---: |\n"
        for g in s {
            t +=
                "| \(CompareReport.cell(g.group)) | \(g.measured) | \(g.escaped) | \(text(g.median)) | \(text(g.q1))-\(text(g.q3)) | "
            t += "\(text(g.medianInterval.low))-\(text(g.medianInterval.high)) | "
            t += g.shareBy.map { String(format: "%.2f", $0.share) }.joined(separator: " | ")
            t += " | \(text(g.steepestMedian)) (\(text(g.steepestQ1))-\(text(g.steepestQ3))) |\n"
        }
        if !tests.isEmpty {
            t +=
                "\n| escape step | median a | median b | p (rank permutation) | runs |\n| --- | ---: | ---: | ---: | ---: |\n"
            for x in tests {
                t +=
                    "| \(CompareReport.cell(x.a)) vs \(CompareReport.cell(x.b)) | \(text(x.medianA)) | \(text(x.medianB)) | "
                t += String(format: "%.3f", x.result.p) + " | \(x.nA) vs \(x.nB) |\n"
            }
        }
        return t
    }

    /// compare.jsonl lines: escape (per run), escape_summary (per group), escape_test (per pair of groups).
    public static func jsonl(_ s: [EscapeGroupSummary], _ tests: [EscapeTest]) -> String {
        func num(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        var lines: [String] = []
        for g in s {
            for r in g.runs {
                lines.append(
                    jsonLine([
                        ("kind", "escape"), ("group", g.group), ("run", r.name),
                        ("escape_step", r.escape?.escapeStep ?? NSNull()),
                        ("steepest_descent_step", r.escape?.steepestDescentStep ?? NSNull()),
                        ("unigram", r.escape.map { num($0.unigram) } ?? NSNull()),
                        ("last_step", r.escape?.lastStep ?? NSNull()),
                    ]))
            }
            lines.append(
                jsonLine([
                    ("kind", "escape_summary"), ("group", g.group), ("n", g.measured), ("escaped", g.escaped),
                    ("median", text(g.median)), ("q1", text(g.q1)), ("q3", text(g.q3)),
                    ("median_ci95_low", text(g.medianInterval.low)), ("median_ci95_high", text(g.medianInterval.high)),
                    ("steepest_median", num(g.steepestMedian)), ("steepest_q1", num(g.steepestQ1)),
                    ("steepest_q3", num(g.steepestQ3)),
                    ("share_by", g.shareBy.map { [("step", $0.step), ("share", num($0.share))] as [(String, Any)] }),
                ]))
        }
        for t in tests {
            lines.append(
                jsonLine([
                    ("kind", "escape_test"), ("a", t.a), ("b", t.b), ("median_a", text(t.medianA)),
                    ("median_b", text(t.medianB)), ("rank_difference", num(t.result.difference)),
                    ("p", num(t.result.p)), ("n_a", t.nA), ("n_b", t.nB), ("splits", t.result.splits),
                    ("exact", t.result.exact),
                ]))
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The report's section: the table of `markdown` as HTML.
    public static func html(_ s: [EscapeGroupSummary], _ tests: [EscapeTest]) -> String {
        var h = "<h2>Escape from the word-frequency plateau</h2>\n<p class=note>Escape step: the first held-out "
        h += "evaluation whose MLM loss is at least \(EscapeSummary.margin) nat below the held-out unigram "
        h += "cross-entropy (none: never by the run's last evaluation, ranked after every escape). Median and "
        h += "IQR over runs, 95% percentile-bootstrap interval of the median; test: two-sided permutation test "
        h += "of mean ranks.</p>\n<table><tr><th>group</th><th>runs</th><th>escaped</th><th>median</th><th>IQR</th>"
        h += "<th>95% CI of median</th>" + bySteps.map { "<th>by \($0)</th>" }.joined()
        h += "<th>steepest descent: median (IQR)</th></tr>\n"
        for g in s {
            h += "<tr><td>\(esc(g.group))</td><td class=num>\(g.measured)</td><td class=num>\(g.escaped)</td>"
            h += "<td class=num>\(text(g.median))</td><td class=num>\(text(g.q1))-\(text(g.q3))</td>"
            h += "<td class=num>\(text(g.medianInterval.low))-\(text(g.medianInterval.high))</td>"
            h += g.shareBy.map { "<td class=num>" + String(format: "%.2f", $0.share) + "</td>" }.joined()
            h += "<td class=num>\(text(g.steepestMedian)) (\(text(g.steepestQ1))-\(text(g.steepestQ3)))</td></tr>\n"
        }
        h += "</table>\n"
        if !tests.isEmpty {
            h += "<table><tr><th>groups</th><th>median a</th><th>median b</th><th>p</th><th>runs</th></tr>\n"
            for t in tests {
                h += "<tr><td>\(esc(t.a)) vs \(esc(t.b))</td><td class=num>\(text(t.medianA))</td>"
                h += "<td class=num>\(text(t.medianB))</td><td class=num>" + String(format: "%.3f", t.result.p)
                h += "</td><td class=num>\(t.nA) vs \(t.nB)</td></tr>\n"
            }
            h += "</table>\n"
        }
        return h
    }
}

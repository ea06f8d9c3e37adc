// What `embryo compare` writes: compare.jsonl (every number behind the page: each run's points, each
// group's band per step, each group's final value and t90, each test) and report.html (one
// self-contained page: per metric the runs as faint lines and each group's mean with its bands, a table
// of final value and t90 per group, and the tests between groups).

import EmbryoCore
import EmbryoRun
import Foundation

public enum CompareReport {
    /// `escapes`: each group's escape summary (EscapeComparison.summary), in group order.
    public static func write(_ c: Comparison, escapes: [EscapeGroupSummary], to out: URL) throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let cross = try c.crossRunSimilarity()
        let escapeTests = EscapeComparison.tests(escapes)
        let variance = SeedVariance.all(c, metrics: headlineMetrics(c), escapes: escapes)
        var lines = jsonl(c) + EscapeComparison.jsonl(escapes, escapeTests) + SeedVariance.jsonl(variance)
        for p in cross {
            lines +=
                jsonLine([
                    ("kind", "cross_run_similarity"), ("group", p.group), ("layer", p.layer), ("step", p.step),
                    ("cka", num(p.cka)), ("pairs", p.pairs),
                ]) + "\n"
        }
        try writeAtomically(Data(lines.utf8), to: out.appendingPathComponent("compare.jsonl"))
        var html = page(c)
        if !cross.isEmpty, let end = html.range(of: "<h2>Metrics</h2>") {
            html.insert(contentsOf: crossRunSection(cross), at: end.lowerBound)
        }
        if escapes.contains(where: { $0.measured > 0 }), let end = html.range(of: "<h2>Metrics</h2>") {
            html.insert(contentsOf: EscapeComparison.html(escapes, escapeTests), at: end.lowerBound)
        }
        try writeAtomically(Data(html.utf8), to: out.appendingPathComponent("report.html"))
    }

    /// Per group: the mean CKA between its runs' same layer against the step, one line per layer.
    static func crossRunSection(_ cross: [Comparison.CrossRunPoint]) -> String {
        var h = "<h2>Similarity between runs</h2>\n<p class=note>Linear CKA between the same layer of two runs "
        h += "of a group at the same step (mean over pairs of runs), on the probe tokens of their similarity "
        h += "probe.</p>\n<div class=metric>\n"
        for g in Array(Set(cross.map(\.group))).sorted() {
            let mine = cross.filter { $0.group == g }
            let layers = Array(Set(mine.map(\.layer))).sorted()
            let series = layers.enumerated().map { i, l in
                ChartSeries(
                    name: "layer \(l)", points: mine.filter { $0.layer == l }.map { ($0.step, $0.cka) }, style: i)
            }
            h += SVGChart.line(
                title: "\(g): CKA between runs (\(mine.first?.pairs ?? 0) pairs)", yLabel: "linear CKA",
                series: series, yRange: (0, 1))
        }
        return h + "</div>\n"
    }

    static func num(_ x: Double?) -> Any { x.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }

    public static func jsonl(_ c: Comparison) -> String {
        var lines: [String] = []
        func add(_ fields: [(String, Any)]) { lines.append(jsonLine(fields)) }
        for g in c.groups {
            for r in g.runs {
                add([
                    ("kind", "run"), ("group", g.name), ("run", r.name), ("path", r.run.root.path),
                    ("branched_at", r.branchedAt ?? NSNull()), ("parent", r.parent ?? NSNull()),
                ])
            }
        }
        for (m, runs) in c.unshared { add([("kind", "unshared"), ("metric", m), ("runs", runs)]) }
        for m in c.shared {
            for g in c.groups {
                for r in g.runs {
                    for p in r.curves[m]! {
                        add([
                            ("kind", "point"), ("metric", m), ("group", g.name), ("run", r.name), ("step", p.step),
                            ("value", num(p.value)),
                        ])
                    }
                }
                for b in c.band(g, m) {
                    add([
                        ("kind", "band"), ("metric", m), ("group", g.name), ("step", b.step), ("n", b.n),
                        ("mean", num(b.mean)), ("sd", num(b.sd)), ("ci95_low", num(b.ci.low)),
                        ("ci95_high", num(b.ci.high)), ("ci_exact", b.ci.exact),
                    ])
                }
                let o = c.outcomes(g, m)
                let finals = o.map(\.final), t90s = o.compactMap(\.t90)
                add([
                    ("kind", "summary"), ("metric", m), ("group", g.name), ("n", o.count),
                    ("final_mean", num(SeedStatistics.mean(finals))), ("final_sd", num(SeedStatistics.sd(finals))),
                    ("t90_mean", num(SeedStatistics.mean(t90s))), ("t90_sd", num(SeedStatistics.sd(t90s))),
                    ("t90_n", t90s.count), ("finals", finals.map(num)), ("t90s", o.map { num($0.t90) }),
                ])
            }
            for t in c.tests(m) {
                add([
                    ("kind", "test"), ("metric", m), ("statistic", t.statistic), ("a", t.a), ("b", t.b),
                    ("mean_a", num(t.meanA)), ("mean_b", num(t.meanB)), ("difference", num(t.result.difference)),
                    ("p", num(t.result.p)), ("n_a", t.nA), ("n_b", t.nB), ("splits", t.result.splits),
                    ("exact", t.result.exact),
                ])
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The headline metrics the runs share, in the order of the report.
    public static func headlineMetrics(_ c: Comparison) -> [String] {
        [
            "loss/mlm_loss", "loss/mlm_accuracy", "mlm/mask_prediction/all", "mlm/reconstruction/all",
            "mlm/mask_prediction/upos/NOUN", "mlm/mask_prediction/upos/VERB", "knowledge/p_at_1/mean",
            "knowledge/p_at_1/trained/mean", "knowledge/p_at_1/heldout/mean", "loss/sop_accuracy",
            "layers/upos/layer_2/accuracy", "layers/upos_ambiguous/layer_2", "llc/mean",
        ].filter(c.shared.contains)
    }

    /// One line per headline metric: each group's final value, and the test when there are two groups.
    public static func headlines(_ c: Comparison) -> [String] {
        headlineMetrics(c).map { m in
            let parts = c.groups.map { g -> String in
                let finals = c.outcomes(g, m).map(\.final)
                return "\(g.name) \(f(SeedStatistics.mean(finals))) ± \(f(SeedStatistics.sd(finals)))"
            }
            var line = "\(m): " + parts.joined(separator: ", ")
            if c.groups.count == 2, let t = c.tests(m).first(where: { $0.statistic == "final" }) {
                line += "; permutation p = \(f(t.result.p)) (\(t.nA) vs \(t.nB) runs)"
            }
            return line
        }
    }

    /// The headline metrics as a Markdown table: per group the final value and t90 (mean ± sd, runs), and
    /// with two groups the permutation tests' p-values.
    public static func markdown(_ c: Comparison) -> String {
        let two = c.groups.count == 2
        var s =
            "| metric | " + c.groups.map { "\(cell($0.name)): final | \(cell($0.name)): t90" }.joined(separator: " | ")
        s += two ? " | p (final) | p (t90) |\n" : " |\n"
        s += "| --- |" + String(repeating: " ---: | ---: |", count: c.groups.count) + (two ? " ---: | ---: |\n" : "\n")
        for m in headlineMetrics(c) {
            s += "| \(cell(m)) |"
            for g in c.groups {
                let o = c.outcomes(g, m)
                let finals = o.map(\.final), t90s = o.compactMap(\.t90)
                s += " \(f(SeedStatistics.mean(finals))) ± \(f(SeedStatistics.sd(finals))) |"
                s += t90s.isEmpty ? " – |" : " \(f(SeedStatistics.mean(t90s), 0)) ± \(f(SeedStatistics.sd(t90s), 0)) |"
            }
            if two {
                let tests = c.tests(m)
                for stat in ["final", "t90"] {
                    s += tests.first { $0.statistic == stat }.map { " \(f($0.result.p)) |" } ?? " – |"
                }
            }
            s += "\n"
        }
        return s
    }

    /// A name (a group's, or a metric holding a relation's name from a data file) as one Markdown table cell.
    public static func cell(_ name: String) -> String {
        name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    static func f(_ x: Double, _ digits: Int = 3) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "–"
    }

    /// Metrics drawn as charts: the headline ones first; per-XPOS and skipped counts only in the tables.
    static func charted(_ shared: [String]) -> [String] {
        let first = [
            "mlm/mask_prediction/all", "mlm/reconstruction/all", "loss/mlm_loss", "loss/mlm_accuracy",
            "knowledge/p_at_1/mean", "knowledge/p_at_1/trained/mean", "knowledge/p_at_1/heldout/mean", "llc/mean",
        ].filter(shared.contains)
        let rest = shared.filter { !first.contains($0) && !$0.contains("/xpos/") && !$0.contains("skipped/") }
        return first + rest
    }

    public static func page(_ c: Comparison) -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>embryo compare: \(esc(c.groups.map(\.name).joined(separator: " vs ")))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto;
              max-width: 1240px; color: #222; background: #fff; line-height: 1.4; }
            h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; } h3 { margin: 1.2em 0 0.2em; font-size: 1em; }
            table { border-collapse: collapse; font-size: 0.88em; margin: 0.4em 0; }
            td, th { border: 1px solid #ddd; padding: 2px 7px; text-align: left; }
            th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .metric { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; } .note { color: #555; font-size: 0.9em; }
            svg text { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
            </style></head><body>
            <h1>Comparison: \(esc(c.groups.map(\.name).joined(separator: " vs ")))</h1>

            """
        h += runsTable(c)
        h += """
            <p class=note>Each run is a faint line; each group's mean is a solid line, with ±1 sd (darker band) and
            the 95% percentile-bootstrap interval of the mean over its runs (lighter band), at the steps every run of
            the group was probed at. t90: the first step at which a curve has come 90% of the way to its final value
            (value ≥ 0.9 × final for a rising curve, ≤ final + 0.1 × (first − final) for a falling one). Tests: two-sided
            permutation tests of the difference in means over runs (exact over every split up to
            \(SeedStatistics.exactLimit) splits). Every number: compare.jsonl.</p>

            """
        if !c.unshared.isEmpty {
            h +=
                "<h2>Metrics not shared by every run (left out)</h2>\n<table><tr><th>metric</th><th>runs that have it</th></tr>\n"
            for (m, runs) in c.unshared {
                h += "<tr><td>\(esc(m))</td><td>\(esc(runs.joined(separator: ", ")))</td></tr>\n"
            }
            h += "</table>\n"
        }
        let drawn = Set(charted(c.shared))
        h += "<h2>Metrics</h2>\n"
        for m in charted(c.shared) + c.shared.filter({ !drawn.contains($0) }) {
            h += "<h3>\(esc(m))</h3>\n<div class=metric>\n"
            if drawn.contains(m) { h += chart(c, m) }
            h += table(c, m) + "</div>\n"
        }
        return h + "<p class=note>Generated by embryo compare.</p></body></html>\n"
    }

    static func runsTable(_ c: Comparison) -> String {
        var h = "<table><tr><th>group</th><th>runs</th><th>paths</th></tr>\n"
        for g in c.groups {
            let paths = g.runs.map { r in
                r.run.root.path + (r.branchedAt.map { " (branched at step \($0) from \(r.parent ?? "?"))" } ?? "")
            }
            h += "<tr><td>\(esc(g.name))</td><td class=num>\(g.runs.count)</td><td>"
            h += paths.map(esc).joined(separator: "<br>") + "</td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func table(_ c: Comparison, _ m: String) -> String {
        var h = "<div><table><tr><th>group</th><th>n</th><th>final (mean ± sd)</th><th>t90 (mean ± sd)</th></tr>\n"
        for g in c.groups {
            let o = c.outcomes(g, m)
            let finals = o.map(\.final), t90s = o.compactMap(\.t90)
            h += "<tr><td>\(esc(g.name))</td><td class=num>\(o.count)</td>"
            h += "<td class=num>\(f(SeedStatistics.mean(finals))) ± \(f(SeedStatistics.sd(finals)))</td>"
            h +=
                "<td class=num>\(t90s.isEmpty ? "–" : "\(f(SeedStatistics.mean(t90s), 0)) ± \(f(SeedStatistics.sd(t90s), 0))")"
            h += t90s.count < o.count ? " (\(t90s.count) of \(o.count))" : ""
            h += "</td></tr>\n"
        }
        h += "</table>\n"
        let tests = c.tests(m)
        if !tests.isEmpty {
            h += "<table><tr><th>test</th><th>difference</th><th>p</th><th>runs</th></tr>\n"
            for t in tests {
                h += "<tr><td>\(esc(t.statistic)): \(esc(t.a)) − \(esc(t.b))</td>"
                h += "<td class=num>\(f(t.result.difference, t.statistic == "t90" ? 0 : 3))</td>"
                h +=
                    "<td class=num>\(f(t.result.p))\(t.result.exact ? "" : " (MC)")</td><td class=num>\(t.nA) vs \(t.nB)</td></tr>\n"
            }
            h += "</table>\n"
        }
        return h + "</div>\n"
    }

    static func chart(_ c: Comparison, _ m: String) -> String {
        let runs = c.groups.flatMap(\.runs)
        let values = runs.flatMap { $0.curves[m]!.map(\.value) }
        guard let lo = values.min(), let hi = values.max() else { return "" }
        let y0 = min(0, lo), y1 = hi + max(hi - y0, 1e-9) * 0.05
        let maxStep = runs.flatMap { $0.curves[m]!.map(\.step) }.max() ?? 1
        let (W, H) = (610, 330)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(W)\" height=\"\(H)\" viewBox=\"0 0 \(W) \(H)\" "
        svg += "role=\"img\" aria-label=\"\(esc(m))\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"58\" y=\"18\" font-size=\"13\" font-weight=\"600\">\(esc(m))</text>\n"
        let frame = SVGChart.logStepFrame(
            maxStep: maxStep, y0: y0, y1: y1 > y0 ? y1 : y0 + 1,
            yLabel: m.split(separator: "/").dropFirst().joined(separator: "/"))
        svg += frame.svg
        let px = frame.px, py = frame.py
        func path(_ pts: [(Int, Double)]) -> String {
            pts.map { "\(SVGChart.f1(px($0.0))),\(SVGChart.f1(py($0.1)))" }.joined(separator: " ")
        }
        for (gi, g) in c.groups.enumerated() {
            let colour = SVGChart.palette[gi % SVGChart.palette.count]
            let band = c.band(g, m)
            for (lo, hi, opacity) in [
                (band.map { $0.ci.low }, band.map { $0.ci.high }, 0.12),
                (band.map { $0.mean - $0.sd }, band.map { $0.mean + $0.sd }, 0.22),
            ] where band.count > 1 && g.runs.count > 1 {
                let upper = zip(band, hi).map { ($0.step, $1) }, lower = zip(band, lo).map { ($0.step, $1) }.reversed()
                svg +=
                    "<polygon points=\"\(path(upper + lower))\" fill=\"\(colour)\" fill-opacity=\"\(opacity)\" stroke=\"none\"/>\n"
            }
            for r in g.runs {
                svg +=
                    "<polyline points=\"\(path(r.curves[m]!.map { ($0.step, $0.value) }))\" fill=\"none\" stroke=\"\(colour)\" "
                svg += "stroke-opacity=\"0.35\" stroke-width=\"1\"/>\n"
            }
            svg +=
                "<polyline points=\"\(path(band.map { ($0.step, $0.mean) }))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.2\"/>\n"
            let ly = 38.0 + Double(gi) * 17
            svg += "<line x1=\"420\" y1=\"\(ly)\" x2=\"440\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"2.5\"/>\n"
            svg += "<text x=\"445\" y=\"\(ly + 4)\" font-size=\"11\">\(esc(g.name)) (n=\(g.runs.count))</text>\n"
        }
        return svg + "</svg>\n"
    }
}

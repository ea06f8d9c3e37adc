// The report's section for the llc probe: the LLC against step with its standard error, beside the loss at
// w* on the same minibatches, the stage boundaries (where the LLC's slope changes sign, as Hoogland et al.
// 2024 read their curves), and every warning of the estimates (from llc.jsonl).

import EmbryoCore
import EmbryoRun
import Foundation

public enum LlcReport {
    /// Steps where the slope of `curve` (in step order) changes sign: the interior points that are a local
    /// maximum or minimum. A difference between neighbours within `z` combined standard errors (`errors`, by
    /// step) counts as flat, so that the sampler's noise makes no boundary.
    public static func stageBoundaries(
        _ curve: [(step: Int, value: Double)], errors: [Int: Double] = [:], z: Double = 2
    ) -> [Int] {
        guard curve.count >= 3 else { return [] }
        var out: [Int] = []
        var previous = 0.0
        for i in 1..<curve.count {
            let a = errors[curve[i - 1].step] ?? 0, b = errors[curve[i].step] ?? 0
            let d = curve[i].value - curve[i - 1].value
            let slope = abs(d) > z * (a * a + b * b).squareRoot() ? d : 0
            if slope != 0 {
                if previous != 0 && (slope > 0) != (previous > 0) { out.append(curve[i - 1].step) }
                previous = slope
            }
        }
        return out
    }

    static func section(_ page: ReportPage) -> String {
        let ms = page.metrics.filter { $0.probe == "llc" }
        guard !ms.isEmpty else { return "" }
        let curve = ProbeReport.series(ms, probe: "llc", key: "mean")
        let se = Dictionary(ProbeReport.series(ms, probe: "llc", key: "std_error").map { ($0.step, $0.value) }) {
            a, _ in a
        }
        var h = ProbeReport.sectionStart(
            "Local learning coefficient",
            """
            The LLC of each snapshot: n_beta times the mean loss of SGLD draws around it minus its own loss on the
            same minibatches of the run's training batches (bars: one standard error over chains). Stage
            boundaries are the steps where the curve's slope changes sign (a difference within two standard
            errors counts as flat).
            """, hasData: true)
        var llc = ChartSeries(name: "LLC", points: curve, style: 0)
        llc.errors = curve.map { se[$0.step] ?? 0 }
        h += SVGChart.line(title: "local learning coefficient", yLabel: "LLC", series: [llc], yRange: nil)
        let loss = ChartSeries(
            name: "loss at w*", points: ProbeReport.series(ms, probe: "llc", key: "center_loss"), style: 1)
        h += SVGChart.line(title: "training loss at the snapshot", yLabel: "loss", series: [loss], yRange: nil)
        h += "</div>\n"
        let stages = stageBoundaries(curve, errors: se)
        h +=
            "<p>Stage boundaries: "
            + (stages.isEmpty ? "none" : stages.map { "step \($0)" }.joined(separator: ", ")) + ".</p>\n"
        let warnings = readWarnings(page.folder.appendingPathComponent("llc.jsonl"))
        if !warnings.isEmpty {
            h += "<p><b>Warnings</b> (estimates to read with care):</p>\n<ul>\n"
            for (step, w) in warnings { h += "<li>step \(step): \(esc(w))</li>\n" }
            h += "</ul>\n"
        }
        return h
    }

    /// (step, warning) from llc.jsonl, in step order.
    static func readWarnings(_ url: URL) -> [(Int, String)] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        struct Row: Decodable {
            let step: Int
            let estimate: LlcEstimate
        }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Row.self, from: Data($0.utf8)) }
            .flatMap { r in r.estimate.warnings.map { (r.step, $0) } }
    }
}

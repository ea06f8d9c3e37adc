// What `embryo llc-sweep` prints and writes: a Markdown table of the cells, sweep.jsonl with every cell's
// chains, and two charts (the estimate against the step size per localisation, and each cell's mean trace).

import EmbryoCore
import EmbryoRun
import Foundation

public enum LlcSweepOutput {
    /// One cell of the grid: its settings, the estimate, the training step of each chain's minibatches in
    /// order (burn-in first), and its wall time.
    public struct Cell: Encodable {
        public let settings: LlcSettings
        public let estimate: LlcEstimate
        public let steps: [[Int]]
        public let seconds: Double
        public init(settings: LlcSettings, estimate: LlcEstimate, steps: [[Int]], seconds: Double) {
            (self.settings, self.estimate, self.steps, self.seconds) = (settings, estimate, steps, seconds)
        }
    }

    /// One row per cell: settings, estimate ± standard error, R-hat, trace flat or not, diverged chains.
    public static func table(_ cells: [Cell]) -> String {
        var lines = [
            "| eps | gamma | nbeta | LLC | std error | R-hat | flat after burn-in | diverged chains |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | :-: | ---: |",
        ]
        for cell in cells {
            let s = cell.settings, e = cell.estimate
            let f = { (x: Double?) in x.map { String(format: "%.3f", $0) } ?? "–" }
            let flat =
                LlcDiagnostics.lateSlope(LlcDiagnostics.meanTrace(e.chains)).map {
                    abs($0.t) <= LlcDiagnostics.slopeCritical(df: $0.df) ? "yes" : "no"
                } ?? "–"
            let diverged = e.chains.filter { $0.divergedAt != nil }.count
            lines.append(
                "| \(s.eps) | \(s.gamma) | \(String(format: "%.2f", e.nbeta)) | \(f(e.mean)) | \(f(e.standardError)) "
                    + "| \(f(e.rhat)) | \(flat) | \(diverged) of \(e.chains.count) |")
        }
        return lines.joined(separator: "\n")
    }

    /// sweep.jsonl, sweep-llc.svg and sweep-traces.svg into `folder`.
    public static func write(
        _ cells: [Cell], step: Int, to folder: URL
    ) throws {
        struct Row: Encodable {
            let step: Int
            let cell: Cell
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let text =
            try cells.map { String(decoding: try enc.encode(Row(step: step, cell: $0)), as: UTF8.self) }
            .joined(separator: "\n") + "\n"
        try writeAtomically(Data(text.utf8), to: folder.appendingPathComponent("sweep.jsonl"))
        // the estimate against the step size (x: index of eps in the grid, in its order), a line per gamma
        let epsValues = Array(Set(cells.map(\.settings.eps))).sorted()
        let line = { (c: Cell) in "gamma \(c.settings.gamma), nbeta \(String(format: "%.2f", c.estimate.nbeta))" }
        var series: [ChartSeries] = []
        for (i, key) in Set(cells.map(line)).sorted().enumerated() {
            let these = cells.filter { line($0) == key && $0.estimate.mean != nil }.sorted {
                $0.settings.eps < $1.settings.eps
            }
            var c = ChartSeries(
                name: key, points: these.map { (epsValues.firstIndex(of: $0.settings.eps)!, $0.estimate.mean!) },
                style: i)
            c.errors = these.map { $0.estimate.standardError ?? 0 }
            series.append(c)
        }
        let title =
            "LLC at step \(step) by step size (x: eps " + epsValues.map { "\($0)" }.joined(separator: ", ") + ")"
        try writeAtomically(
            Data(SVGChart.line(title: title, yLabel: "LLC", series: series, yRange: nil).utf8),
            to: folder.appendingPathComponent("sweep-llc.svg"))
        let traces = cells.enumerated().map { i, cell in
            ChartSeries(
                name: "eps \(cell.settings.eps), gamma \(cell.settings.gamma)",
                points: LlcDiagnostics.meanTrace(cell.estimate.chains).enumerated().map { ($0, $1) }, style: i)
        }
        try writeAtomically(
            Data(
                SVGChart.line(title: "mean loss of the draws by draw", yLabel: "loss", series: traces, yRange: nil).utf8
            ),
            to: folder.appendingPathComponent("sweep-traces.svg"))
    }
}

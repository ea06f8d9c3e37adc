// The run report's downstream section: every snapshot fine-tuned on a task (embryo finetune --run), the
// metric against the pretraining step, mean over seeds with one standard deviation as error bars.

import EmbryoRun
import Foundation

enum DownstreamReport {
    static func section(_ ms: [ProbeMetric]) -> String {
        let dm = ms.filter { $0.probe == "downstream" }
        guard !dm.isEmpty else { return "" }
        // one chart per (split, metric); one line per task, error bars = standard deviation over seeds
        var groups: [String: [String]] = [:]  // "split/metric" -> tasks
        for k in Set(dm.map(\.key)) where !k.hasSuffix("/std") {
            let parts = k.split(separator: "/").map(String.init)
            guard parts.count == 3 else { continue }
            groups["\(parts[1])/\(parts[2])", default: []].append(parts[0])
        }
        var h = ProbeReport.sectionStart(
            "Downstream fine-tuning",
            """
            Every snapshot fine-tuned on each task (embryo finetune --run): the metric on the evaluation
            split against the pretraining step, mean over seeds with error bars of one standard deviation.
            """, hasData: true)
        for g in groups.keys.sorted() {
            let tasks = Array(Set(groups[g]!)).sorted()
            let parts = g.split(separator: "/").map(String.init)
            var lines: [ChartSeries] = []
            for (i, t) in tasks.enumerated() {
                let key = "\(t)/\(g)"
                let mean = ProbeReport.series(dm, probe: "downstream", key: key)
                let std = Dictionary(
                    uniqueKeysWithValues: ProbeReport.series(dm, probe: "downstream", key: key + "/std").map {
                        ($0.step, $0.value)
                    }
                )
                let seeds = dm.first { $0.key == key }?.count ?? 1
                var cs = ChartSeries(name: "\(t) (\(seeds) seeds)", points: mean, style: i)
                cs.errors = mean.map { std[$0.step] ?? 0 }
                lines.append(cs)
            }
            h += SVGChart.line(title: "\(parts[1]) on \(parts[0])", yLabel: parts[1], series: lines, yRange: nil)
        }
        return h + "</div>\n"
    }
}

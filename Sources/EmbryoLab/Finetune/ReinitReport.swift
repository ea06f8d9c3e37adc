// reinit.html: the figures of "Investigating Transferability in Pretrained Language Models" from
// results.jsonl: the headline metric against the number of preserved layers (progressive and probing on
// one chart, one line per data size, error bars over seeds), the block schemes against the window, single
// layers, and scrambled orders against the pretrained order; plus a table of every setting.

import EmbryoCore
import EmbryoRun
import Foundation

public enum ReinitReport {
    static func sizeOrder(_ a: String, _ b: String) -> Bool {
        (Int(a) ?? Int.max, a) < (Int(b) ?? Int.max, b)
    }

    /// Mean and standard deviation over seeds of the headline metric, per (scheme, setting, size).
    static func stats(_ rows: [ReinitRow], split: String, metric: String) -> [String: SeedSummary] {
        var groups: [String: [Double]] = [:]
        for r in rows {
            if let v = r.metrics[split]?[metric] {
                groups["\(r.scheme)|\(r.setting)|\(r.trainSize)", default: []].append(v)
            }
        }
        return groups.mapValues(SeedSummary.init)
    }

    public static func html(
        _ rows: [ReinitRow], task: TaskData, layers L: Int, checkpoint: String, options o: ReinitOptions
    )
        -> String
    {
        let page = ReinitPage(rows: rows, task: task, L: L, options: o)
        return page.header(checkpoint: checkpoint) + page.charts() + page.table() + "</body></html>\n"
    }
}

/// reinit.html's parts, drawn from the sweep's rows.
struct ReinitPage {
    let rows: [ReinitRow]
    let task: TaskData
    let L: Int
    let o: ReinitOptions
    let split: String, metric: String
    let st: [String: SeedSummary]
    let sizes: [String]

    init(rows: [ReinitRow], task: TaskData, L: Int, options: ReinitOptions) {
        self.rows = rows
        self.task = task
        self.L = L
        o = options
        split = task.evals[0].name
        metric = task.metrics[0]
        st = ReinitReport.stats(rows, split: split, metric: metric)
        sizes = Array(Set(rows.map(\.trainSize))).sorted(by: ReinitReport.sizeOrder)
    }

    func sizeName(_ s: String) -> String { s == "full" ? "full data" : "\(s) examples" }

    /// One line of a chart: the mean (and deviation over seeds) of each setting of `scheme` (several joined
    /// by "+") at data size `size`, placed at x(row).
    func line(_ scheme: String, _ size: String, x: (ReinitRow) -> Double?, style: Int, dashed: Bool, name: String)
        -> XYSeries
    {
        var seen = Set<String>()
        var pts: [(x: Double, y: Double, err: Double)] = []
        let schemes = Set(scheme.split(separator: "+").map(String.init))
        for r in rows where schemes.contains(r.scheme) && r.trainSize == size && seen.insert(r.setting).inserted {
            guard let xv = x(r), let s = st["\(r.scheme)|\(r.setting)|\(size)"] else { continue }
            pts.append((xv, s.mean, s.std))
        }
        return XYSeries(name: name, points: pts.sorted { $0.x < $1.x }, style: style, dashed: dashed)
    }

    func header(checkpoint: String) -> String {
        let seeds = Set(rows.map(\.seed)).count
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>embryo reinit: \(esc(task.name))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto;
              max-width: 1240px; color: #222; line-height: 1.4; }
            h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
            table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd; padding: 3px 8px; }
            th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .charts { display: flex; flex-wrap: wrap; gap: 12px; } .note { color: #555; font-size: 0.9em; }
            </style></head><body>
            <h1>Partial re-initialisation: \(esc(task.name))</h1>
            <p class=note>Checkpoint \(esc(checkpoint)); \(L) layers; scheme \(o.scheme.rawValue); \(seeds) seed(s)
            per setting; \(metric) on \(split) (mean, error bars one standard deviation over seeds). Re-initialised
            layers get fresh attention and FFN matrices from the model's init, zero biases and
            \(o.keepLayerNorm ? "their pretrained LayerNorms" : "reset LayerNorms"); embeddings stay pretrained; the
            head is new. Fine-tuning: AdamW lr \(o.finetune.lr)\(o.reinitLrMult != 1 ? " (x\(o.reinitLrMult) on re-initialised layers)" : ""),
            \(o.finetune.epochs) epochs, batch \(o.finetune.batchSize). Probing: a linear classifier on the frozen
            [CLS] vector of layer k.</p>
            <div class=charts>

            """
    }

    /// The scheme's figures.
    func charts() -> String {
        var h = ""
        let layerTicks = (0...L).map { (Double($0), String($0)) }
        switch o.scheme {
        case .progressive:
            var series: [XYSeries] = []
            for (i, size) in sizes.enumerated() {
                series.append(
                    line(
                        "progressive", size, x: { Double($0.preserved) }, style: i, dashed: false,
                        name: "fine-tuned, \(sizeName(size))"))
                let p = line(
                    "probing", size, x: { Double($0.preserved) }, style: i, dashed: true,
                    name: "probing, \(sizeName(size))")
                if !p.points.isEmpty { series.append(p) }
            }
            h += SVGChart.xy(
                title: "\(metric) against pretrained layers kept",
                xLabel: "layers kept (0...k-1 pretrained, k...L-1 re-initialised)",
                yLabel: metric, series: series, xTicks: layerTicks)
        case .block, .inverseBlock, .single:
            let series = sizes.enumerated().map { i, size in
                line(
                    o.scheme.rawValue, size, x: { $0.window.map(Double.init) }, style: i, dashed: false,
                    name: sizeName(size))
            }
            let what =
                o.scheme == .single
                ? "re-initialised layer"
                : o.scheme == .block ? "first re-initialised layer of the block" : "first layer of the kept block"
            h += SVGChart.xy(
                title: "\(metric) by \(what)", xLabel: what, yLabel: metric, series: series,
                xTicks: (0..<L).map { (Double($0), String($0)) })
            if o.probing {
                let probe = sizes.enumerated().map { i, size in
                    line(
                        "probing", size, x: { Double($0.preserved) }, style: i, dashed: true,
                        name: "probing, \(sizeName(size))")
                }.filter { !$0.points.isEmpty }
                if !probe.isEmpty {
                    h += SVGChart.xy(
                        title: "probing baseline", xLabel: "layers kept (k)", yLabel: metric, series: probe,
                        xTicks: layerTicks)
                }
            }
        case .scramble:
            let series = sizes.enumerated().map { i, size in
                // the pretrained order at 0, then each scrambled order
                line(
                    "scramble+baseline", size,
                    x: { r in r.scheme == "scramble" ? r.window.map(Double.init) : r.setting == "pretrained" ? 0 : nil
                    },
                    style: i, dashed: false, name: sizeName(size))
            }
            let perms = Set(rows.compactMap { $0.scheme == "scramble" ? $0.window : nil }).sorted()
            h += SVGChart.xy(
                title: "\(metric) of scrambled layer orders against the pretrained order",
                xLabel: "permutation (0 = pretrained order)", yLabel: metric, series: series,
                xTicks: [(0, "0")] + perms.map { (Double($0), String($0)) })
        }
        return h
    }

    /// Every setting's mean and deviation at every data size.
    func table() -> String {
        var h = ""
        h += "</div>\n<h2>Every setting</h2>\n<table><tr><th>scheme</th><th>setting</th><th>layers kept</th>"
        for size in sizes { h += "<th>\(esc(sizeName(size)))</th>" }
        h += "</tr>\n"
        var seen = Set<String>()
        for r in rows where seen.insert("\(r.scheme)|\(r.setting)").inserted {
            h += "<tr><td>\(esc(r.scheme))</td><td>\(esc(r.setting))</td><td class=num>\(r.preserved)</td>"
            for size in sizes {
                let s = st["\(r.scheme)|\(r.setting)|\(size)"]
                h += "<td class=num>\(s.map { String(format: "%.4f ± %.4f", $0.mean, $0.std) } ?? "")</td>"
            }
            h += "</tr>\n"
        }
        let secs = rows.map(\.seconds).reduce(0, +)
        h +=
            "</table>\n<p class=note>\(rows.count) runs, \(String(format: "%.0f", secs)) s of fine-tuning and probing.</p>\n"
        return h
    }
}

extension ReinitReport {
    /// The run report's section: each re-initialisation sweep of the run (reinit/<task>-<scheme>/), linked,
    /// with its settings, data sizes and the number of fine-tuning runs. Empty when there is none.
    static func runSection(_ run: Run, from folder: URL) -> String {
        let root = run.root.appendingPathComponent("reinit")
        let fm = FileManager.default
        let sweeps = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted().filter {
            fm.fileExists(atPath: root.appendingPathComponent("\($0)/results.jsonl").path)
        }
        guard !sweeps.isEmpty else { return "" }
        var h = "<h2>Re-initialisation</h2>\n<p class=note>Sweeps of embryo reinit on this run: some pretrained "
        h += "layers re-initialised, then fine-tuned; each page compares the settings across data sizes.</p>\n"
        h += "<table><tr><th>sweep</th><th>settings</th><th>data sizes</th><th>runs</th></tr>\n"
        for name in sweeps {
            let dir = root.appendingPathComponent(name)
            let rows = (try? readFile(dir.appendingPathComponent("results.jsonl"))).map(jsonObjectLines) ?? []
            let settings = Set(rows.compactMap { $0["setting"] as? String }).count
            let sizes = Set(rows.compactMap { $0["train_size"] as? String }).sorted().joined(separator: ", ")
            // a link relative to the report, when the report is the run's own
            let page = dir.appendingPathComponent("reinit.html")
            let link =
                folder.standardizedFileURL == run.probes.standardizedFileURL
                ? "../reinit/\(name)/reinit.html" : page.path
            h += "<tr><td><a href=\"\(esc(link))\">\(esc(name))</a></td><td class=num>\(settings)</td>"
            h += "<td>\(esc(sizes))</td><td class=num>\(rows.count)</td></tr>\n"
        }
        return h + "</table>\n"
    }
}

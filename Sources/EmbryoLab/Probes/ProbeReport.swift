// report.html: one self-contained page (inline SVG and CSS, nothing fetched) with the embryology figures
// drawn from the probe metrics, and the text summary printed after probing.

import EmbryoCore
import EmbryoRun
import Foundation

public enum ProbeReport {
    // MARK: series selection

    static func series(_ ms: [ProbeMetric], probe: String, key: String) -> [(step: Int, value: Double)] {
        ms.filter { $0.probe == probe && $0.key == key }.map { ($0.step, $0.value) }.sorted { $0.step < $1.step }
    }

    /// UPOS tags by word count at the last step, most frequent first.
    static func uposTags(_ ms: [ProbeMetric]) -> [(tag: String, count: Int)] {
        guard let last = ms.filter({ $0.probe == "mlm" }).map(\.step).max() else { return [] }
        return ms.filter { $0.probe == "mlm" && $0.step == last && $0.key.hasPrefix("reconstruction/upos/") }
            .map { (String($0.key.dropFirst("reconstruction/upos/".count)), $0.count) }
            .sorted { ($0.1, $1.0) > ($1.1, $0.0) }
    }

    /// The layer whose probe is best at the last step, for a task.
    static func bestLayer(_ ms: [ProbeMetric], task: String) -> Int? {
        guard let last = ms.filter({ $0.probe == "layers" }).map(\.step).max() else { return nil }
        let rows = ms.filter {
            $0.probe == "layers" && $0.step == last && $0.key.hasPrefix("\(task)/layer_")
                && $0.key.hasSuffix("/accuracy")
        }
        guard let best = rows.max(by: { $0.value < $1.value }) else { return nil }
        return Int(best.key.split(separator: "/")[1].dropFirst("layer_".count))
    }

    /// The headline trajectories: one per probe (per task for the linear probes).
    public static func headline(_ ms: [ProbeMetric]) -> [Trajectory] {
        var out: [Trajectory] = []
        func add(_ name: String, _ probe: String, _ key: String) {
            let s = series(ms, probe: probe, key: key)
            if !s.isEmpty { out.append(Trajectory(name: name, points: s)) }
        }
        add("reconstruction, all words", "mlm", "reconstruction/all")
        add("mask prediction, all words", "mlm", "mask_prediction/all")
        for task in LayerProbe.tasks {
            if let l = bestLayer(ms, task: task) {
                add(
                    "\(task == "upos" ? "UPOS" : "DEPREL") probe accuracy, layer \(l)", "layers",
                    "\(task)/layer_\(l)/accuracy")
            }
        }
        add("knowledge P@1, mean over relations", "knowledge", "p_at_1/mean")
        add("held-out MLM accuracy", "loss", "mlm_accuracy")
        add("minimal-pair accuracy, mean over paradigms", "pairs", "accuracy/mean")
        add("local learning coefficient", "llc", "mean")
        let terms = Set(ms.filter { $0.probe == "pairs" && $0.key.hasPrefix("accuracy/term/") }.map(\.key))
        for key in terms.sorted() { add("minimal pairs, \(key.dropFirst("accuracy/term/".count))", "pairs", key) }
        return out
    }

    public static func describe(_ t: Trajectory) -> String {
        guard let last = t.points.last else { return "\(t.name): no data" }
        var s = String(format: "%@: %.3f at step %d", t.name, last.value, last.step)
        if t.points.allSatisfy({ $0.value <= 0 }) { return s + "; zero at every step" }
        if let s90 = t.stepReaching90 { s += "; 90% of that by step \(s90)" }
        if let p = t.peakBeforeEnd() {
            s += String(format: "; peaked at step %d (%.3f) before the end", p.step, p.value)
        } else {
            s += "; no earlier peak"
        }
        return s
    }

    /// The text summary printed after probing.
    public static func summary(_ ms: [ProbeMetric]) -> [String] { headline(ms).map(describe) + llcWarnings(ms) }

    /// A warning line when any snapshot's LLC estimate came with warnings (their text is in llc.jsonl).
    static func llcWarnings(_ ms: [ProbeMetric]) -> [String] {
        let steps = ms.filter { $0.probe == "llc" && $0.key == "warnings" && $0.value > 0 }.map(\.step).sorted()
        guard !steps.isEmpty else { return [] }
        return [
            "warning: the LLC estimates of steps \(steps.map(String.init).joined(separator: ", ")) came with "
                + "warnings (diverged chains, a negative estimate or a trace still drifting): see the report or llc.jsonl"
        ]
    }

    // MARK: page

    /// The summary table: when each headline probe reached 90% of its final value, and earlier peaks.
    static func summarySection(_ ms: [ProbeMetric]) -> String {
        var h = "<h2>Summary</h2>\n<table><tr><th>probe</th><th>final</th><th>step reaching 90% of final</th>"
        h += "<th>peak before the end</th></tr>\n"
        for t in headline(ms) {
            let p = t.peakBeforeEnd()
            h += "<tr><td>\(esc(t.name))</td><td class=num>\(f3(t.final ?? 0)) (step \(t.points.last!.step))</td>"
            let zero = t.points.allSatisfy { $0.value <= 0 }
            h += "<td class=num>\(zero ? "zero throughout" : t.stepReaching90.map(String.init) ?? "")</td>"
            h += "<td>\(p.map { "yes: \(f3($0.value)) at step \($0.step)" } ?? "no")</td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func mlmSection(_ ms: [ProbeMetric]) -> String {
        let tags = uposTags(ms)
        var h = sectionStart(
            "Reconstruction and mask prediction by part of speech",
            """
            Per UPOS tag: a word is reconstructed when all its subwords come back from the unmasked sentence, and
            predicted when all are recovered with every one of them [MASK]ed. Legend: tag (words). Rescaled: each
            curve divided by its value at the last checkpoint. Per-XPOS figures are in metrics.csv.
            """, hasData: !tags.isEmpty)
        if tags.isEmpty { return h }
        let shown = tags.prefix(12)
        for (kind, label) in [
            ("reconstruction", "reconstruction accuracy"), ("mask_prediction", "mask prediction accuracy"),
        ] {
            var raw: [ChartSeries] = [], scaled: [ChartSeries] = []
            for (i, t) in shown.enumerated() {
                let s = series(ms, probe: "mlm", key: "\(kind)/upos/\(t.tag)")
                raw.append(ChartSeries(name: "\(t.tag) (\(t.count))", points: s, style: i))
                if let last = s.last?.value, last > 0 {
                    scaled.append(
                        ChartSeries(
                            name: "\(t.tag) (\(t.count))", points: s.map { ($0.step, $0.value / last) }, style: i))
                }
            }
            h += SVGChart.line(title: label, yLabel: "accuracy", series: raw, yRange: (0, 1))
            if scaled.isEmpty {
                h += "<p class=note>\(label): every tag is at 0 at the last checkpoint, so nothing is rescaled.</p>\n"
            } else {
                h += SVGChart.line(
                    title: "\(label), rescaled by the last checkpoint", yLabel: "fraction of final", series: scaled,
                    yRange: nil)
            }
        }
        h += "</div>\n<table><tr><th>UPOS</th><th>words</th>"
        let steps = Array(Set(ms.filter { $0.probe == "mlm" }.map(\.step))).sorted()
        let last = steps.last!
        h +=
            "<th>reconstruction at \(last)</th><th>mask prediction at \(last)</th><th>reconstruction reaches 90% of final at</th></tr>\n"
        for t in tags {
            let r = Trajectory(name: t.tag, points: series(ms, probe: "mlm", key: "reconstruction/upos/\(t.tag)"))
            let p = series(ms, probe: "mlm", key: "mask_prediction/upos/\(t.tag)").last?.value ?? 0
            h += "<tr><td>\(esc(t.tag))</td><td class=num>\(t.count)</td><td class=num>\(f3(r.final ?? 0))</td>"
            h += "<td class=num>\(f3(p))</td><td class=num>\(r.stepReaching90.map(String.init) ?? "")</td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func layersSection(_ ms: [ProbeMetric]) -> String {
        let lm = ms.filter { $0.probe == "layers" }
        var h = sectionStart(
            "Layer-wise linear probes",
            """
            A softmax classifier per checkpoint, layer and task on frozen word vectors (mean of subwords; layer 0 is
            the embedding output after the projection to the hidden size). UPOS: the word's vector; DEPREL: the
            dependent's and its head's vectors. Cells: held-out accuracy or macro-F1. Step 0 is the randomly
            initialised model, a control.
            """, hasData: !lm.isEmpty)
        if lm.isEmpty { return h }
        let steps = Array(Set(lm.map(\.step))).sorted()
        for task in LayerProbe.tasks {
            let layers = Array(
                Set(
                    lm.compactMap { m -> Int? in
                        let parts = m.key.split(separator: "/")
                        guard parts.count == 3, parts[0] == task, parts[1].hasPrefix("layer_") else { return nil }
                        return Int(parts[1].dropFirst(6))
                    })
            ).sorted()
            guard !layers.isEmpty else { continue }
            for (metric, label) in [("accuracy", "accuracy"), ("macro_f1", "macro-F1")] {
                var cells: [[Double?]] = []
                for l in layers {
                    cells.append(
                        steps.map { s in
                            lm.first { $0.step == s && $0.key == "\(task)/layer_\(l)/\(metric)" }?.value
                        })
                }
                let base = lm.last { $0.key == "\(task)/majority/\(metric)" }?.value ?? 0
                let name = task == "upos" ? "UPOS tagging" : "dependency relations"
                h += SVGChart.heatmap(
                    title: "\(name): \(label) (majority class \(f3(base)))", rows: layers.map { "layer \($0)" },
                    columns: steps.map(String.init), values: cells)
            }
        }
        return h + "</div>\n"
    }

    static func knowledgeSection(_ ms: [ProbeMetric]) -> String {
        let km = ms.filter { $0.probe == "knowledge" }
        var h = sectionStart(
            "World knowledge (LAMA cloze)",
            """
            P@1 over the whole vocabulary at [MASK] in each relation's probe template; only facts whose object is a
            single subword are scored. Legend: relation (facts scored).
            """, hasData: !km.isEmpty)
        if km.isEmpty { return h }
        let last = km.map(\.step).max()!
        func keys(_ prefix: String) -> [(String, Int)] {
            km.filter { $0.step == last && $0.key.hasPrefix(prefix) }.map {
                (String($0.key.dropFirst(prefix.count)), $0.count)
            }
        }
        let missing = keys("missing/relation/").map(\.0)
        if !missing.isEmpty {
            h += "<p>\(missing.count) relation\(missing.count == 1 ? "" : "s") skipped, facts file missing: "
            h += esc(missing.prefix(12).joined(separator: ", ")) + (missing.count > 12 ? ", ..." : "") + ".</p>\n"
        }
        let subsets = keys("p_at_1/subset/")
        let relations = keys("p_at_1/relation/")
        if relations.count > 12 && !subsets.isEmpty {
            // LAMA's own data: one line per subset (the table below has every relation)
            let s = subsets.map { r in
                ChartSeries(
                    name: "\(r.0), mean over relations (\(r.1))",
                    points: series(km, probe: "knowledge", key: "p_at_1/subset/\(r.0)"), style: 0)
            }
            h += SVGChart.line(title: "P@1 per LAMA subset", yLabel: "P@1", series: styled(s), yRange: (0, 1))
        } else {
            let rel = relations.map { r in
                ChartSeries(
                    name: "\(r.0) (\(r.1))", points: series(km, probe: "knowledge", key: "p_at_1/relation/\(r.0)"),
                    style: 0)
            }
            h += SVGChart.line(title: "P@1 per relation", yLabel: "P@1", series: styled(rel), yRange: (0, 1))
        }
        h += paraphraseChart(km, consistency: keys("paraphrase/consistency/relation/"))
        let buckets = KnowledgeProbe.buckets.map(\.name).compactMap { b in
            keys("p_at_1/frequency/").first { $0.0 == b }
        }
        if !buckets.isEmpty {
            let s = buckets.map { b in
                ChartSeries(
                    name: "seen \(b.0) times (\(b.1))",
                    points: series(km, probe: "knowledge", key: "p_at_1/frequency/\(b.0)"),
                    style: 0)
            }
            h += SVGChart.line(
                title: "P@1 by how often the fact was stated in training", yLabel: "P@1", series: styled(s),
                yRange: (0, 1))
        }
        var agg = [
            ChartSeries(
                name: "mean over relations", points: series(km, probe: "knowledge", key: "p_at_1/mean"), style: 0)
        ]
        for t in keys("p_at_1/type/") {
            agg.append(
                ChartSeries(
                    name: "\(t.0) relations (\(t.1))",
                    points: series(km, probe: "knowledge", key: "p_at_1/type/\(t.0)"), style: 0))
        }
        h += SVGChart.line(title: "P@1 by relation type", yLabel: "P@1", series: styled(agg), yRange: (0, 1))
        return h + "</div>\n" + relationTable(km, last: last)
    }

    /// Paraphrase consistency (pattern pairs with the same top prediction) and P@1 over every pattern.
    static func paraphraseChart(_ km: [ProbeMetric], consistency: [(String, Int)]) -> String {
        var h = ""
        if !consistency.isEmpty {
            var s = [
                ChartSeries(
                    name: "consistency, mean over relations",
                    points: series(km, probe: "knowledge", key: "paraphrase/consistency/mean"), style: 0),
                ChartSeries(
                    name: "P@1 over every pattern, mean over relations",
                    points: series(km, probe: "knowledge", key: "paraphrase/p_at_1/mean"), style: 0),
            ]
            if consistency.count <= 8 {
                s += consistency.map { r in
                    ChartSeries(
                        name: "consistency, \(r.0) (\(r.1) pattern pairs)",
                        points: series(km, probe: "knowledge", key: "paraphrase/consistency/relation/\(r.0)"), style: 0)
                }
            }
            h += SVGChart.line(
                title: "Paraphrases: consistency (pattern pairs with the same top prediction) and P@1", yLabel: "share",
                series: styled(s), yRange: (0, 1))
        }
        return h
    }

    /// Per relation at the last snapshot: facts, those skipped (object not one subword) and P@1.
    static func relationTable(_ km: [ProbeMetric], last: Int) -> String {
        var h =
            "<table><tr><th>relation</th><th>facts</th><th>skipped (object not one subword)</th><th>P@1 at \(last)</th></tr>\n"
        for m in km where m.step == last && m.key.hasPrefix("skipped/relation/") {
            let name = String(m.key.dropFirst("skipped/relation/".count))
            let p = km.first { $0.step == last && $0.key == "p_at_1/relation/\(name)" }
            h +=
                "<tr><td>\(esc(name))</td><td class=num>\(m.count)</td><td class=num>\(SVGChart.tickLabel(m.value))</td>"
            h += "<td class=num>\(p.map { f3($0.value) } ?? "-")</td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func lossSection(_ ms: [ProbeMetric], trainLog: URL?) -> String {
        var h = "<h2>Losses</h2>\n"
        let lm = ms.filter { $0.probe == "loss" }
        var train: [(Int, Double)] = [], trainEval: [(Int, Double)] = []
        if let url = trainLog, let data = try? readFile(url) {
            for o in jsonObjectLines(data) {
                guard let step = o["step"] as? Int else { continue }
                if let l = o["mlm_loss"] as? Double { train.append((step, l)) }
                if let l = o["eval_mlm_loss"] as? Double { trainEval.append((step, l)) }
            }
        }
        guard !lm.isEmpty || !train.isEmpty else { return h + "<p class=note>Not probed.</p>\n" }
        h += "<p class=note>Held-out MLM loss and accuracy of every snapshot on a fixed masking of held-out text"
        h += "\(train.isEmpty ? "" : ", with the training MLM loss from the run's log").</p>\n<div class=charts>\n"
        var loss: [ChartSeries] = []
        if !lm.isEmpty {
            loss.append(
                ChartSeries(name: "held-out (probe)", points: series(lm, probe: "loss", key: "mlm_loss"), style: 0))
        }
        if !train.isEmpty { loss.append(ChartSeries(name: "training batches", points: train, style: 1)) }
        if !trainEval.isEmpty {
            loss.append(ChartSeries(name: "held-out (during training)", points: trainEval, style: 2))
        }
        h += SVGChart.line(title: "MLM loss", yLabel: "cross-entropy (nats)", series: loss, yRange: nil)
        if !lm.isEmpty {
            var acc = [
                ChartSeries(name: "MLM accuracy", points: series(lm, probe: "loss", key: "mlm_accuracy"), style: 0)
            ]
            let sop = series(lm, probe: "loss", key: "sop_accuracy")
            if !sop.isEmpty { acc.append(ChartSeries(name: "SOP accuracy", points: sop, style: 1)) }
            h += SVGChart.line(title: "held-out accuracy", yLabel: "accuracy", series: acc, yRange: (0, 1))
        }
        return h + "</div>\n"
    }

    /// A section's heading and note, and the start of its chart row; "Not probed." when there is no data.
    static func sectionStart(_ title: String, _ note: String, hasData: Bool) -> String {
        "<h2>\(title)</h2>\n"
            + (hasData ? "<p class=note>\(note)</p>\n<div class=charts>\n" : "<p class=note>Not probed.</p>\n")
    }

    static func styled(_ s: [ChartSeries]) -> [ChartSeries] {
        s.enumerated().map {
            var c = $1; c.style = $0; return c
        }
    }

    static func f3(_ x: Double) -> String { String(format: "%.3f", x) }
}

// features.json and features.html from a crosscoder's feature profiles: the emergence histogram against
// step, strength trajectories of representative features, reconstruction quality per snapshot, token-level
// against context-dependent features, tag associations, and a feature table with top contexts. The same
// section (without the page around it) joins a run's probe report.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct FeatureReportInput {
    public var profiles: [FeatureProfile]
    public var steps: [Int]
    public var explainedVariance: [Double]
    public var l0: Double
    public var layer: Int
    public var contexts: [Int: [String]]  // feature -> rendered contexts (text with the token in ⟦ ⟧)
    public var attribution: AttributionResult? = nil

    public init(
        profiles: [FeatureProfile], steps: [Int], explainedVariance: [Double], l0: Double, layer: Int,
        contexts: [Int: [String]]
    ) {
        self.profiles = profiles
        self.steps = steps
        self.explainedVariance = explainedVariance
        self.l0 = l0
        self.layer = layer
        self.contexts = contexts
    }
}

public enum CrosscoderReport {
    /// Renders the sentence of `row` from the store with that token marked.
    public static func context(
        row: Int, tokens: [Int32], positions: [Int32], vocab: Vocabulary?
    ) -> String {
        let sentence = positions[2 * row], pos = Int(positions[2 * row + 1])
        let start = row - pos
        var end = row
        while end + 1 < tokens.count && positions[2 * (end + 1)] == sentence { end += 1 }
        var out = ""
        for r in start...end {
            let id = Int(tokens[r])
            var t = vocab.map { id < $0.count ? $0.tokens[id] : "#\(id)" } ?? "#\(id)"
            if t == "[CLS]" || t == "[SEP]" {
                if r == row { out += (out.isEmpty ? "" : " ") + "⟦\(t)⟧" }
                continue
            }
            let cont = t.hasPrefix("##")
            if cont { t.removeFirst(2) }
            if r == row { t = "⟦\(t)⟧" }
            out += (cont || out.isEmpty ? "" : " ") + t
        }
        return out
    }

    /// Features firing on at least one token, not initialisation-only.
    static func alive(_ ps: [FeatureProfile]) -> [FeatureProfile] {
        ps.filter { $0.frequency > 0 && !$0.trajectory.initOnly }
    }

    public static func summary(_ input: FeatureReportInput) -> [String] {
        let ps = input.profiles, alive = alive(ps)
        let point = FeatureAnalysis.emergencePoint(ps, steps: input.steps)
        let fromStart = alive.filter { $0.trajectory.emergenceIndex == 0 }
        let forming = alive.filter { $0.trajectory.emergenceIndex > 0 }
        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.0f%%", 100 * Double(a) / Double(b)) }
        var lines = [
            "\(ps.count) features, L0 \(String(format: "%.1f", input.l0)): \(fromStart.count) present from the first snapshot, "
                + "\(forming.count) forming during training, \(ps.filter(\.trajectory.initOnly).count) of the initialisation "
                + "only (decaying), \(ps.filter { $0.frequency == 0 }.count) never firing",
            "explained variance per snapshot: "
                + zip(input.steps, input.explainedVariance).map { "\($0) \(String(format: "%.3f", $1))" }.joined(
                    separator: ", "),
        ]
        if !forming.isEmpty {
            lines.append(
                "of the features forming during training, \(pct(Int((point.share * Double(forming.count)).rounded()), forming.count)) "
                    + "emerge at step \(point.step)")
            let ctxForming = forming.filter { $0.tokenR2 < 0.5 }.count,
                ctxStart = fromStart.filter { $0.tokenR2 < 0.5 }.count
            lines.append(
                "context-dependent features (token identity explains < 50% of the activation): "
                    + "\(pct(ctxForming, forming.count)) of those forming during training, "
                    + "\(pct(ctxStart, fromStart.count)) of those present from the start")
        }
        if let r = input.attribution {
            lines.append(
                String(
                    format: "attribution (%@ reconstruction loss, %d tokens): %.3f as is, %.3f through the crosscoder",
                    r.tag, r.tokens, r.originalLoss, r.splicedLoss))
            for ab in r.ablations {
                lines.append(
                    String(
                        format:
                            "zeroing the %d most relied-on features: %.3f (first-order prediction %.3f); %d random features: %.3f",
                        ab.k, ab.top, ab.predicted, ab.k, ab.random))
            }
            for c in r.checks {
                lines.append(
                    String(
                        format: "check, feature %d: attribution %.4f, finite difference %.4f", c.feature, c.attribution,
                        c.finiteDifference))
            }
        }
        let (tokenLevel, contextual) = split(alive)
        if !tokenLevel.isEmpty && !contextual.isEmpty {
            lines.append(
                "mean emergence step: token-level features \(mean(tokenLevel)), context-dependent features \(mean(contextual))"
            )
        }
        return lines
    }

    static func mean(_ ps: [FeatureProfile]) -> Int {
        ps.isEmpty ? 0 : ps.map(\.trajectory.emergenceStep).reduce(0, +) / ps.count
    }

    static func split(_ ps: [FeatureProfile]) -> ([FeatureProfile], [FeatureProfile]) {
        (ps.filter { $0.tokenR2 >= 0.5 }, ps.filter { $0.tokenR2 < 0.5 })
    }

    static func median(_ ps: [FeatureProfile]) -> Int {
        let s = ps.map(\.trajectory.emergenceStep).sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }

    /// The section (headings, figures, tables) shared by features.html and the run's report.
    public static func section(_ input: FeatureReportInput) -> String {
        var h = "<h2>Crosscoder features (layer \(input.layer))</h2>\n<p class=note>"
        h += summary(input).map(esc).joined(separator: ".<br>\n") + ".</p>\n<div class=charts>\n"
        h += charts(input) + "</div>\n"
        h += tagTable(input) + attributionTable(input) + featureTable(input)
        return h
    }

    /// Emergence histogram, reconstruction per snapshot, and representative features' strength.
    static func charts(_ input: FeatureReportInput) -> String {
        let ps = input.profiles, steps = input.steps, S = steps.count
        let alive = alive(ps)
        var h = ""
        // emergence histogram, as a series of counts per snapshot
        var hist = [Double](repeating: 0, count: S)
        for p in alive { hist[p.trajectory.emergenceIndex] += 1 }
        var initOnly = [Double](repeating: 0, count: S)
        for p in ps where p.trajectory.initOnly { initOnly[p.trajectory.peakIndex] += 1 }
        h += SVGChart.bars(
            title: "features emerging at each snapshot", yLabel: "features",
            steps: steps, values: hist, note: "emergence: first snapshot at half the feature's peak decoder norm")
        h += SVGChart.line(
            title: "reconstruction per snapshot", yLabel: "explained variance",
            series: [
                ChartSeries(
                    name: "explained variance", points: zip(steps, input.explainedVariance).map { ($0, $1) }, style: 0)
            ],
            yRange: (min(0, input.explainedVariance.min() ?? 0), 1))
        // representative trajectories: the most frequent feature of each emergence snapshot
        var reps: [FeatureProfile] = []
        for e in 0..<S {
            if let p = alive.filter({ $0.trajectory.emergenceIndex == e }).max(by: { $0.frequency < $1.frequency }) {
                reps.append(p)
            }
        }
        if let ini = ps.filter(\.trajectory.initOnly).max(by: { $0.frequency < $1.frequency }) { reps.append(ini) }
        let lines = reps.prefix(10).enumerated().map { k, p -> ChartSeries in
            let mx = p.trajectory.norms.max() ?? 1
            return ChartSeries(
                name: "#\(p.trajectory.index)\(p.trajectory.initOnly ? " (init)" : "") \(p.topUpos?.tag ?? "")",
                points: zip(steps, p.trajectory.norms).map { ($0, Double($1 / max(mx, 1e-12))) }, style: k)
        }
        h += SVGChart.line(
            title: "strength of representative features", yLabel: "decoder norm / its maximum", series: lines,
            yRange: (0, 1))
        return h
    }

    /// Features grouped by the UPOS tag they are most associated with.
    static func tagTable(_ input: FeatureReportInput) -> String {
        var h = ""
        var byTag: [String: [FeatureProfile]] = [:]
        for p in alive(input.profiles) { if let t = p.topUpos?.tag { byTag[t, default: []].append(p) } }
        if !byTag.isEmpty {
            h += "<table><tr><th>UPOS most associated</th><th>features</th><th>median emergence step</th>"
            h += "<th>median token-identity R²</th></tr>\n"
            for (tag, group) in byTag.sorted(by: { $0.value.count > $1.value.count }) {
                let r2 = group.map(\.tokenR2).sorted()[group.count / 2]
                h += "<tr><td>\(esc(tag))</td><td class=num>\(group.count)</td><td class=num>\(median(group))</td>"
                h += "<td class=num>\(String(format: "%.2f", r2))</td></tr>\n"
            }
            h += "</table>\n"
        }
        return h
    }

    /// The features that the last snapshot's loss on one tag relies on most, when attribution ran.
    static func attributionTable(_ input: FeatureReportInput) -> String {
        let ps = input.profiles
        var h = ""
        if let r = input.attribution {
            h +=
                "<h3>Attribution: \(esc(r.tag)) reconstruction loss at the last snapshot</h3>\n<table><tr><th>feature</th>"
            h += "<th>attribution</th><th>emerges</th><th>UPOS</th><th>top contexts</th></tr>\n"
            let order = r.attribution.indices.sorted { r.attribution[$0] < r.attribution[$1] }
            for i in order.prefix(10) {
                let p = ps[i]
                let ctx = (input.contexts[i] ?? []).prefix(2).map {
                    esc($0).replacingOccurrences(of: "⟦", with: "<mark>").replacingOccurrences(of: "⟧", with: "</mark>")
                }
                h += "<tr><td class=num>\(i)</td><td class=num>\(String(format: "%.3f", r.attribution[i]))</td>"
                h += "<td class=num>\(p.trajectory.emergenceStep)</td><td>\(esc(p.topUpos?.tag ?? ""))</td>"
                h += "<td>\(ctx.joined(separator: "<br>"))</td></tr>\n"
            }
            h += "</table>\n"
        }
        return h
    }

    /// The 40 most frequent features.
    static func featureTable(_ input: FeatureReportInput) -> String {
        let ps = input.profiles
        var h = ""
        h += "<table><tr><th>feature</th><th>emerges</th><th>init only</th><th>fires on</th><th>UPOS (lift)</th>"
        h += "<th>DEPREL (lift)</th><th>token R²</th><th>cos(step 0, last)</th><th>top contexts</th></tr>\n"
        for p in ps.filter({ $0.frequency > 0 }).sorted(by: { $0.frequency > $1.frequency }).prefix(40) {
            let t = p.trajectory
            h +=
                "<tr><td class=num>\(t.index)</td><td class=num>\(t.emergenceStep)</td><td>\(t.initOnly ? "yes" : "")</td>"
            h += "<td class=num>\(String(format: "%.2f%%", p.frequency * 100))</td>"
            h += "<td>\(p.topUpos.map { "\(esc($0.tag)) (\(String(format: "%.1f", $0.lift)))" } ?? "")</td>"
            h += "<td>\(p.topDeprel.map { "\(esc($0.tag)) (\(String(format: "%.1f", $0.lift)))" } ?? "")</td>"
            h +=
                "<td class=num>\(String(format: "%.2f", p.tokenR2))</td><td class=num>\(String(format: "%.2f", t.drift.first ?? 0))</td>"
            let ctx = (input.contexts[t.index] ?? []).prefix(3).map {
                esc($0).replacingOccurrences(of: "⟦", with: "<mark>").replacingOccurrences(of: "⟧", with: "</mark>")
            }
            h += "<td>\(ctx.joined(separator: "<br>"))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    public static func page(_ input: FeatureReportInput, title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>embryo features: \(esc(title))</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto;
          max-width: 1240px; color: #222; line-height: 1.4; }
        h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
        td, th { border: 1px solid #ddd; padding: 3px 6px; vertical-align: top; } th { background: #f4f4f4; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; } mark { background: #ffe08a; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px; } .note { color: #555; font-size: 0.9em; }
        </style></head><body>
        <h1>Crosscoder features: \(esc(title))</h1>
        \(section(input))
        </body></html>

        """
    }

    /// features.json: every feature's trajectory and profile.
    public static func json(_ input: FeatureReportInput) throws -> Data {
        let arr: [[String: Any]] = input.profiles.map { p in
            let t = p.trajectory
            var o: [String: Any] = [
                "index": t.index, "decoder_norms": t.norms.map(Double.init), "emergence_step": t.emergenceStep,
                "init_only": t.initOnly, "drift_cosine_to_last": t.drift.map(Double.init), "frequency": p.frequency,
                "mean_activation": p.meanActivation, "token_r2": p.tokenR2,
                "contexts": input.contexts[t.index] ?? [],
            ]
            if let u = p.topUpos { o["top_upos"] = ["tag": u.tag, "lift": u.lift, "share": u.share] }
            if let u = p.topDeprel { o["top_deprel"] = ["tag": u.tag, "lift": u.lift, "share": u.share] }
            return o
        }
        var attribution: [String: Any] = [:]
        if let r = input.attribution {
            attribution = [
                "tag": r.tag, "tokens": r.tokens, "original_loss": r.originalLoss, "spliced_loss": r.splicedLoss,
                "attribution": r.attribution,
                "ablations": r.ablations.map {
                    ["k": $0.k, "predicted_loss": $0.predicted, "loss_top": $0.top, "loss_random": $0.random]
                },
                "checks": r.checks.map {
                    ["feature": $0.feature, "attribution": $0.attribution, "finite_difference": $0.finiteDifference]
                },
            ]
        }
        let obj: [String: Any] = [
            "attribution": attribution,
            "steps": input.steps, "layer": input.layer, "explained_variance": input.explainedVariance, "l0": input.l0,
            "emergence_point": FeatureAnalysis.emergencePoint(input.profiles, steps: input.steps).step,
            "summary": summary(input), "features": arr,
        ]
        return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    }
}

extension CrosscoderReport {
    /// The section `embryo features --run` left in the run's report folder, if any.
    static func storedSection(in folder: URL) -> String {
        let url = folder.appendingPathComponent("crosscoder-section.html")
        return (try? readFile(url)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

// Inline SVG charts for the HTML reports (no scripts, no fonts from the network): line charts against a
// log-scaled step axis with optional error bars, heatmaps, bars at snapshot steps, and line charts on
// linear axes; plus HTML escaping.

import Foundation

public func esc(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(step: Int, value: Double)]
    public var style: Int
    public var errors: [Double]? = nil  // half-length of an error bar at each point

    public init(name: String, points: [(step: Int, value: Double)], style: Int) {
        self.name = name
        self.points = points
        self.style = style
    }
}

/// Inline SVG charts: line charts against a log-scaled step axis, and heatmaps.
public enum SVGChart {
    public static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    /// Position of a step on the axis: log10(step + 1), so step 0 sits at the left edge.
    static func lx(_ step: Int) -> Double { log10(Double(step) + 1) }

    /// The plot area of a line chart against log-scaled steps: grid, ticks, axis labels, and the maps from
    /// a step and a value to the page.
    public static func logStepFrame(maxStep: Int, y0: Double, y1: Double, yLabel: String)
        -> (svg: String, px: (Int) -> Double, py: (Double) -> Double)
    {
        let Hh = 330.0, left = 58.0, top = 30.0, pw = 610.0 - left - 200, ph = Hh - top - 50
        let x1 = max(lx(maxStep), 1)
        func px(_ s: Int) -> Double { left + lx(s) / x1 * pw }
        func py(_ v: Double) -> Double { top + ph - (min(max(v, y0), y1) - y0) / (y1 - y0) * ph }
        var svg = ""
        for t in niceTicks(y0, y1) {
            let y = py(t)
            svg += "<line x1=\"\(left)\" y1=\"\(f1(y))\" x2=\"\(left + pw)\" y2=\"\(f1(y))\" stroke=\"#eee\"/>\n"
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(f1(y + 4))\" font-size=\"11\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
        }
        var tick = 1
        var xticks = [0]
        while tick <= maxStep * 10 && lx(tick) <= x1 + 1e-9 {
            xticks.append(tick)
            tick *= 10
        }
        for s in xticks {
            let x = px(s)
            svg += "<line x1=\"\(f1(x))\" y1=\"\(top)\" x2=\"\(f1(x))\" y2=\"\(top + ph)\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(f1(x))\" y=\"\(top + ph + 16)\" font-size=\"11\" text-anchor=\"middle\">\(s)</text>\n"
        }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#888\"/>\n"
        svg += "<text x=\"\(left + pw / 2)\" y=\"\(Hh - 10)\" font-size=\"12\" text-anchor=\"middle\">"
        svg += "pretraining step (log scale)</text>\n"
        svg += "<text transform=\"translate(14,\(top + ph / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">"
        svg += "\(esc(yLabel))</text>\n"
        return (svg, px, py)
    }

    public static func line(title: String, yLabel: String, series: [ChartSeries], yRange: (Double, Double)?) -> String {
        let W = 610.0, Hh = 330.0, left = 58.0, right = 200.0, top = 30.0, bottom = 50.0
        let pw = W - left - right, ph = Hh - top - bottom
        let all = series.flatMap(\.points)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(Hh))\" "
        svg += "viewBox=\"0 0 \(Int(W)) \(Int(Hh))\" role=\"img\" aria-label=\"\(esc(title))\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"600\">\(esc(title))</text>\n"
        guard !all.isEmpty else {
            return svg
                + "<text x=\"\(left + 20)\" y=\"\(top + ph / 2)\" font-size=\"12\" fill=\"#777\">no data</text></svg>\n"
        }
        let maxStep = all.map(\.step).max()!
        let spread = series.flatMap { s in zip(s.points, s.errors ?? s.points.map { _ in 0 }).map { $0.value + $1 } }
        var (y0, y1) = yRange ?? (min(0, all.map(\.value).min()!), max(all.map(\.value).max()!, spread.max() ?? 0))
        if yRange == nil {
            let span = y1 - y0
            y1 += span * 0.05
            if y1 <= y0 { y1 = y0 + 1 }
        }
        let frame = logStepFrame(maxStep: maxStep, y0: y0, y1: y1, yLabel: yLabel)
        svg += frame.svg
        let px = frame.px, py = frame.py
        for (i, s) in series.enumerated() {
            let colour = palette[s.style % palette.count]
            let dash = s.style >= palette.count ? " stroke-dasharray=\"5,3\"" : ""
            let pts = s.points.map { "\(f1(px($0.step))),\(f1(py($0.value)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\"\(dash)/>\n"
            if let errors = s.errors {
                for (p, e) in zip(s.points, errors) where e > 0 {
                    let x = f1(px(p.step))
                    svg += "<line x1=\"\(x)\" y1=\"\(f1(py(p.value - e)))\" x2=\"\(x)\" y2=\"\(f1(py(p.value + e)))\" "
                    svg += "stroke=\"\(colour)\" stroke-width=\"1.2\"/>\n"
                }
            }
            // markers only where they stay readable
            for p in s.points where s.points.count <= 40 {
                svg += "<circle cx=\"\(f1(px(p.step)))\" cy=\"\(f1(py(p.value)))\" r=\"2.2\" fill=\"\(colour)\"/>\n"
            }
            let ly = top + 8 + Double(i) * 17
            guard ly < Hh - 8 else { continue }
            svg += "<line x1=\"\(left + pw + 10)\" y1=\"\(f1(ly))\" x2=\"\(left + pw + 30)\" y2=\"\(f1(ly))\" "
            svg += "stroke=\"\(colour)\" stroke-width=\"2.5\"\(dash)/>\n"
            svg += "<text x=\"\(left + pw + 35)\" y=\"\(f1(ly + 4))\" font-size=\"11\">\(esc(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    public static func heatmap(title: String, rows: [String], columns: [String], values: [[Double?]]) -> String {
        let cellW = max(30.0, min(60.0, 700.0 / Double(max(columns.count, 1)))), cellH = 26.0
        let left = 70.0, top = 30.0, bottom = 48.0
        let W = left + cellW * Double(columns.count) + 90, Hh = top + cellH * Double(rows.count) + bottom
        let vals = values.flatMap { $0 }.compactMap { $0 }
        let lo = vals.min() ?? 0, hi = max(vals.max() ?? 1, lo + 1e-9)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(Hh))\" "
        svg += "viewBox=\"0 0 \(Int(W)) \(Int(Hh))\" role=\"img\" aria-label=\"\(esc(title))\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"600\">\(esc(title))</text>\n"
        // the last layer on top, as in the paper's figures
        for (ri, label) in rows.enumerated() {
            let y = top + cellH * Double(rows.count - 1 - ri)
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(f1(y + cellH / 2 + 4))\" font-size=\"11\" text-anchor=\"end\">\(esc(label))</text>\n"
            for (ci, v) in values[ri].enumerated() {
                let x = left + cellW * Double(ci)
                guard let v else { continue }
                let t = (v - lo) / (hi - lo)
                svg +=
                    "<rect x=\"\(f1(x))\" y=\"\(f1(y))\" width=\"\(f1(cellW))\" height=\"\(cellH)\" fill=\"\(viridis(t))\"/>\n"
                let ink = t > 0.55 ? "#000" : "#fff"
                if cellW >= 34 {
                    svg += "<text x=\"\(f1(x + cellW / 2))\" y=\"\(f1(y + cellH / 2 + 4))\" font-size=\"10\" "
                    svg += "text-anchor=\"middle\" fill=\"\(ink)\">\(String(format: "%.2f", v))</text>\n"
                }
            }
        }
        let by = top + cellH * Double(rows.count)
        for (ci, c) in columns.enumerated() {
            svg += "<text x=\"\(f1(left + cellW * (Double(ci) + 0.5)))\" y=\"\(by + 14)\" font-size=\"10\" "
            svg += "text-anchor=\"middle\">\(esc(c))</text>\n"
        }
        svg += "<text x=\"\(f1(left + cellW * Double(columns.count) / 2))\" y=\"\(by + 34)\" font-size=\"12\" "
        svg += "text-anchor=\"middle\">pretraining step</text>\n"
        // colour bar
        let bx = left + cellW * Double(columns.count) + 20, bh = cellH * Double(rows.count)
        for k in 0..<20 {
            let t = Double(k) / 19
            svg += "<rect x=\"\(f1(bx))\" y=\"\(f1(top + bh - bh * Double(k + 1) / 20))\" width=\"14\" "
            svg += "height=\"\(f1(bh / 20 + 0.5))\" fill=\"\(viridis(t))\"/>\n"
        }
        svg +=
            "<text x=\"\(f1(bx + 18))\" y=\"\(f1(top + 10))\" font-size=\"10\">\(String(format: "%.2f", hi))</text>\n"
        svg +=
            "<text x=\"\(f1(bx + 18))\" y=\"\(f1(top + bh))\" font-size=\"10\">\(String(format: "%.2f", lo))</text>\n"
        return svg + "</svg>\n"
    }

    static func viridis(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [
            (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
        ]
        let x = (t.isNaN ? 0 : min(max(t, 0), 1)) * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        return String(
            format: "#%02x%02x%02x", Int(a.0 + (b.0 - a.0) * f), Int(a.1 + (b.1 - a.1) * f), Int(a.2 + (b.2 - a.2) * f))
    }

    public static func niceTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = hi - lo
        guard span > 0 else { return [lo] }
        let raw = span / 5, mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        var t = ceil(lo / step) * step
        var out: [Double] = []
        // bounded: when the span is below the values' precision, adding the step stops moving t
        while t <= hi + step * 1e-6 && out.count < 20 {
            out.append(t)
            t += step
        }
        return out
    }

    /// A tick's label; values far outside a probe's usual range (a diverged snapshot) print in exponent form.
    public static func tickLabel(_ v: Double) -> String {
        if abs(v) < 1e12, abs(v - v.rounded()) < 1e-9, let i = Int(exactly: v.rounded()) { return String(i) }
        return String(format: abs(v) >= 1e6 || !v.isFinite ? "%.3g" : abs(v) < 0.1 ? "%.3f" : "%.2f", v)
    }

    public static func f1(_ x: Double) -> String { String(format: "%.1f", x) }
}

public struct XYSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double, err: Double)]
    public var style: Int
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double, err: Double)], style: Int, dashed: Bool) {
        (self.name, self.points, self.style, self.dashed) = (name, points, style, dashed)
    }
}

extension SVGChart {
    /// A line chart on linear axes with labelled x ticks and error bars.
    public static func xy(title: String, xLabel: String, yLabel: String, series: [XYSeries], xTicks: [(Double, String)])
        -> String
    {
        let W = 610.0, Hh = 330.0, left = 58.0, right = 200.0, top = 30.0, bottom = 50.0
        let pw = W - left - right, ph = Hh - top - bottom
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(Hh))\" "
        svg += "viewBox=\"0 0 \(Int(W)) \(Int(Hh))\" role=\"img\" aria-label=\"\(esc(title))\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"600\">\(esc(title))</text>\n"
        let pts = series.flatMap(\.points)
        guard !pts.isEmpty else { return svg + "</svg>\n" }
        let xs = pts.map(\.x) + xTicks.map(\.0)
        let x0 = xs.min()!, x1 = max(xs.max()!, x0 + 1)
        var y0 = min(0, pts.map { $0.y - $0.err }.min()!), y1 = pts.map { $0.y + $0.err }.max()!
        if y1 <= y0 { y1 = y0 + 1 }
        y1 += (y1 - y0) * 0.05
        if y0 < 0 { y0 -= (y1 - y0) * 0.05 }
        let pad = (x1 - x0) * 0.04
        func px(_ x: Double) -> Double { left + (x - x0 + pad) / (x1 - x0 + 2 * pad) * pw }
        func py(_ y: Double) -> Double { top + ph - (y - y0) / (y1 - y0) * ph }
        for t in niceTicks(y0, y1) {
            svg +=
                "<line x1=\"\(left)\" y1=\"\(f1(py(t)))\" x2=\"\(left + pw)\" y2=\"\(f1(py(t)))\" stroke=\"#eee\"/>\n"
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(f1(py(t) + 4))\" font-size=\"11\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
        }
        for (x, label) in xTicks {
            svg += "<line x1=\"\(f1(px(x)))\" y1=\"\(top)\" x2=\"\(f1(px(x)))\" y2=\"\(top + ph)\" stroke=\"#eee\"/>\n"
            svg +=
                "<text x=\"\(f1(px(x)))\" y=\"\(top + ph + 16)\" font-size=\"11\" text-anchor=\"middle\">\(esc(label))</text>\n"
        }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#888\"/>\n"
        svg +=
            "<text x=\"\(left + pw / 2)\" y=\"\(Hh - 10)\" font-size=\"12\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        svg += "<text transform=\"translate(14,\(top + ph / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">"
        svg += "\(esc(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let colour = palette[s.style % palette.count]
            let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
            let line = s.points.map { "\(f1(px($0.x))),\(f1(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(line)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\"\(dash)/>\n"
            for p in s.points {
                if p.err > 0 {
                    let x = f1(px(p.x))
                    svg += "<line x1=\"\(x)\" y1=\"\(f1(py(p.y - p.err)))\" x2=\"\(x)\" y2=\"\(f1(py(p.y + p.err)))\" "
                    svg += "stroke=\"\(colour)\" stroke-width=\"1.2\"/>\n"
                }
                svg += "<circle cx=\"\(f1(px(p.x)))\" cy=\"\(f1(py(p.y)))\" r=\"2.6\" fill=\"\(colour)\"/>\n"
            }
            let ly = top + 8 + Double(i) * 17
            svg += "<line x1=\"\(left + pw + 10)\" y1=\"\(f1(ly))\" x2=\"\(left + pw + 30)\" y2=\"\(f1(ly))\" "
            svg += "stroke=\"\(colour)\" stroke-width=\"2.5\"\(dash)/>\n"
            svg += "<text x=\"\(left + pw + 35)\" y=\"\(f1(ly + 4))\" font-size=\"11\">\(esc(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }
}

extension SVGChart {
    /// Bars at snapshot steps on the log step axis.
    public static func bars(title: String, yLabel: String, steps: [Int], values: [Double], note: String) -> String {
        let W = 610.0, Hh = 330.0, left = 58.0, right = 200.0, top = 30.0, bottom = 50.0
        let pw = W - left - right, ph = Hh - top - bottom
        let x1 = max(lx(steps.max() ?? 1), 1), y1 = max(values.max() ?? 1, 1) * 1.05
        func px(_ s: Int) -> Double { left + lx(s) / x1 * pw }
        func py(_ v: Double) -> Double { top + ph - v / y1 * ph }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(Hh))\" "
        svg += "viewBox=\"0 0 \(Int(W)) \(Int(Hh))\" role=\"img\" aria-label=\"\(esc(title))\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"600\">\(esc(title))</text>\n"
        for t in niceTicks(0, y1) {
            svg +=
                "<line x1=\"\(left)\" y1=\"\(f1(py(t)))\" x2=\"\(left + pw)\" y2=\"\(f1(py(t)))\" stroke=\"#eee\"/>\n"
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(f1(py(t) + 4))\" font-size=\"11\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
        }
        var tick = 1
        var xticks = [0]
        while lx(tick) <= x1 + 1e-9 {
            xticks.append(tick)
            tick *= 10
        }
        for s in xticks {
            svg +=
                "<text x=\"\(f1(px(s)))\" y=\"\(top + ph + 16)\" font-size=\"11\" text-anchor=\"middle\">\(s)</text>\n"
        }
        for (s, v) in zip(steps, values) where v > 0 {
            let x = px(s)
            svg +=
                "<rect x=\"\(f1(x - 4))\" y=\"\(f1(py(v)))\" width=\"8\" height=\"\(f1(top + ph - py(v)))\" fill=\"\(palette[0])\"/>\n"
        }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#888\"/>\n"
        svg +=
            "<text x=\"\(left + pw / 2)\" y=\"\(Hh - 10)\" font-size=\"12\" text-anchor=\"middle\">pretraining step (log scale)</text>\n"
        svg +=
            "<text transform=\"translate(14,\(top + ph / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(esc(yLabel))</text>\n"
        svg += "<foreignObject x=\"\(left + pw + 10)\" y=\"\(top)\" width=\"\(right - 14)\" height=\"\(ph)\">"
        svg +=
            "<div xmlns=\"http://www.w3.org/1999/xhtml\" style=\"font-size:11px;color:#555\">\(esc(note))</div></foreignObject>\n"
        return svg + "</svg>\n"
    }
}

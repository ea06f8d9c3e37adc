// The `examples` probe: per-example dynamics (Toneva et al. 2019; dataset cartography, Swayamdipta et al.
// 2020). A fixed set of masked positions (the lens probe's masking of the probe sentences) is scored by
// every snapshot; once all snapshots are in, each position gets its loss and correctness at every
// snapshot, the step it was learned at (the first snapshot from which it stays correct), its forgetting
// events (correct at one snapshot, wrong at the next), and its mean confidence and variability (the mean
// and standard deviation over snapshots of the probability of the right word).

import EmbryoCore
import EmbryoRun
import Foundation

public enum ExamplesProbe {
    public static let fileName = "examples.jsonl"

    /// A masked word, as cached with each snapshot's results.
    public struct Target: Codable, Sendable, Equatable {
        public var row: Int
        public var position: Int
        public var label: Int32
        public var upos: String
        /// Words in its sentence.
        public var words: Int

        public init(row: Int, position: Int, label: Int32, upos: String, words: Int) {
            (self.row, self.position, self.label, self.upos, self.words) = (row, position, label, upos, words)
        }
    }

    /// One snapshot: the targets, each target's loss and whether it was predicted, and the snapshot's metrics.
    public static func run(model: Albert, sentences: [ProbeSentence], maskId: Int32, step: Int) throws
        -> (metrics: [ProbeMetric], targets: [Target], loss: [Float], correct: [Bool])
    {
        let (rows, targets, sentenceOfRow) = LensProbe.mask(sentences, maskId: maskId)
        guard !targets.isEmpty else { return ([], [], [], []) }
        let meta = targets.map {
            Target(
                row: $0.row, position: $0.position, label: $0.label, upos: $0.upos,
                words: sentences[sentenceOfRow[$0.row]].words.count)
        }
        let labelled = rows.enumerated().map { r, ids -> LabelledRow in
            var labels = [Int32](repeating: -100, count: ids.count)
            for t in targets where t.row == r { labels[t.position] = t.label }
            return LabelledRow(ids: ids, labels: labels)
        }
        let scored = try MLMScoring.score(model: model, rows: labelled)
        // the scorer returns each row's targets in position order, the order mask() makes them in
        var loss: [Float] = [], correct: [Bool] = []
        for s in scored {
            loss += s.loss
            correct += s.correct
        }
        let n = Double(targets.count)
        let metrics = [
            ProbeMetric(
                step: step, probe: "examples", key: "accuracy", value: Double(correct.filter { $0 }.count) / n,
                count: targets.count),
            ProbeMetric(
                step: step, probe: "examples", key: "loss", value: loss.reduce(0) { $0 + Double($1) } / n,
                count: targets.count),
        ]
        return (metrics, meta, loss, correct)
    }

    public struct Row: Sendable {
        public var target: Target
        public var frequency: Int?
        public var loss: [Float]
        public var correct: [Bool]
        public var learnedStep: Int?
        public var forgetting: Int
        public var confidence: Double
        public var variability: Double
    }

    /// Every target's dynamics over `steps` (the snapshots' results in step order); `frequency` gives a
    /// token's count in the training corpus when known.
    public static func rows(
        targets: [Target], steps: [Int], loss: [[Float]], correct: [[Bool]], frequency: ((Int32) -> Int)?
    ) -> [Row] {
        guard loss.allSatisfy({ $0.count == targets.count }) else { return [] }
        return targets.enumerated().map { k, t in
            let l = loss.map { $0[k] }, c = correct.map { $0[k] }
            let p = l.map { Foundation.exp(-Double($0)) }
            let mean = p.reduce(0, +) / Double(max(p.count, 1))
            let sd = (p.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(p.count, 1))).squareRoot()
            return Row(
                target: t, frequency: frequency?(t.label), loss: l, correct: c,
                learnedStep: FactTable.acquisition(c).map { steps[$0] },
                forgetting: FactTable.forgettingEvents(c).count,
                confidence: mean, variability: sd)
        }
    }

    static func jsonl(_ rows: [Row], steps: [Int]) -> String {
        var lines = [jsonLine([("kind", "steps"), ("steps", steps)])]
        for r in rows {
            lines.append(
                jsonLine([
                    ("kind", "example"), ("row", r.target.row), ("position", r.target.position),
                    ("label_id", Int(r.target.label)), ("upos", r.target.upos), ("sentence_words", r.target.words),
                    ("corpus_frequency", r.frequency ?? NSNull()), ("loss", r.loss.map(Double.init)),
                    ("correct", r.correct.map { $0 ? 1 : 0 }), ("learned_step", r.learnedStep ?? NSNull()),
                    ("forgetting_events", r.forgetting), ("confidence", r.confidence), ("variability", r.variability),
                ]))
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The report's section from examples.jsonl: the cartography scatter by UPOS, and per group (UPOS,
    /// corpus frequency, sentence length) the share learned, the median learning step and the forgetting
    /// events per position.
    static func section(folder: URL) -> String {
        guard let data = try? readFile(folder.appendingPathComponent(fileName)) else { return "" }
        var pts: [(upos: String, x: Double, y: Double, learned: Int?, forgetting: Int, freq: Int?, words: Int)] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                o["kind"] as? String == "example", let u = o["upos"] as? String, let x = o["variability"] as? Double,
                let y = o["confidence"] as? Double
            else { continue }
            pts.append(
                (
                    u, x, y, o["learned_step"] as? Int, o["forgetting_events"] as? Int ?? 0,
                    o["corpus_frequency"] as? Int,
                    o["sentence_words"] as? Int ?? 0
                ))
        }
        guard !pts.isEmpty else { return "" }
        var h = ProbeReport.sectionStart(
            "Per-example dynamics",
            """
            \(pts.count) masked words of the probe sentences, scored by every snapshot. Each dot is one word:
            its mean probability of the right word over the snapshots against the standard deviation of that
            probability (dataset cartography). Learned: predicted from some snapshot to the last. Forgetting
            event: predicted at one snapshot, missed at the next. Every number per word: examples.jsonl.
            """, hasData: true)
        // most frequent tags first, ties by name: the report must not depend on hashing order
        var tagCounts: [String: Int] = [:]
        for p in pts { tagCounts[p.upos, default: 0] += 1 }
        let byCount = tagCounts.sorted { (a: (key: String, value: Int), b: (key: String, value: Int)) -> Bool in
            a.value != b.value ? a.value > b.value : a.key < b.key
        }
        let tags = byCount.prefix(8).map(\.key)
        h += scatter(
            title: "confidence against variability across snapshots",
            groups: tags.map { t in (t, pts.filter { $0.upos == t }.map { ($0.x, $0.y) }) })
        h += "</div>\n<table><tr><th>group</th><th>words</th><th>learned</th><th>median learning step</th>"
        h += "<th>forgetting events per word</th></tr>\n"
        func row(
            _ name: String,
            _ g: [(upos: String, x: Double, y: Double, learned: Int?, forgetting: Int, freq: Int?, words: Int)]
        ) {
            guard !g.isEmpty else { return }
            let learned = g.compactMap(\.learned).sorted()
            h += "<tr><td>\(esc(name))</td><td class=num>\(g.count)</td>"
            h += "<td class=num>\(String(format: "%.2f", Double(learned.count) / Double(g.count)))</td>"
            h += "<td class=num>\(learned.isEmpty ? "–" : String(learned[learned.count / 2]))</td>"
            h +=
                "<td class=num>\(String(format: "%.2f", Double(g.map(\.forgetting).reduce(0, +)) / Double(g.count)))</td></tr>\n"
        }
        for t in tags { row("UPOS \(t)", pts.filter { $0.upos == t }) }
        for (name, range) in [
            ("corpus count < 100", 0..<100), ("100-9,999", 100..<10_000), (">= 10,000", 10_000..<Int.max),
        ] {
            row("token \(name)", pts.filter { $0.freq.map(range.contains) == true })
        }
        for (name, range) in [("< 10 words", 0..<10), ("10-19 words", 10..<20), (">= 20 words", 20..<Int.max)] {
            row("sentence \(name)", pts.filter { range.contains($0.words) })
        }
        return h + "</table>\n"
    }

    /// A scatter plot on linear axes from 0, one colour per group.
    static func scatter(title: String, groups: [(String, [(Double, Double)])]) -> String {
        let W = 610.0, Hh = 380.0, left = 58.0, top = 30.0, pw = 400.0, ph = 300.0
        let xs = groups.flatMap { $0.1.map(\.0) }, ys = groups.flatMap { $0.1.map(\.1) }
        let x1 = max(xs.max() ?? 1, 1e-6) * 1.05, y1 = max(ys.max() ?? 1, 1e-6) * 1.05
        func px(_ x: Double) -> Double { left + x / x1 * pw }
        func py(_ y: Double) -> Double { top + ph - y / y1 * ph }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(Hh))\" "
        svg += "viewBox=\"0 0 \(Int(W)) \(Int(Hh))\" role=\"img\" aria-label=\"\(esc(title))\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        svg += "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"600\">\(esc(title))</text>\n"
        for t in SVGChart.niceTicks(0, y1) {
            svg += "<text x=\"\(left - 6)\" y=\"\(SVGChart.f1(py(t) + 4))\" font-size=\"11\" text-anchor=\"end\">"
            svg += "\(SVGChart.tickLabel(t))</text>\n"
        }
        for t in SVGChart.niceTicks(0, x1) {
            svg += "<text x=\"\(SVGChart.f1(px(t)))\" y=\"\(top + ph + 16)\" font-size=\"11\" text-anchor=\"middle\">"
            svg += "\(SVGChart.tickLabel(t))</text>\n"
        }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#888\"/>\n"
        svg +=
            "<text x=\"\(left + pw / 2)\" y=\"\(Hh - 12)\" font-size=\"12\" text-anchor=\"middle\">variability (sd of p over snapshots)</text>\n"
        svg +=
            "<text transform=\"translate(14,\(top + ph / 2)) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">confidence (mean p)</text>\n"
        for (i, (name, points)) in groups.enumerated() {
            let colour = SVGChart.palette[i % SVGChart.palette.count]
            for (x, y) in points {
                svg +=
                    "<circle cx=\"\(SVGChart.f1(px(x)))\" cy=\"\(SVGChart.f1(py(y)))\" r=\"1.8\" fill=\"\(colour)\" fill-opacity=\"0.55\"/>\n"
            }
            let ly = top + 8 + Double(i) * 17
            svg += "<circle cx=\"\(left + pw + 20)\" cy=\"\(SVGChart.f1(ly))\" r=\"4\" fill=\"\(colour)\"/>\n"
            svg +=
                "<text x=\"\(left + pw + 30)\" y=\"\(SVGChart.f1(ly + 4))\" font-size=\"11\">\(esc(name)) (\(points.count))</text>\n"
        }
        return svg + "</svg>\n"
    }
}

/// `examples`: the lens's masked words scored by every snapshot; examples.jsonl once all are in.
public final class ExamplesMeasurement: ProbeMeasurement {
    public static let probeName = "examples"
    public static let help = [
        "the lens's masked words scored by every snapshot: per word its loss",
        "at each snapshot, learning step, forgetting events, confidence and variability",
    ]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .probeSentences]
    let inputs: ProbeInputs
    public let settings: String
    /// Per-target results, by snapshot step.
    var results: [Int: Results] = [:]

    struct Results: Codable {
        var targets: [ExamplesProbe.Target]
        var loss: [Float]
        var correct: [Bool]
    }

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings = "examples v1|pos \(inputs.posHash)|max \(inputs.options.maxSentences)"
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let r = try ExamplesProbe.run(
            model: try s.model(), sentences: try inputs.sentences(for: s), maskId: try s.tokenizer().vocab.maskId,
            step: s.step)
        return try Measured(metrics: r.metrics, encoding: Results(targets: r.targets, loss: r.loss, correct: r.correct))
    }

    public func collect(_ result: Measured, at s: LoadedSnapshot) {
        if let r = result.decoded(Results.self) { results[s.step] = r }
    }

    public func isUsable(_ result: Measured, for s: LoadedSnapshot) -> Bool { result.decoded(Results.self) != nil }

    /// examples.jsonl from the snapshots whose targets match the last one's.
    public func assemble(steps: [Int]) throws -> [ProbeMetric] {
        guard let last = steps.last, let final = results[last] else { return [] }
        let used = steps.filter { results[$0]?.targets == final.targets }
        var frequency: ((Int32) -> Int)? = nil
        if let m = try? inputs.run.manifest(), let maker = try? inputs.run.exampleMaker(m) {
            var counts: [Int32: Int] = [:]
            let wanted = Set(final.targets.map(\.label))
            for t in maker.corpus.tokens where wanted.contains(t) { counts[t, default: 0] += 1 }
            frequency = { counts[$0] ?? 0 }
        }
        let rows = ExamplesProbe.rows(
            targets: final.targets, steps: used, loss: used.map { results[$0]!.loss },
            correct: used.map { results[$0]!.correct }, frequency: frequency)
        try writeAtomically(
            Data(ExamplesProbe.jsonl(rows, steps: used).utf8),
            to: inputs.out.appendingPathComponent(ExamplesProbe.fileName))
        return []
    }

    public static func reportSection(_ page: ReportPage) -> String { ExamplesProbe.section(folder: page.folder) }
}

// The `pairs` probe: grammaticality judgements on minimal pairs (BLiMP's layout), each sentence scored by
// its pseudo-log-likelihood (Salazar et al. 2020): every piece masked in turn, the log-probabilities of the
// true pieces summed. "word-l2r" (Kauf & Ivanova 2023) also masks the later pieces of the same word, so
// that a word split into several pieces is not rated by its own visible pieces. A pair is right when the
// good sentence scores strictly higher (a tie is wrong). Rows go through MLMScoring, batched by length.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public enum PLLVariant: String, CaseIterable, Sendable, Codable {
    case original
    case wordL2R = "word-l2r"
}

public enum PseudoLikelihood {
    /// The masked copies of one sentence (`ids` with [CLS] and [SEP], `words` each position's word, -1 for
    /// the specials): one row per piece, labelled at that piece alone.
    public static func rows(ids: [Int32], words: [Int32], maskId: Int32, variant: PLLVariant) -> [LabelledRow] {
        var out: [LabelledRow] = []
        for p in ids.indices where words[p] >= 0 {
            var masked = ids, labels = [Int32](repeating: -100, count: ids.count)
            labels[p] = ids[p]
            masked[p] = maskId
            if variant == .wordL2R {
                var q = p + 1
                while q < ids.count && words[q] == words[p] {
                    masked[q] = maskId
                    q += 1
                }
            }
            out.append(LabelledRow(ids: masked, labels: labels))
        }
        return out
    }

    /// Each sentence's log-probability of every piece under `variant` (nats, piece order).
    public static func score(
        model: Albert, sentences: [(ids: [Int32], words: [Int32])], maskId: Int32, variant: PLLVariant
    ) throws -> [[Double]] {
        var rows: [LabelledRow] = [], owner: [Int] = []
        for (i, s) in sentences.enumerated() {
            let r = PseudoLikelihood.rows(ids: s.ids, words: s.words, maskId: maskId, variant: variant)
            rows += r
            owner += Array(repeating: i, count: r.count)
        }
        let scored = try MLMScoring.score(model: model, rows: rows)
        var out = [[Double]](repeating: [], count: sentences.count)
        for (r, s) in zip(owner, scored) { out[r].append(-Double(s.loss.first ?? .nan)) }
        return out
    }

    /// A sentence as the model reads it: [CLS], its pieces, [SEP], with each position's word.
    public static func encode(_ text: String, _ tok: WordPieceTokenizer) -> (ids: [Int32], words: [Int32]) {
        let e = tok.encode(text)
        return ([tok.vocab.clsId] + e.ids + [tok.vocab.sepId], [-1] + e.wordIndex + [-1])
    }
}

/// `pairs`: minimal-pair accuracy per paradigm, linguistics term and field, by pseudo-log-likelihood.
public final class PairsMeasurement: ProbeMeasurement {
    public static let probeName = "pairs"
    public static let help = [
        "(--pairs PATH) minimal-pair accuracy by pseudo-log-likelihood (--pll), per BLiMP",
        "paradigm, linguistics term and field, their means, and the share of pairs with [UNK]",
    ]
    public static let probeNeeds: MeasurementNeeds = [.mlmHead, .minimalPairs]
    let inputs: ProbeInputs
    public let settings: String

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        let o = inputs.options
        settings =
            "pairs v1|pairs \(inputs.pairsHash)|pll \(o.pll.rawValue)|per \(o.pairsPerParadigm.map(String.init) ?? "all")"
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        let tok = try s.tokenizer(), model = try s.model(), maxLen = inputs.maxLen(model)
        var sentences: [(ids: [Int32], words: [Int32])] = [], index: [String: Int] = [:]
        func add(_ text: String) -> Int? {
            if let i = index[text] { return i }
            let e = PseudoLikelihood.encode(text, tok)
            guard e.ids.count <= maxLen else { return nil }
            index[text] = sentences.count
            sentences.append(e)
            return sentences.count - 1
        }
        var scoredPairs: [(pair: MinimalPair, good: Int, bad: Int)] = []
        var identical = 0, tooLong = 0, withUnk = 0
        for p in inputs.pairs {
            guard let g = add(p.good), let b = add(p.bad) else {
                tooLong += 1
                continue
            }
            if sentences[g].ids == sentences[b].ids {
                identical += 1
                continue
            }
            if sentences[g].ids.contains(tok.vocab.unkId) || sentences[b].ids.contains(tok.vocab.unkId) { withUnk += 1 }
            scoredPairs.append((p, g, b))
        }
        let logProbs = try PseudoLikelihood.score(
            model: model, sentences: sentences, maskId: tok.vocab.maskId, variant: inputs.options.pll)
        let pll = logProbs.map { $0.reduce(0, +) }
        return Measured(
            metrics: PairsMeasurement.metrics(
                scoredPairs.map { ($0.pair, PairsMeasurement.isRight(good: pll[$0.good], bad: pll[$0.bad])) },
                step: s.step, identical: identical,
                tooLong: tooLong, withUnk: withUnk))
    }

    /// A pair is right when its good sentence scores strictly higher: a tie is wrong.
    public static func isRight(good: Double, bad: Double) -> Bool { good > bad }

    /// Accuracy per paradigm, term and field; the mean over paradigms and over terms; the shares and counts
    /// of pairs left out or with [UNK].
    public static func metrics(
        _ judged: [(pair: MinimalPair, right: Bool)], step: Int, identical: Int, tooLong: Int, withUnk: Int
    ) -> [ProbeMetric] {
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "pairs", key: key, value: v, count: c))
        }
        func accuracies(_ key: (MinimalPair) -> String) -> [(String, Double, Int)] {
            var right: [String: Int] = [:], n: [String: Int] = [:]
            for j in judged {
                n[key(j.pair), default: 0] += 1
                if j.right { right[key(j.pair), default: 0] += 1 }
            }
            return n.keys.sorted().map { ($0, Double(right[$0] ?? 0) / Double(n[$0]!), n[$0]!) }
        }
        let uids = accuracies(\.uid), terms = accuracies(\.term)
        for (level, rows) in [("uid", uids), ("term", terms), ("field", accuracies(\.field))] {
            for (k, v, c) in rows { add("accuracy/\(level)/\(k)", v, c) }
        }
        if !uids.isEmpty {
            add("accuracy/mean", uids.map(\.1).reduce(0, +) / Double(uids.count), judged.count)
            add("accuracy/phenomena", terms.map(\.1).reduce(0, +) / Double(terms.count), judged.count)
        }
        add("unk_share", judged.isEmpty ? 0 : Double(withUnk) / Double(judged.count), judged.count)
        add("left_out/identical", Double(identical), identical)
        add("left_out/too_long", Double(tooLong), tooLong)
        return out
    }

    /// Accuracy by linguistics term against the step, and the per-paradigm table at the last snapshot.
    public static func reportSection(_ page: ReportPage) -> String {
        let pm = page.metrics.filter { $0.probe == "pairs" }
        guard let last = pm.map(\.step).max() else { return "" }
        var h = ProbeReport.sectionStart(
            "Minimal pairs",
            """
            The share of minimal pairs whose grammatical sentence has the higher pseudo-log-likelihood (ties
            count as wrong), per linguistics term, with the mean over paradigms.
            """, hasData: true)
        let terms = Array(Set(pm.filter { $0.key.hasPrefix("accuracy/term/") }.map { String($0.key.dropFirst(14)) }))
            .sorted()
        var series = terms.map { t in
            ChartSeries(
                name: t, points: pm.filter { $0.key == "accuracy/term/\(t)" }.map { ($0.step, $0.value) }, style: 0)
        }
        series.append(
            ChartSeries(
                name: "mean over paradigms",
                points: pm.filter { $0.key == "accuracy/mean" }.map { ($0.step, $0.value) },
                style: 0))
        h += SVGChart.line(
            title: "minimal-pair accuracy by phenomenon", yLabel: "accuracy", series: ProbeReport.styled(series),
            yRange: (0, 1))
        h += "</div>\n<table><tr><th>paradigm</th><th>pairs</th><th>accuracy at \(last)</th></tr>\n"
        for m in pm where m.step == last && m.key.hasPrefix("accuracy/uid/") {
            h += "<tr><td>\(esc(String(m.key.dropFirst(13))))</td><td class=num>\(m.count)</td>"
            h += "<td class=num>\(ProbeReport.f3(m.value))</td></tr>\n"
        }
        return h + "</table>\n"
    }
}

// The `attention` probe: what each head attends to in each layer application (a shared-layer model applies
// the same heads in every layer, with different patterns), on the probe sentences. Per layer and head: the
// mean entropy of a query's attention, and the mean share of it on the previous token, the next token,
// [CLS], [SEP] and punctuation; with gold syntax (CoNLL-U), the share of each word's attention on its
// gold head, and per dependency relation the best head's accuracy at attending most to the gold head
// (Clark et al. 2019, "What does BERT look at?"), words represented by their first subword; and the
// implicit-parse score of syntactic attention structure (Chen et al. 2024; AttentionProbe+Parse.swift).

import EmbryoCore
import EmbryoRun
import Foundation

public enum AttentionProbe {
    /// Sentences used (the first of the probe set).
    public static let sentences = 300

    /// Per (layer, head): sums over queries of entropy and the five shares, the gold-head share over
    /// dependents, and per relation the dependents whose strongest key is their head.
    struct Sums {
        var queries = 0.0, entropy = 0.0, previous = 0.0, next = 0.0, cls = 0.0, sep = 0.0, punct = 0.0
        var dependents = 0.0, goldShare = 0.0
        var hits: [String: Int] = [:]
    }

    /// Adds one sentence's attention (heads x T x T for layer l) to `sums[head]`.
    static func accumulate(
        _ att: UnsafePointer<Float>, heads: Int, T: Int, sentence s: ProbeSentence, sepId: Int32,
        into sums: inout [Sums]
    ) {
        let n = s.ids.count
        var isPunct = [Bool](repeating: false, count: n)
        for (w, r) in s.words.enumerated() where s.upos[w] == "PUNCT" { for p in r { isPunct[p] = true } }
        for h in 0..<heads {
            let base = att + h * T * T
            var acc = sums[h]
            for q in 0..<n {
                let row = base + q * T
                var e = 0.0, punct = 0.0, sep = 0.0
                for k in 0..<n {
                    let p = Double(row[k])
                    if p > 0 { e -= p * Foundation.log(p) }
                    if isPunct[k] { punct += p }
                    if s.ids[k] == sepId { sep += p }
                }
                acc.queries += 1
                acc.entropy += e
                acc.previous += q > 0 ? Double(row[q - 1]) : 0
                acc.next += q + 1 < n ? Double(row[q + 1]) : 0
                acc.cls += Double(row[0])
                acc.sep += sep
                acc.punct += punct
            }
            // dependents: each word with a head word (not the root), by first subwords
            for (w, r) in s.words.enumerated() where s.heads[w] > 0 && s.heads[w] <= s.words.count {
                let q = r.lowerBound, k = s.words[s.heads[w] - 1].lowerBound
                let row = base + q * T
                acc.dependents += 1
                acc.goldShare += Double(row[k])
                var best = 0
                for j in 1..<n where row[j] > row[best] { best = j }
                if best == k { acc.hits[s.deprels[w], default: 0] += 1 }
            }
            sums[h] = acc
        }
    }

    /// The metrics of one snapshot on the first `sentences` of `all`, one per row or (`packTo`) packed into
    /// rows of up to that many tokens (`rows(_:length:)`).
    public static func run(
        model: Albert, sentences all: [ProbeSentence], sepId: Int32, step: Int, packTo: Int? = nil
    ) throws -> [ProbeMetric] {
        let used = Array(all.prefix(sentences))
        guard !used.isEmpty else { return [] }
        if let n = packTo, n > model.config.maxPositionEmbeddings {
            throw EmbryoError.usage(
                "--attention-pack \(n): the model reads at most \(model.config.maxPositionEmbeddings) positions")
        }
        let rows = Self.rows(used, length: packTo)
        let L = model.config.numHiddenLayers, NH = model.config.numAttentionHeads
        var sums = [[Sums]](repeating: [Sums](repeating: Sums(), count: NH), count: L)
        var parse = [[ParseSums]](repeating: [ParseSums](repeating: ParseSums(), count: NH), count: L)
        var relationCounts: [String: Int] = [:]
        for s in used {
            for (w, _) in s.words.enumerated() where s.heads[w] > 0 && s.heads[w] <= s.words.count {
                relationCounts[s.deprels[w], default: 0] += 1
            }
        }
        let runner = RowRunner(model: model, rows: rows.map(\.row.ids), batching: .byLength)
        try runner.forEachPass { pass in
            for (b, r) in pass.rows.enumerated() {
                for l in 0..<L {
                    let att = pass.attention(l, row: b)
                    accumulate(att, heads: NH, T: pass.T, sentence: rows[r].row, sepId: sepId, into: &sums[l])
                    for part in rows[r].parts {
                        accumulateParse(att, heads: NH, T: pass.T, sentence: part, into: &parse[l])
                    }
                }
            }
        }
        var out: [ProbeMetric] = []
        func add(_ key: String, _ v: Double, _ c: Int) {
            out.append(ProbeMetric(step: step, probe: "attention", key: key, value: v, count: c))
        }
        let tokens = rows.map(\.row.ids.count).reduce(0, +)
        add("row_tokens", Double(tokens) / Double(rows.count), rows.count)
        for l in 0..<L {
            for h in 0..<NH {
                let s = sums[l][h], q = max(s.queries, 1), name = "layer_\(l + 1)/head_\(h)"
                add("entropy/\(name)", s.entropy / q, Int(s.queries))
                add("previous/\(name)", s.previous / q, Int(s.queries))
                add("next/\(name)", s.next / q, Int(s.queries))
                add("cls/\(name)", s.cls / q, Int(s.queries))
                add("sep/\(name)", s.sep / q, Int(s.queries))
                add("punctuation/\(name)", s.punct / q, Int(s.queries))
                if s.dependents > 0 { add("gold_head/\(name)", s.goldShare / s.dependents, Int(s.dependents)) }
            }
        }
        // per relation with at least 20 dependents: the best (layer, head) at pointing at the gold head
        for (rel, n) in relationCounts.sorted(by: { $0.key < $1.key }) where n >= 20 {
            var best = 0.0
            for l in 0..<L { for h in 0..<NH { best = max(best, Double(sums[l][h].hits[rel] ?? 0) / Double(n)) } }
            add("best_head/\(rel)", best, n)
        }
        return out + parseMetrics(parse, sentences: used, step: step)
    }

    /// The report's section: head-by-step heatmaps of entropy and of the previous-token and gold-head
    /// shares, and the best head's accuracy per relation against the step.
    static func section(_ ms: [ProbeMetric]) -> String {
        let am = ms.filter { $0.probe == "attention" }
        guard !am.isEmpty else { return "" }
        var h = ProbeReport.sectionStart(
            "Attention heads",
            """
            Each head in each layer application on the probe sentences (the same heads in every layer of a
            shared-layer model, with different patterns). Rows: layer/head; columns: snapshots. Gold head: the
            share of a word's attention (first subword) on its syntactic head's first subword. Best head: per
            dependency relation, the best head's accuracy at attending most to the gold head (Clark et al. 2019).
            UAS: the share of gold arcs the single best (layer, head, direction) finds when each word's parent is
            the word it attends to most (or that attends to it most), words merged from their pieces and
            [CLS], [SEP] and the word itself left out (Chen et al. 2024), against the best fixed offset; soft:
            the best head's mean weight on the parent. Every number is in metrics.csv.
            """, hasData: true)
        let steps = Array(Set(am.map(\.step))).sorted()
        let names = Array(Set(am.filter { $0.key.hasPrefix("entropy/") }.map { String($0.key.dropFirst(8)) })).sorted()
        for (stat, title) in [
            ("entropy", "attention entropy (nats)"), ("previous", "share on the previous token"),
            ("next", "share on the next token"), ("cls", "share on [CLS]"), ("sep", "share on [SEP]"),
            ("punctuation", "share on punctuation"), ("gold_head", "share on the gold syntactic head"),
        ] where names.contains(where: { n in am.contains { $0.key == "\(stat)/\(n)" } }) {
            h += SVGChart.heatmap(
                title: title,
                rows: names.map {
                    $0.replacingOccurrences(of: "layer_", with: "L").replacingOccurrences(of: "head_", with: "h")
                },
                columns: steps.map(String.init),
                values: names.map { n in steps.map { s in am.first { $0.step == s && $0.key == "\(stat)/\(n)" }?.value }
                })
        }
        let rels = Array(Set(am.filter { $0.key.hasPrefix("best_head/") }.map { String($0.key.dropFirst(10)) }))
            .sorted()
        let series = rels.enumerated().map { i, r in
            ChartSeries(
                name: r,
                points: am.filter { $0.key == "best_head/\(r)" }.map { ($0.step, $0.value) }.sorted { $0.0 < $1.0 },
                style: i)
        }
        h += SVGChart.line(title: "best head per relation", yLabel: "accuracy", series: series, yRange: (0, 1))
        let uas = [("uas/best", "best head (UAS)"), ("uas/offset_baseline", "best fixed offset"), ("uas/soft", "soft")]
            .enumerated().map { i, k in
                ChartSeries(
                    name: k.1, points: am.filter { $0.key == k.0 }.map { ($0.step, $0.value) }.sorted { $0.0 < $1.0 },
                    style: i)
            }
        if !uas[0].points.isEmpty {
            h += SVGChart.line(
                title: "syntactic attention structure: implicit parse (UAS)", yLabel: "share of arcs", series: uas,
                yRange: (0, 1))
        }
        return h + "</div>\n"
    }
}

/// `attention`: where every head of every layer application looks.
public final class AttentionMeasurement: ProbeMeasurement {
    public static let probeName = "attention"
    public static let help = [
        "per layer and head: entropy, shares on the previous and next token,",
        "[CLS], [SEP] and punctuation, on the gold syntactic head, best head per relation;",
        "the implicit-parse score (UAS of the best head and direction, against the best fixed offset)",
    ]
    public static let probeNeeds: MeasurementNeeds = [.probeSentences]
    let inputs: ProbeInputs
    public let settings: String

    public init(_ inputs: ProbeInputs) {
        self.inputs = inputs
        settings =
            "attention v5|pos \(inputs.posHash)|sentences \(min(inputs.options.maxSentences, AttentionProbe.sentences))"
            + (inputs.options.attentionPack.map { "|packed \($0)" } ?? "")
        // the run's manifest, read once: rows longer than it trained on read positions it never trained
        if let n = inputs.options.attentionPack, inputs.run.hasManifest,
            let trained = try? inputs.run.manifest().config.seqLen, n > trained
        {
            inputs.warnOnce(
                "--attention-pack \(n) is longer than the \(trained)-token rows the run trained on: positions past "
                    + "\(trained) were never trained")
        }
    }

    public func measure(_ s: LoadedSnapshot) throws -> Measured {
        Measured(
            metrics: try AttentionProbe.run(
                model: try s.model(), sentences: try inputs.sentences(for: s), sepId: try s.tokenizer().vocab.sepId,
                step: s.step, packTo: inputs.options.attentionPack))
    }

    public static func reportSection(_ page: ReportPage) -> String { AttentionProbe.section(page.metrics) }
}

// Knowledge against exposure: the knowledge probe's per-fact results at every snapshot (probes/facts.jsonl)
// joined with the exposure ledger (exposure/exposure.jsonl). The report section draws P@1 against how
// often the fact had been seen by then, the step at which each fact is acquired (the first snapshot from
// which it stays known), and forgetting events (known at one snapshot, unknown at the next).

import EmbryoCore
import EmbryoRun
import Foundation

enum ExposureReport {
    /// Per fact (relation, subject): statements seen by each snapshot of the ledger.
    static func ledgerSeen(_ run: Run) -> (steps: [Int], seen: [String: [Int]])? {
        let url = run.exposure.appendingPathComponent("exposure.jsonl")
        guard let data = try? readFile(url) else { return nil }
        var steps: [Int] = [], seen: [String: [Int]] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if o["kind"] as? String == "ledger" { steps = o["steps"] as? [Int] ?? [] }
            if o["kind"] as? String == "fact", let r = o["relation"] as? String, let s = o["sub_label"] as? String {
                seen["\(r)\t\(s)"] = o["seen"] as? [Int]
            }
        }
        return (steps, seen)
    }

    static func median(_ xs: [Int]) -> String {
        guard !xs.isEmpty else { return "–" }
        let s = xs.sorted()
        return String(s[s.count / 2])
    }

    static func section(_ run: Run, folder: URL) -> String {
        guard let table = try? FactTable.read(folder.appendingPathComponent(FactTable.fileName)),
            !table.rows.isEmpty, table.steps.count >= 2
        else { return "" }
        let ledger = ledgerSeen(run)
        var h = ProbeReport.sectionStart(
            "Knowledge against exposure",
            """
            Each fact through its relation's template at every snapshot. Acquired: known from some snapshot to the
            last (the step of that snapshot). Forgetting event: known at one snapshot and unknown at the next.
            Exposures: statements of the fact inside a training example by then, replayed from (seed, step) by
            <code>embryo exposure</code>\(ledger == nil ? " (not run yet for this run: the exposure columns are empty)" : "").
            """, hasData: true)
        // each fact's exposures at the probed snapshots
        func seen(_ r: FactTable.Row) -> [Int]? {
            guard let l = ledger, let s = l.seen["\(r.relation)\t\(r.subject)"] else { return nil }
            return table.steps.map { step in l.steps.firstIndex(of: step).map { s[$0] } ?? -1 }
        }
        if ledger != nil {
            var right = [Int](repeating: 0, count: KnowledgeProbe.buckets.count), n = right
            var lastRight = right, lastN = right
            for r in table.rows {
                guard let e = seen(r) else { continue }
                for (i, k) in r.known.enumerated() where e[i] >= 0 {
                    let b = KnowledgeProbe.buckets.firstIndex { $0.range.contains(e[i]) }!
                    n[b] += 1
                    right[b] += k ? 1 : 0
                    if i == r.known.count - 1 {
                        lastN[b] += 1
                        lastRight[b] += k ? 1 : 0
                    }
                }
            }
            func series(_ name: String, _ r: [Int], _ n: [Int], _ style: Int) -> XYSeries {
                XYSeries(
                    name: name,
                    points: n.indices.filter { n[$0] > 0 }.map { (Double($0), Double(r[$0]) / Double(n[$0]), 0) },
                    style: style, dashed: false)
            }
            h += SVGChart.xy(
                title: "P@1 by exposures so far", xLabel: "statements seen in training examples by the snapshot",
                yLabel: "P@1",
                series: [
                    series("every snapshot", right, n, 0), series("last snapshot", lastRight, lastN, 1),
                ], xTicks: KnowledgeProbe.buckets.enumerated().map { (Double($0.offset), $0.element.name) })
        }
        h += "</div>\n"
        h += acquisitionTable(table, seen: seen)
        return h
    }

    static func acquisitionTable(_ table: (steps: [Int], rows: [FactTable.Row]), seen: (FactTable.Row) -> [Int]?)
        -> String
    {
        var h = "<table><tr><th>relation</th><th>facts</th><th>known at the end</th><th>acquired</th>"
        h += "<th>median acquisition step</th><th>median exposures at acquisition</th><th>forgetting events</th>"
        h += "<th>facts ever forgotten</th></tr>\n"
        let relations = Array(Set(table.rows.map(\.relation))).sorted()
        for rel in relations + ["all"] {
            let rows = table.rows.filter { rel == "all" || $0.relation == rel }
            let acquired = rows.compactMap { r in FactTable.acquisition(r.known).map { (r, $0) } }
            let events = rows.map { FactTable.forgettingEvents($0.known).count }
            h += "<tr><td>\(esc(rel))</td><td class=num>\(rows.count)</td>"
            h += "<td class=num>\(rows.filter { $0.known.last == true }.count)</td><td class=num>\(acquired.count)</td>"
            h += "<td class=num>\(median(acquired.map { table.steps[$0.1] }))</td>"
            h +=
                "<td class=num>\(median(acquired.compactMap { r, i in seen(r).map { $0[i] }.flatMap { $0 >= 0 ? $0 : nil } }))</td>"
            h += "<td class=num>\(events.reduce(0, +))</td><td class=num>\(events.filter { $0 > 0 }.count)</td></tr>\n"
        }
        h += "</table>\n<table><tr><th>statements in the corpus</th><th>facts</th><th>acquired</th>"
        h += "<th>forgetting events</th><th>facts ever forgotten</th></tr>\n"
        for b in KnowledgeProbe.buckets {
            let rows = table.rows.filter { $0.count.map { b.range.contains($0) } == true }
            guard !rows.isEmpty else { continue }
            let events = rows.map { FactTable.forgettingEvents($0.known).count }
            h += "<tr><td>\(esc(b.name))</td><td class=num>\(rows.count)</td>"
            h += "<td class=num>\(rows.filter { FactTable.acquisition($0.known) != nil }.count)</td>"
            h += "<td class=num>\(events.reduce(0, +))</td><td class=num>\(events.filter { $0 > 0 }.count)</td></tr>\n"
        }
        return h + "</table>\n"
    }
}

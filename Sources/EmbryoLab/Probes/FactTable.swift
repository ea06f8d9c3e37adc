// facts.jsonl: every fact's result through its relation's template at every probed snapshot (the knowledge
// probe's per-fact table), and when each fact was acquired and forgotten.

import EmbryoCore
import EmbryoRun
import Foundation

/// probes/facts.jsonl: a line with the snapshot steps, then a line per fact with whether it was known at
/// each of them (through its relation's template), the step it was acquired at (the first snapshot from
/// which it stays known; null when it is not known at the last) and its forgetting events.
public enum FactTable {
    public static let fileName = "facts.jsonl"

    public struct Row: Sendable {
        public var relation: String
        public var subject: String
        public var object: String
        public var count: Int?
        public var known: [Bool]
    }

    static func jsonl(_ byStep: [Int: [KnowledgeProbe.FactResult]]) -> String {
        let steps = byStep.keys.sorted()
        var lines = [jsonLine([("kind", "steps"), ("steps", steps)])]
        var index: [String: Int] = [:]
        var rows: [Row] = []
        for (i, s) in steps.enumerated() {
            for f in byStep[s]! {
                let key = "\(f.relation)\t\(f.subject)\t\(f.object)"
                if index[key] == nil {
                    index[key] = rows.count
                    rows.append(
                        Row(
                            relation: f.relation, subject: f.subject, object: f.object, count: f.count,
                            known: Array(repeating: false, count: steps.count)))
                }
                rows[index[key]!].known[i] = f.known
            }
        }
        for r in rows {
            lines.append(
                jsonLine([
                    ("kind", "fact"), ("relation", r.relation), ("sub_label", r.subject), ("obj_label", r.object),
                    ("count", r.count ?? NSNull()), ("known", r.known.map { $0 ? 1 : 0 }),
                    ("acquired_step", acquisition(r.known).map { steps[$0] } ?? NSNull()),
                    ("forgetting_events", forgettingEvents(r.known).count),
                ]))
        }
        return lines.map { $0 + "\n" }.joined()
    }

    public static func read(_ url: URL) throws -> (steps: [Int], rows: [Row]) {
        var steps: [Int] = [], rows: [Row] = []
        for line in String(decoding: try readFile(url), as: UTF8.self).split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw EmbryoError.format(url.path, "not a JSON line: \(line.prefix(80))")
            }
            if o["kind"] as? String == "steps" { steps = o["steps"] as? [Int] ?? [] }
            if o["kind"] as? String == "fact", let rel = o["relation"] as? String, let s = o["sub_label"] as? String,
                let obj = o["obj_label"] as? String, let k = o["known"] as? [Int]
            {
                rows.append(
                    Row(relation: rel, subject: s, object: obj, count: o["count"] as? Int, known: k.map { $0 != 0 }))
            }
        }
        return (steps, rows)
    }

    /// The first snapshot index from which the fact stays known to the last, or nil.
    public static func acquisition(_ known: [Bool]) -> Int? {
        guard known.last == true else { return nil }
        var i = known.count - 1
        while i > 0 && known[i - 1] { i -= 1 }
        return i
    }

    /// Snapshot indices i where the fact is known at i and not at i + 1.
    public static func forgettingEvents(_ known: [Bool]) -> [Int] {
        known.indices.dropLast().filter { known[$0] && !known[$0 + 1] }
    }
}

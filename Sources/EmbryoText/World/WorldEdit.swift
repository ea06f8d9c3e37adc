// Edits of the built-in world's knowledge base, for branched runs: remove a fact, give it another
// object, or multiply how often a fact or a whole relation is stated. An edit acts on the text of an
// existing world: every line of train.txt that states an edited fact (in any of its phrasings) is dropped,
// restated with the new object, or repeated, and nothing else changes. With a factor m, the i-th statement
// of a fact is written floor((i+1)m) - floor(im) times, so n statements become exactly floor(nm).

import EmbryoCore
import Foundation

public struct WorldEdit: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case remove
        case object(String)
        case frequency(Double)
    }

    public var fact: Int
    public var change: Change
    /// The command-line edit it came from.
    public var spec: String

    public static let syntax =
        "remove:REL:SUBJECT, object:REL:SUBJECT=OBJECT, frequency:REL=M, frequency:REL:SUBJECT=M or swap:REL:N"

    /// Resolves command-line edits against `world`'s knowledge base (a fact is named by its relation and
    /// subject). swap:REL:N gives N facts of the relation the object of another of them (seeded, never
    /// their own), as N object edits.
    public static func parse(_ specs: [String], world: World) throws -> [WorldEdit] {
        let kb = world.knowledge
        var out: [WorldEdit] = []
        for spec in specs {
            let bad = { (why: String) in EmbryoError.usage("--world-edit \(spec): \(why); expected \(syntax)") }
            let (head, value) = split(spec, "=")
            let parts = head.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, let rel = worldRelations.firstIndex(where: { $0.name == parts[1] }) else {
                throw bad(
                    "unknown relation '\(parts.count > 1 ? parts[1] : "")' (relations: "
                        + worldRelations.map(\.name).joined(separator: ", ") + ")")
            }
            func fact(_ subject: String) throws -> Int {
                guard
                    let f = kb.facts.indices.first(where: {
                        kb.facts[$0].relation == rel && kb.facts[$0].subject == subject
                    })
                else {
                    let n = kb.facts.filter { $0.relation == rel }.count
                    throw bad(
                        "no \(parts[1]) fact has the subject '\(subject)' (facts/\(parts[1]).jsonl lists its \(n))")
                }
                return f
            }
            func factor() throws -> Double {
                guard let v = value, let m = Double(v), m >= 0, m <= 1000, m.isFinite else {
                    throw bad("the factor must be a number from 0 to 1000")
                }
                return m
            }
            switch (parts[0], parts.count) {
            case ("remove", 3) where value == nil:
                out.append(WorldEdit(fact: try fact(parts[2]), change: .remove, spec: spec))
            case ("object", 3):
                guard let v = value, !v.isEmpty, !v.contains(where: \.isWhitespace) else {
                    throw bad("the new object must be one word")
                }
                out.append(WorldEdit(fact: try fact(parts[2]), change: .object(v), spec: spec))
            case ("frequency", 2):
                let m = try factor()
                for f in kb.facts.indices where kb.facts[f].relation == rel {
                    out.append(WorldEdit(fact: f, change: .frequency(m), spec: spec))
                }
            case ("frequency", 3):
                out.append(WorldEdit(fact: try fact(parts[2]), change: .frequency(try factor()), spec: spec))
            case ("swap", 3) where value == nil:
                guard let n = Int(parts[2]), n >= 2 else { throw bad("swap needs at least 2 facts") }
                out += try swap(relation: rel, count: n, world: world, spec: spec)
            default:
                throw bad("not an edit")
            }
        }
        return out
    }

    static func split(_ s: String, _ c: Character) -> (String, String?) {
        guard let i = s.firstIndex(of: c) else { return (s, nil) }
        return (String(s[..<i]), String(s[s.index(after: i)...]))
    }

    /// N facts of a relation in a seeded order, each given the object of the next one whose object differs.
    static func swap(relation rel: Int, count n: Int, world: World, spec: String) throws -> [WorldEdit] {
        let kb = world.knowledge
        var facts = kb.facts.indices.filter { kb.facts[$0].relation == rel }
        guard facts.count >= n else {
            throw EmbryoError.usage(
                "--world-edit \(spec): \(worldRelations[rel].name) has \(facts.count) facts, fewer than \(n)")
        }
        var rng = Rng(seed: stableHash("swap \(spec)"))
        for i in stride(from: facts.count - 1, to: 0, by: -1) { facts.swapAt(i, rng.below(i + 1)) }
        var out: [WorldEdit] = []
        for (i, f) in facts.enumerated() where out.count < n {
            // the next fact in the order with another object
            guard
                let g = (1..<facts.count).lazy.map({ facts[(i + $0) % facts.count] })
                    .first(where: { kb.facts[$0].object != kb.facts[f].object })
            else { continue }
            out.append(WorldEdit(fact: f, change: .object(kb.facts[g].object), spec: spec))
        }
        guard out.count == n else {
            throw EmbryoError.usage("--world-edit \(spec): only \(out.count) facts have an object to swap with")
        }
        return out
    }

    /// What the edits make of each edited fact: removed, its object, its factor.
    struct Outcome {
        var removed = false
        var object: String
        var factor = 1.0
    }

    static func outcomes(_ edits: [WorldEdit], _ kb: KnowledgeBase) -> [Int: Outcome] {
        var out: [Int: Outcome] = [:]
        for e in edits {
            var o = out[e.fact] ?? Outcome(object: kb.facts[e.fact].object)
            switch e.change {
            case .remove: o.removed = true
            case .object(let v): o.object = v
            case .frequency(let m): o.factor *= m
            }
            out[e.fact] = o
        }
        return out
    }
}

/// The statements train.txt can hold: the text of every fact in every trained phrasing.
public struct FactStatements: Sendable {
    let byText: [String: (fact: Int, phrasing: Int)]

    /// `objects` replaces the facts' objects (an edited world's, as its facts/ lists them).
    public init(_ world: World, objects: [String]? = nil) {
        var m: [String: (fact: Int, phrasing: Int)] = [:]
        for (f, fact) in world.knowledge.facts.enumerated() {
            let stated = objects.map { fact.with(object: $0[f]) } ?? fact
            for t in fact.trainedPhrasings { m[Grammar.statement(stated, phrasing: t).text] = (f, t) }
        }
        byText = m
    }

    /// The fact and phrasing a line of train.txt states, if it is a statement.
    public func statement(_ line: String) -> (fact: Int, phrasing: Int)? { byText[line] }

    /// Statements per fact in a train.txt.
    public func counts(_ text: String, facts: Int) -> [Int] {
        var c = [Int](repeating: 0, count: facts)
        for line in text.split(separator: "\n") { if let s = byText[String(line)] { c[s.fact] += 1 } }
        return c
    }
}

extension World {
    /// train.txt of this world with `edits` applied (documents that lose every line are dropped), its
    /// train.heads to match when `heads` (the unedited one) is given, and the statements per fact before and
    /// after. A restated fact keeps its phrasing, so its heads are the line's own.
    public func applying(_ edits: [WorldEdit], to text: String, heads: String? = nil) -> (
        text: String, heads: String?, before: [Int], after: [Int]
    ) {
        let statements = FactStatements(self)
        let outcome = WorldEdit.outcomes(edits, knowledge)
        var before = [Int](repeating: 0, count: knowledge.facts.count), after = before
        var out: [String] = [], doc: [String] = [], outHeads: [String] = [], docHeads: [String] = []
        func endDocument() {
            if !doc.isEmpty {
                if !out.isEmpty {
                    out.append("")
                    outHeads.append("")
                }
                out += doc
                outHeads += docHeads
            }
            doc = []
            docHeads = []
        }
        let headLines = heads?.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).enumerated() {
            let lineHeads = headLines.map { n < $0.count ? $0[n] : "" } ?? ""
            if line.isEmpty {
                endDocument()
                continue
            }
            guard let (f, t) = statements.statement(line) else {
                doc.append(line)
                docHeads.append(lineHeads)
                continue
            }
            let i = before[f]
            before[f] += 1
            guard let o = outcome[f] else {
                doc.append(line)
                docHeads.append(lineHeads)
                after[f] += 1
                continue
            }
            if o.removed { continue }
            let copies = Int((Double(i + 1) * o.factor).rounded(.down)) - Int((Double(i) * o.factor).rounded(.down))
            let stated =
                o.object == knowledge.facts[f].object
                ? line : Grammar.statement(knowledge.facts[f].with(object: o.object), phrasing: t).text
            for _ in 0..<copies {
                doc.append(stated)
                docHeads.append(lineHeads)
            }
            after[f] += copies
        }
        endDocument()
        return (
            out.joined(separator: "\n") + "\n", headLines == nil ? nil : outHeads.joined(separator: "\n") + "\n",
            before, after
        )
    }

    /// A copy of the world in `parent` with `edits` applied, into `dir`: the edited train.txt, facts/ with
    /// the edited objects and the new counts (removed facts stay, with count 0, so their forgetting can be
    /// probed), facts-before-edit/ (the parent's), facts-edited/ and facts-edited-before/ (the edited facts
    /// alone, with the new and with the old objects), edits.jsonl (each edited fact before and after), and the
    /// parent's probe set, tasks and world.json (with the edits listed), and pairs/ of the edited world.
    public func writeEdited(from parent: URL, to dir: URL, edits: [WorldEdit]) throws -> (before: [Int], after: [Int]) {
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["probe.conllu", "tasks"] {
            let target = dir.appendingPathComponent(name)
            try? fm.removeItem(at: target)
            try fm.copyItem(at: parent.appendingPathComponent(name), to: target)
        }
        let before = dir.appendingPathComponent("facts-before-edit")
        try? fm.removeItem(at: before)
        try fm.copyItem(at: parent.appendingPathComponent("facts"), to: before)
        let text = String(decoding: try readFile(parent.appendingPathComponent("train.txt")), as: UTF8.self)
        let headsURL = parent.appendingPathComponent(World.headsFile)
        let heads =
            FileManager.default.fileExists(atPath: headsURL.path)
            ? String(decoding: try readFile(headsURL), as: UTF8.self) : nil
        let r = applying(edits, to: text, heads: heads)
        try writeAtomically(Data(r.text.utf8), to: dir.appendingPathComponent("train.txt"))
        if let h = r.heads { try writeAtomically(Data(h.utf8), to: dir.appendingPathComponent(World.headsFile)) }
        let outcome = WorldEdit.outcomes(edits, knowledge)
        var objects = knowledge.facts.map(\.object)
        for (f, o) in outcome { objects[f] = o.object }
        try writeFacts(to: dir.appendingPathComponent("facts"), counts: r.after, objects: objects)
        // the edited facts alone, with their new and their old objects, to probe acquisition and forgetting
        let edited = Set(outcome.keys)
        try writeFacts(to: dir.appendingPathComponent("facts-edited"), counts: r.after, objects: objects, only: edited)
        try writeFacts(to: dir.appendingPathComponent("facts-edited-before"), counts: r.before, only: edited)
        var lines: [String] = []
        for f in outcome.keys.sorted() {
            let fact = knowledge.facts[f], o = outcome[f]!
            lines.append(
                jsonLine([
                    ("relation", worldRelations[fact.relation].name), ("sub_label", fact.subject),
                    ("obj_before", fact.object), ("obj_label", o.object), ("removed", o.removed), ("factor", o.factor),
                    ("count_before", r.before[f]), ("count", r.after[f]),
                    ("edits", edits.filter { $0.fact == f }.map(\.spec)),
                ]))
        }
        try writeAtomically(Data(lines.map { $0 + "\n" }.joined().utf8), to: dir.appendingPathComponent("edits.jsonl"))
        let summaryURL = parent.appendingPathComponent("world.json")
        guard var summary = (try JSONSerialization.jsonObject(with: readFile(summaryURL))) as? [String: Any] else {
            throw EmbryoError.format(summaryURL.path, "not a world summary")
        }
        summary["edits"] = Array(Set(edits.map(\.spec))).sorted()
        let trainLines = r.text.split(separator: "\n")
        summary["pairs"] = try writePairs(
            to: dir.appendingPathComponent("pairs"), train: Set(trainLines.map(String.init)),
            forms: Set(trainLines.flatMap { World.forms(ofLine: $0) }), objects: objects)
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data + Data("\n".utf8), to: dir.appendingPathComponent("world.json"))
        return (r.before, r.after)
    }
}

// LAMA-format facts (github.com/facebookresearch/LAMA): a directory with relations.jsonl (relation,
// template with [X] and [Y], label, type) and one <relation>.jsonl of facts (sub_label, obj_label), or
// one flat jsonl whose lines carry their own `template`, or Google-RE/SQuAD style lines with
// `masked_sentences`. Optional per-fact `count`, `trained_templates` and `heldout_template` (the built-in
// world writes them).

import EmbryoCore
import Foundation

public struct LamaFact: Sendable, Equatable {
    public var subject: String
    public var object: String
    public var count: Int?
    /// Cloze sentences with [MASK] for the object (Google-RE / SQuAD style), when given.
    public var maskedSentences: [String]
    /// Templates the training text stated this fact with, and one it never used for it (the built-in
    /// world writes both: `trained_templates`, `heldout_template`).
    public var trainedTemplates: [String] = []
    public var heldOutTemplate: String? = nil

    public init(
        subject: String, object: String, count: Int?, maskedSentences: [String], trainedTemplates: [String] = [],
        heldOutTemplate: String? = nil
    ) {
        self.subject = subject
        self.object = object
        self.count = count
        self.maskedSentences = maskedSentences
        self.trainedTemplates = trainedTemplates
        self.heldOutTemplate = heldOutTemplate
    }
}

public struct LamaRelation: Sendable {
    public var name: String
    public var template: String?
    public var label: String?
    public var type: String?
    public var facts: [LamaFact]
}

public enum Lama {
    /// Reads a LAMA directory or a flat jsonl file.
    public static func load(_ path: String) throws -> [LamaRelation] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbryoError.io(path, "no such file or directory")
        }
        return isDir.boolValue
            ? try loadDirectory(URL(fileURLWithPath: path)) : try loadFlat(URL(fileURLWithPath: path))
    }

    static func loadDirectory(_ dir: URL) throws -> [LamaRelation] {
        let relFile = dir.appendingPathComponent("relations.jsonl")
        var out: [LamaRelation] = []
        for (line, obj) in try jsonLines(relFile) {
            guard let name = obj["relation"] as? String else {
                throw EmbryoError.format("\(relFile.path):\(line)", "missing \"relation\"")
            }
            guard let template = obj["template"] as? String else {
                throw EmbryoError.format("\(relFile.path):\(line)", "missing \"template\"")
            }
            guard template.contains("[X]") && template.contains("[Y]") else {
                throw EmbryoError.format("\(relFile.path):\(line)", "template must contain [X] and [Y]: \(template)")
            }
            let factsFile = dir.appendingPathComponent("\(name).jsonl")
            var facts: [LamaFact] = []
            for (fl, f) in try jsonLines(factsFile) { facts.append(try fact(f, at: "\(factsFile.path):\(fl)")) }
            out.append(
                LamaRelation(
                    name: name, template: template, label: obj["label"] as? String, type: obj["type"] as? String,
                    facts: facts))
        }
        return out
    }

    /// Flat jsonl: facts grouped by `relation` / `predicate_id`, or by template when neither is given.
    static func loadFlat(_ url: URL) throws -> [LamaRelation] {
        var order: [String] = []
        var groups: [String: LamaRelation] = [:]
        for (line, obj) in try jsonLines(url) {
            let f = try fact(obj, at: "\(url.path):\(line)")
            let template = obj["template"] as? String
            if let t = template, !(t.contains("[X]") && t.contains("[Y]")) {
                throw EmbryoError.format("\(url.path):\(line)", "template must contain [X] and [Y]: \(t)")
            }
            if template == nil && f.maskedSentences.isEmpty {
                throw EmbryoError.format(
                    "\(url.path):\(line)", "a flat LAMA file needs \"template\" or \"masked_sentences\" on every line")
            }
            let name =
                (obj["relation"] as? String) ?? (obj["predicate_id"] as? String) ?? template ?? "masked_sentences"
            if groups[name] == nil {
                order.append(name)
                groups[name] = LamaRelation(name: name, template: template, label: nil, type: nil, facts: [])
            }
            groups[name]!.facts.append(f)
        }
        return order.map { groups[$0]! }
    }

    static func fact(_ o: [String: Any], at place: String) throws -> LamaFact {
        guard let s = o["sub_label"] as? String else { throw EmbryoError.format(place, "missing \"sub_label\"") }
        guard let ob = o["obj_label"] as? String else { throw EmbryoError.format(place, "missing \"obj_label\"") }
        var masked: [String] = []
        if let m = o["masked_sentences"] {
            guard let arr = m as? [String] else {
                throw EmbryoError.format(place, "\"masked_sentences\" must be a list of strings")
            }
            masked = arr
        }
        var trained: [String] = []
        if let t = o["trained_templates"] {
            guard let arr = t as? [String], arr.allSatisfy({ $0.contains("[X]") && $0.contains("[Y]") }) else {
                throw EmbryoError.format(place, "\"trained_templates\" must be a list of templates with [X] and [Y]")
            }
            trained = arr
        }
        var held: String? = nil
        if let h = o["heldout_template"] {
            guard let t = h as? String, t.contains("[X]") && t.contains("[Y]") else {
                throw EmbryoError.format(place, "\"heldout_template\" must be a template with [X] and [Y]")
            }
            held = t
        }
        return LamaFact(
            subject: s, object: ob, count: o["count"] as? Int, maskedSentences: masked, trainedTemplates: trained,
            heldOutTemplate: held)
    }

    /// (line number, object) for each non-empty line.
    static func jsonLines(_ url: URL) throws -> [(Int, [String: Any])] {
        let data = try readFile(url)
        var out: [(Int, [String: Any])] = []
        for (i, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                throw EmbryoError.format("\(url.path):\(i + 1)", "not a JSON object")
            }
            out.append((i + 1, obj))
        }
        return out
    }
}

// LAMA-format facts (github.com/facebookresearch/LAMA): LAMA's data folder as distributed (relations.jsonl
// with the T-REx templates, TREx/P*.jsonl, Google_RE/*_test.jsonl, ConceptNet/test.jsonl, Squad/test.jsonl)
// or one of its subset folders; a directory with relations.jsonl (relation, template with [X] and [Y],
// label, type) and one <relation>.jsonl of facts (sub_label, obj_label) next to it; or one flat jsonl whose
// lines carry their own `template`, or Google-RE/SQuAD style lines with `masked_sentences`. Optional per-fact `count`, `trained_templates` and `heldout_template` (the built-in
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
    /// The LAMA subset it came from (TREx, Google_RE, ConceptNet, Squad), when read from LAMA's data folder.
    public var subset: String? = nil

    public init(
        name: String, template: String?, label: String?, type: String?, facts: [LamaFact], subset: String? = nil
    ) {
        (self.name, self.template, self.label, self.type, self.facts) = (name, template, label, type, facts)
        self.subset = subset
    }
}

/// What a facts path held: the relations read, and those named but without their facts file.
public struct LamaData: Sendable {
    public var relations: [LamaRelation] = []
    /// Relations whose facts file is missing, by name (subset/relation in LAMA's layout), with the file.
    public var missing: [(name: String, file: String)] = []
}

public enum Lama {
    /// LAMA's subsets, as folders of its data folder.
    public static let subsets = ["TREx", "Google_RE", "ConceptNet", "Squad"]

    /// Reads facts and returns the relations; see `read` for what is accepted.
    public static func load(_ path: String) throws -> [LamaRelation] { try read(path).relations }

    /// Reads a facts path:
    /// - LAMA's `data/` folder as distributed (`relations.jsonl`, `TREx/P*.jsonl`, `Google_RE/*_test.jsonl`,
    ///   `ConceptNet/test.jsonl`, `Squad/test.jsonl`), every subset it finds;
    /// - one subset folder of it (`TREx/` takes its templates from `../relations.jsonl`);
    /// - a folder with `relations.jsonl` and each relation's facts next to it (as the built-in world writes);
    /// - one flat jsonl file.
    /// Relations whose facts file is missing are left out and listed in `missing`; none found is an error.
    /// With `patterns` (ParaRel's, by relation), a folder of <relation>.jsonl facts without relations.jsonl is
    /// read too, each relation's first pattern standing as its template.
    public static func read(_ path: String, patterns: [String: [String]]? = nil) throws -> LamaData {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbryoError.io(path, "no such file or directory")
        }
        let url = URL(fileURLWithPath: path)
        guard isDir.boolValue else { return LamaData(relations: try loadFlat(url)) }
        func exists(_ u: URL) -> Bool { FileManager.default.fileExists(atPath: u.path) }
        let present = subsets.filter { exists(url.appendingPathComponent($0)) }
        let relations = url.appendingPathComponent("relations.jsonl")
        var data = LamaData()
        if !present.isEmpty && !sideBySide(url) {
            for s in present { try readSubset(s, folder: url.appendingPathComponent(s), data: &data) }
        } else if subsets.contains(url.lastPathComponent) && !exists(relations) {
            try readSubset(url.lastPathComponent, folder: url, data: &data)
        } else if exists(relations) {
            try readTemplated(relations: relations, facts: url, subset: nil, data: &data)
        } else if let patterns {
            for name in patterns.keys.sorted() {
                let file = url.appendingPathComponent("\(name).jsonl")
                guard exists(file) else {
                    data.missing.append((name, file.path))
                    continue
                }
                data.relations.append(
                    LamaRelation(
                        name: name, template: patterns[name]![0], label: nil, type: nil, facts: try facts(in: file)))
            }
        } else {
            throw EmbryoError.format(
                path,
                "not LAMA data: expected relations.jsonl with each relation's facts next to it, LAMA's data "
                    + "folder (with \(subsets.joined(separator: ", ")) folders) or one of those folders")
        }
        if data.relations.isEmpty {
            let files = data.missing.map(\.file)
            throw EmbryoError.io(
                files.first ?? path,
                files.count > 1 ? "no such file, nor any other relation's (\(files.count) missing)" : "no such file")
        }
        return data
    }

    /// Whether a folder's relations.jsonl has its relations' files next to it (not LAMA's subset layout).
    static func sideBySide(_ dir: URL) -> Bool {
        let rel = dir.appendingPathComponent("relations.jsonl")
        guard let lines = try? jsonLines(rel) else { return false }
        return lines.contains { _, o in
            (o["relation"] as? String).map {
                ConfinedName.problem($0) == nil
                    && FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0).jsonl").path)
            } ?? false
        }
    }

    static func readSubset(_ subset: String, folder: URL, data: inout LamaData) throws {
        switch subset {
        case "TREx":
            let rel = folder.deletingLastPathComponent().appendingPathComponent("relations.jsonl")
            guard FileManager.default.fileExists(atPath: rel.path) else {
                throw EmbryoError.io(
                    rel.path, "no such file: T-REx's templates come from relations.jsonl in LAMA's data folder")
            }
            try readTemplated(relations: rel, facts: folder, subset: subset, data: &data)
        case "Google_RE":
            // one relation per <relation>_test.jsonl, each fact with its own masked sentences
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix("_test.jsonl") }.sorted()
            for n in names {
                let rel = String(n.dropLast("_test.jsonl".count))
                data.relations.append(
                    try maskedRelation(folder.appendingPathComponent(n), name: "\(subset)/\(rel)", subset: subset))
            }
            if names.isEmpty {
                data.missing.append(("\(subset)/*", folder.appendingPathComponent("*_test.jsonl").path))
            }
        default:
            let file = folder.appendingPathComponent("test.jsonl")
            if FileManager.default.fileExists(atPath: file.path) {
                data.relations.append(try maskedRelation(file, name: "\(subset)/test", subset: subset))
            } else {
                data.missing.append(("\(subset)/test", file.path))
            }
        }
    }

    /// relations.jsonl (relation, template, label, type) and each relation's facts in `<facts>/<relation>.jsonl`.
    static func readTemplated(relations relFile: URL, facts dir: URL, subset: String?, data: inout LamaData) throws {
        for (line, obj) in try jsonLines(relFile) {
            guard let raw = obj["relation"] as? String else {
                throw EmbryoError.format("\(relFile.path):\(line)", "missing \"relation\"")
            }
            let name = try ConfinedName.check(raw, at: "\(relFile.path):\(line)", what: "relation")
            guard let template = obj["template"] as? String else {
                throw EmbryoError.format("\(relFile.path):\(line)", "missing \"template\"")
            }
            guard template.contains("[X]") && template.contains("[Y]") else {
                throw EmbryoError.format("\(relFile.path):\(line)", "template must contain [X] and [Y]: \(template)")
            }
            let factsFile = dir.appendingPathComponent("\(name).jsonl")
            let full = subset.map { "\($0)/\(name)" } ?? name
            guard FileManager.default.fileExists(atPath: factsFile.path) else {
                data.missing.append((full, factsFile.path))
                continue
            }
            data.relations.append(
                LamaRelation(
                    name: full, template: template, label: obj["label"] as? String, type: obj["type"] as? String,
                    facts: try facts(in: factsFile), subset: subset))
        }
    }

    /// The facts of one jsonl file; with `masked`, each must carry its own masked sentences.
    static func facts(in file: URL, masked: Bool = false) throws -> [LamaFact] {
        try jsonLines(file).map { line, o in
            let f = try fact(o, at: "\(file.path):\(line)")
            if masked && f.maskedSentences.isEmpty {
                throw EmbryoError.format("\(file.path):\(line)", "missing \"masked_sentences\"")
            }
            return f
        }
    }

    /// A file of facts that carry their own masked sentences (Google-RE, ConceptNet, SQuAD).
    static func maskedRelation(_ file: URL, name: String, subset: String) throws -> LamaRelation {
        LamaRelation(
            name: name, template: nil, label: nil, type: nil, facts: try facts(in: file, masked: true), subset: subset)
    }

    /// A hash of everything read: relations, templates, types, subsets and every fact's fields. Probe results
    /// are cached under it, so it changes with any file that was read, wherever it lies.
    public static func fingerprint(_ relations: [LamaRelation]) -> String {
        String(stableHash(String(describing: relations)), radix: 16)
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
        guard let ob = o["obj_label"] as? String else { throw EmbryoError.format(place, "missing \"obj_label\"") }
        var masked: [String] = []
        if let m = o["masked_sentences"] {
            guard let arr = m as? [String] else {
                throw EmbryoError.format(place, "\"masked_sentences\" must be a list of strings")
            }
            masked = arr
        }
        // ConceptNet's lines name the subject "sub"; a fact with masked sentences does not need it
        let subject = (o["sub_label"] as? String) ?? (masked.isEmpty ? nil : (o["sub"] as? String) ?? "")
        guard let s = subject else { throw EmbryoError.format(place, "missing \"sub_label\"") }
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

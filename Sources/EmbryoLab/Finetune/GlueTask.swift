// Downstream tasks in GLUE's TSV formats as they come: the built-in world's tasks/<task>/ and GLUE's
// SST-2, CoLA (no header), QNLI, RTE, MRPC, STS-B and MNLI (matched and mismatched dev sets), recognised
// by header and folder name; anything else through explicit text and label columns.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct TaskExample: Sendable {
    public var a: String
    public var b: String?
    public var label: Int32  // class index; -1 for regression
    public var target: Float  // regression target
}

public struct TaskSplit: Sendable {
    public var name: String
    public var examples: [TaskExample]
}

public struct TaskData: Sendable {
    public var name: String
    public var labels: [String]  // empty: regression
    public var metrics: [String]  // reported on every evaluation split; the first is the headline
    public var train: [TaskExample]
    public var evals: [TaskSplit]
    public var regression: Bool { labels.isEmpty }
}

/// How to read a task's files.
struct TaskFormat {
    var name: String
    var header: Bool
    var textColumns: [Int]
    var labelColumn: Int
    var labels: [String]?  // declared set; nil: learned from train; [] regression
    var metrics: [String]
}

public enum GlueTask {
    /// Loads a task directory (train.tsv plus dev.tsv, dev_matched.tsv/dev_mismatched.tsv, and test.tsv
    /// when it carries labels). `textColumns`/`labelColumn` override recognition (names, or 0-based
    /// indices for files without a header).
    public static func load(_ path: String, textColumns: [String]? = nil, labelColumn: String? = nil) throws -> TaskData
    {
        let dir = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw EmbryoError.io(path, "not a task directory (expected train.tsv and dev.tsv inside)")
        }
        let trainURL = dir.appendingPathComponent("train.tsv")
        guard FileManager.default.fileExists(atPath: trainURL.path) else {
            throw EmbryoError.io(trainURL.path, "no such file")
        }
        let folder = dir.lastPathComponent
        let noHeader = folder.lowercased() == "cola" && textColumns == nil
        let first = try Tsv.read(trainURL, header: !noHeader)
        let format = try recognise(folder: folder, table: first, textColumns: textColumns, labelColumn: labelColumn)
        var labels = format.labels
        if labels == nil {
            // labels learned from the training file: an empty label is a missing one, never a class
            for (row, line) in zip(first.rows, first.lines)
            where row[format.labelColumn].trimmingCharacters(in: .whitespaces).isEmpty {
                throw EmbryoError.format("\(first.path):\(line)", "empty label")
            }
            labels = Array(Set(first.rows.map { $0[format.labelColumn] })).sorted()
        }
        let train = try examples(first, format, labels!)
        guard !train.isEmpty else { throw EmbryoError.format(trainURL.path, "no training examples") }
        var evals: [TaskSplit] = []
        for name in ["dev", "dev_matched", "dev_mismatched", "test"] {
            let url = dir.appendingPathComponent("\(name).tsv")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let t = try Tsv.read(url, header: format.header)
            // GLUE's test files carry no labels: evaluate only splits with the label column
            if let h = first.header, let th = t.header {
                if !th.contains(h[format.labelColumn]) { continue }
            } else if t.rows.first.map({ $0.count <= format.labelColumn }) ?? false {
                continue
            }
            // columns by name: GLUE's dev files may order (and number) them differently from train.tsv
            var f = format
            if let h = first.header, let th = t.header {
                f.textColumns = try format.textColumns.map { c in
                    guard let i = th.firstIndex(of: h[c]) else {
                        throw EmbryoError.format("\(url.path):1", "no column '\(h[c])' in the header")
                    }
                    return i
                }
                f.labelColumn = th.firstIndex(of: h[format.labelColumn])!
            }
            let ex = try examples(t, f, labels!)
            guard !ex.isEmpty else { throw EmbryoError.format(url.path, "no examples") }
            evals.append(TaskSplit(name: name, examples: ex))
        }
        guard !evals.isEmpty else {
            throw EmbryoError.io(dir.path, "no labelled evaluation file (dev.tsv, dev_matched.tsv or test.tsv)")
        }
        return TaskData(name: format.name, labels: labels!, metrics: format.metrics, train: train, evals: evals)
    }

    static func recognise(folder: String, table: TsvTable, textColumns: [String]?, labelColumn: String?) throws
        -> TaskFormat
    {
        func col(_ name: String) throws -> Int {
            if let h = table.header {
                guard let i = h.firstIndex(of: name) else {
                    throw EmbryoError.format(
                        "\(table.path):1", "no column '\(name)' in the header (\(h.joined(separator: ", ")))")
                }
                return i
            }
            guard let i = Int(name), i >= 0, i < (table.rows.first?.count ?? 0) else {
                throw EmbryoError.usage("column '\(name)': a file without a header takes 0-based column numbers")
            }
            return i
        }
        let width = table.header?.count ?? table.rows.first?.count ?? 0
        if let textColumns, let labelColumn {
            return TaskFormat(
                name: folder, header: table.header != nil, textColumns: try textColumns.map(col),
                labelColumn: try col(labelColumn), labels: nil, metrics: ["accuracy"])
        }
        if textColumns != nil || labelColumn != nil {
            throw EmbryoError.usage("give both --text-columns and --label-column")
        }
        guard let h = table.header else {
            guard width == 4 else {
                throw EmbryoError.format(
                    "\(table.path):1", "a CoLA file has 4 columns (source, label, original label, sentence)")
            }
            return TaskFormat(
                name: "CoLA", header: false, textColumns: [3], labelColumn: 1, labels: ["0", "1"],
                metrics: ["mcc", "accuracy"])
        }
        func has(_ names: String...) -> Bool { names.allSatisfy { h.contains($0) } }
        let binary01 = ["0", "1"]
        if has("#1 String", "#2 String", "Quality") {
            return TaskFormat(
                name: "MRPC", header: true, textColumns: [try col("#1 String"), try col("#2 String")],
                labelColumn: try col("Quality"), labels: binary01, metrics: ["f1", "accuracy"])
        }
        if has("sentence1", "sentence2", "gold_label") {
            return TaskFormat(
                name: "MNLI", header: true, textColumns: [try col("sentence1"), try col("sentence2")],
                labelColumn: try col("gold_label"), labels: ["contradiction", "entailment", "neutral"],
                metrics: ["accuracy"])
        }
        if has("sentence1", "sentence2", "score") {
            return TaskFormat(
                name: "STS-B", header: true, textColumns: [try col("sentence1"), try col("sentence2")],
                labelColumn: try col("score"), labels: [], metrics: ["pearson", "spearman"])
        }
        if has("question", "sentence", "label") {
            return TaskFormat(
                name: "QNLI", header: true, textColumns: [try col("question"), try col("sentence")],
                labelColumn: try col("label"), labels: ["entailment", "not_entailment"], metrics: ["accuracy"])
        }
        if has("sentence1", "sentence2", "label") {
            let li = try col("label")
            let rte = folder.uppercased() == "RTE" || table.rows.contains { $0[li] == "entailment" }
            return TaskFormat(
                name: rte ? "RTE" : folder, header: true, textColumns: [try col("sentence1"), try col("sentence2")],
                labelColumn: try col("label"), labels: rte ? ["entailment", "not_entailment"] : nil,
                metrics: rte ? ["accuracy"] : ["accuracy", "f1"])
        }
        if has("sentence", "label") {
            let sst = folder.uppercased() == "SST-2"
            return TaskFormat(
                name: sst ? "SST-2" : folder, header: true, textColumns: [try col("sentence")],
                labelColumn: try col("label"), labels: sst ? binary01 : nil, metrics: ["accuracy", "f1"])
        }
        throw EmbryoError.format(
            "\(table.path):1",
            "unrecognised task header (\(h.joined(separator: ", "))): give --text-columns and --label-column")
    }

    static func examples(_ t: TsvTable, _ f: TaskFormat, _ labels: [String]) throws -> [TaskExample] {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, Int32($0)) })
        return try zip(t.rows, t.lines).map { row, line in
            let raw = row[f.labelColumn]
            var ex = TaskExample(
                a: row[f.textColumns[0]], b: f.textColumns.count > 1 ? row[f.textColumns[1]] : nil, label: -1, target: 0
            )
            if labels.isEmpty {
                guard let v = Float(raw), v.isFinite else {
                    throw EmbryoError.format("\(t.path):\(line)", "regression target '\(raw)' is not a number")
                }
                ex.target = v
            } else {
                guard let c = index[raw] else {
                    throw EmbryoError.format(
                        "\(t.path):\(line)",
                        "label '\(raw)' is not one of the declared labels (\(labels.joined(separator: ", ")))")
                }
                ex.label = c
            }
            return ex
        }
    }
}

// ParaRel-style paraphrase patterns (Elazar et al. 2021, github.com/yanaiela/pararel): one jsonl per relation,
// named <relation>.jsonl, each line an object whose "pattern" is a template with [X] for the subject and [Y]
// for the object. Other keys (lemma, tense, ...) are ignored.

import EmbryoCore
import Foundation

public enum ParaRel {
    /// Patterns by relation (the file name without .jsonl), in file order.
    public static func loadPatterns(_ path: String) throws -> [String: [String]] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbryoError.io(path, "no such file or directory")
        }
        let dir = URL(fileURLWithPath: path)
        let files =
            isDir.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".jsonl") }.sorted()
                .map { dir.appendingPathComponent($0) } : [dir]
        var out: [String: [String]] = [:]
        for file in files {
            var patterns: [String] = []
            for (line, o) in try Lama.jsonLines(file) {
                guard let p = o["pattern"] as? String else {
                    throw EmbryoError.format("\(file.path):\(line)", "missing \"pattern\"")
                }
                guard p.components(separatedBy: "[X]").count == 2, p.components(separatedBy: "[Y]").count == 2 else {
                    throw EmbryoError.format("\(file.path):\(line)", "a pattern needs one [X] and one [Y]: \(p)")
                }
                patterns.append(p)
            }
            if !patterns.isEmpty { out[file.deletingPathExtension().lastPathComponent] = patterns }
        }
        guard !out.isEmpty else {
            throw EmbryoError.format(path, "no patterns: expected <relation>.jsonl files with a \"pattern\" per line")
        }
        return out
    }
}

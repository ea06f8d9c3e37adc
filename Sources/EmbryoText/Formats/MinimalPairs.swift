// Minimal pairs in BLiMP's layout as it is distributed (Warstadt et al. 2020): a folder of <UID>.jsonl
// files (BLiMP's data/ folder) or one such file, a JSON object per line with sentence_good and
// sentence_bad and usually field, linguistics_term, UID and pairID; other keys are ignored.

import EmbryoCore
import Foundation

public struct MinimalPair: Sendable, Equatable {
    public var good: String
    public var bad: String
    /// The paradigm (BLiMP's UID; the file's name when the line has none).
    public var uid: String
    public var term: String
    public var field: String
    public var pairID: String

    public init(good: String, bad: String, uid: String, term: String, field: String, pairID: String) {
        (self.good, self.bad, self.uid, self.term, self.field, self.pairID) = (good, bad, uid, term, field, pairID)
    }
}

public enum MinimalPairs {
    /// Every pair of `path` (a folder of .jsonl files, in name order, or one file), in file order.
    public static func read(_ path: URL) throws -> [MinimalPair] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDir) else {
            throw EmbryoError.io(path.path, "no such file or folder")
        }
        guard isDir.boolValue else { return try readFile(path) }
        let names = try FileManager.default.contentsOfDirectory(atPath: path.path).sorted()
        let files = names.filter { $0.hasSuffix(".jsonl") }
        guard !files.isEmpty else {
            let shown = names.filter { !$0.hasPrefix(".") }.prefix(8).joined(separator: ", ")
            throw EmbryoError.format(
                path.path,
                "no minimal-pair files (<UID>.jsonl, as BLiMP's data/ folder); found "
                    + (shown.isEmpty ? "nothing" : shown))
        }
        return try files.flatMap { try readFile(path.appendingPathComponent($0)) }
    }

    static func readFile(_ url: URL) throws -> [MinimalPair] {
        let text = String(decoding: try EmbryoCore.readFile(url), as: UTF8.self)
        let stem = url.deletingPathExtension().lastPathComponent
        var out: [MinimalPair] = []
        for (i, line) in textLines(text).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            let place = "\(url.path):\(i + 1)"
            guard let o = (try? JSONSerialization.jsonObject(with: Data(t.utf8))) as? [String: Any] else {
                throw EmbryoError.format(place, "not a JSON object")
            }
            guard let good = o["sentence_good"] as? String, let bad = o["sentence_bad"] as? String else {
                throw EmbryoError.format(place, "a minimal pair needs the strings sentence_good and sentence_bad")
            }
            func text(_ k: String) -> String? { (o[k] as? String) ?? (o[k] as? Int).map(String.init) }
            out.append(
                MinimalPair(
                    good: good, bad: bad, uid: text("UID") ?? stem, term: text("linguistics_term") ?? "-",
                    field: text("field") ?? "-", pairID: text("pairID") ?? "\(i)"))
        }
        return out
    }

    /// At most `n` pairs of each paradigm, a fixed seeded sample in file order (every pair when nil).
    public static func sample(_ pairs: [MinimalPair], perParadigm n: Int?, seed: UInt64 = 0xB11_4B) -> [MinimalPair] {
        guard let n else { return pairs }
        var byUID: [String: [Int]] = [:]
        for (i, p) in pairs.enumerated() { byUID[p.uid, default: []].append(i) }
        var keep = Set<Int>()
        for (uid, idx) in byUID {
            var rng = Rng(seed: seed ^ stableHash(uid))
            var pool = idx
            for k in 0..<min(n, pool.count) {
                let j = k + rng.below(pool.count - k)
                pool.swapAt(k, j)
            }
            keep.formUnion(pool.prefix(n))
        }
        return pairs.indices.filter(keep.contains).map { pairs[$0] }
    }
}

// What a pretraining run checks before it touches anything: that --force never removes what the command
// reads, that a resumed run's corpus is the one it started from, and how a setting is shown in an error.

import EmbryoCore
import EmbryoRun
import Foundation

extension Pretrainer {
    /// --force replaces a run, but never one that the command itself reads from (a branch onto its own
    /// parent, a vocabulary or corpus inside the run being replaced): refused before anything is touched.
    public static func refuseRemoving(_ removed: [URL], readFrom inputs: [URL], out: URL) throws {
        func real(_ u: URL) -> String { u.standardizedFileURL.resolvingSymlinksInPath().path }
        func within(_ a: String, _ b: String) -> Bool { a == b || a.hasPrefix(b.hasSuffix("/") ? b : b + "/") }
        for input in inputs {
            let i = real(input)
            // an input inside what is removed, or the run being replaced itself (a branch onto its parent)
            for r in removed.map(real) where within(i, r) || i == real(out) {
                throw EmbryoError.usage(
                    "--force would remove \(out.path), which this command reads from (\(input.path)); "
                        + "give the new run another --out")
            }
        }
    }

    static func field(_ name: String, of c: PretrainConfig) -> String {
        let enc = JSONEncoder()
        guard let o = try? JSONSerialization.jsonObject(with: enc.encode(c)) as? [String: Any], let v = o[name] else {
            return "nil"
        }
        return "\(v)"
    }

    /// On --resume: the corpus files must be the ones the run started from (same hashes as run.json).
    func checkCorpusUnchanged(_ sources: [CorpusSource]) throws {
        guard let recorded = try? run.manifest().corpus else { return }
        let before = recorded.map { ($0.path, $0.fnv1a64) }
        guard before.count == sources.count else {
            throw EmbryoError.runtime(
                "cannot resume \(run.root.path): run.json records \(before.count) corpus files, found \(sources.count)")
        }
        for ((path, hash), now) in zip(before, sources) where hash != now.hash {
            throw EmbryoError.runtime(
                "cannot resume \(run.root.path): the corpus \(now.path) has changed since the run started "
                    + "(fnv1a64 \(now.hash) now, \(hash) in run.json for \(path))")
        }
    }
}

// What a layer probe's accuracy owes to word identity. Two word-type views of a probe set:
//   ambiguous forms: lower-cased forms that carry more than one UPOS tag in the probe data (a noun/verb
//     stem, "that", "to"), the words whose tag only context can decide;
//   a control task (Hewitt and Liang 2019, "Designing and Interpreting Probes with Control Tasks"):
//     every word type gets a fixed random tag drawn from the empirical UPOS distribution, so a probe can
//     only solve it by memorising word identity; selectivity = UPOS accuracy - control accuracy.

import EmbryoCore
import EmbryoRun
import Foundation

public struct WordTypeTasks: Sendable {
    /// Forms with more than one UPOS in the sentences given.
    public let ambiguous: Set<String>
    /// The control tag of every form seen, and the tag set's size.
    public let control: [String: Int32]
    public let controlClasses: Int

    /// (form, UPOS) of every tagged word of `sentences`, in the order of the UPOS probe's dataset rows.
    static func taggedWords(_ sentences: [ProbeSentence]) -> [(form: String, upos: String)] {
        sentences.flatMap { s in zip(s.forms, s.upos).filter { $0.1 != "_" && !$0.1.isEmpty } }
            .map { (form: $0.0, upos: $0.1) }
    }

    public init(sentences: [ProbeSentence], seed: UInt64) {
        var tags: [String: Set<String>] = [:]
        var uposCounts: [String: Int] = [:]
        for (f, u) in WordTypeTasks.taggedWords(sentences) {
            tags[f, default: []].insert(u)
            uposCounts[u, default: 0] += 1
        }
        ambiguous = Set(tags.filter { $0.value.count > 1 }.keys)
        // empirical tag distribution, in a fixed (sorted) order
        let names = uposCounts.keys.sorted()
        let cumulative = names.reduce(into: [Int]()) { acc, n in acc.append((acc.last ?? 0) + uposCounts[n]!) }
        let total = cumulative.last ?? 0
        var control: [String: Int32] = [:]
        for form in tags.keys {
            control[form] = total == 0 ? 0 : WordTypeTasks.controlTag(form, seed: seed, cumulative: cumulative)
        }
        self.control = control
        controlClasses = max(1, names.count)
    }

    /// The tag of one word type: a draw from the distribution seeded by the form and the seed alone, so it
    /// is the same wherever the word occurs and whatever else is in the data.
    static func controlTag(_ form: String, seed: UInt64, cumulative: [Int]) -> Int32 {
        var rng = Rng(seed: seed ^ stableHash("control|" + form))
        let u = rng.below(cumulative.last!)
        return Int32(cumulative.firstIndex { u < $0 }!)
    }

    /// Indices (in dataset order) of the words of `sentences` whose form is ambiguous, for the UPOS dataset.
    public func ambiguousRows(_ sentences: [ProbeSentence]) -> [Int] {
        WordTypeTasks.taggedWords(sentences).enumerated().filter { ambiguous.contains($0.element.form) }.map(\.offset)
    }

    /// The UPOS dataset's rows relabelled with control tags.
    public func controlDataset(_ upos: ProbeDataset, sentences: [ProbeSentence]) -> ProbeDataset {
        var d = upos
        for (r, w) in WordTypeTasks.taggedWords(sentences).enumerated() { d.y[r] = control[w.form] ?? 0 }
        return d
    }
}

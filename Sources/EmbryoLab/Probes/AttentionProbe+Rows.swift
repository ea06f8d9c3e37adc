// The attention probe's rows: one probe sentence per row, or the sentences packed in order into rows of a
// token budget (one segment), closer to the long rows a model trains on, where a head can keep its attention
// on far tokens that a lone sentence lacks. The implicit parse stays within each sentence either way.

import EmbryoCore
import EmbryoRun
import Foundation

extension AttentionProbe {
    /// One row of the probe's input: the row as one sentence (its words, tags and heads shifted to their
    /// positions, for the per-head shares) and each sentence it holds, shifted the same way (for the parse).
    public struct Row: Sendable {
        public var row: ProbeSentence
        public var parts: [ProbeSentence]
    }

    /// `sentences` one per row (`length` nil), or packed in order into rows of at most `length` tokens (a
    /// sentence longer than that on its own gets a row of its own). Each sentence's ids are [CLS] ... [SEP].
    public static func rows(_ sentences: [ProbeSentence], length: Int?) -> [Row] {
        guard let length else { return sentences.map { Row(row: $0, parts: [$0]) } }
        var rows: [Row] = []
        var group: [ProbeSentence] = []
        var tokens = 2
        func flush() {
            if !group.isEmpty { rows.append(pack(group)) }
            (group, tokens) = ([], 2)
        }
        for s in sentences {
            let body = max(s.ids.count - 2, 0)
            if tokens + body > length { flush() }
            group.append(s)
            tokens += body
        }
        flush()
        return rows
    }

    /// The sentences of `group` in one row: [CLS], each sentence's tokens between its [CLS] and [SEP], [SEP].
    static func pack(_ group: [ProbeSentence]) -> Row {
        var row = ProbeSentence(text: "", ids: [], words: [], upos: [], xpos: [], heads: [], deprels: [])
        guard let first = group.first, let cls = first.ids.first, let sep = first.ids.last else {
            return Row(row: row, parts: [])
        }
        row.ids = [cls]
        var parts: [ProbeSentence] = []
        for s in group {
            let shift = row.ids.count - 1, wordShift = row.words.count
            var part = s
            part.words = s.words.map { ($0.lowerBound + shift)..<($0.upperBound + shift) }
            parts.append(part)
            row.ids += s.ids.dropFirst().dropLast()
            row.words += part.words
            row.upos += s.upos
            row.xpos += s.xpos
            row.heads += s.heads.map { $0 > 0 ? $0 + wordShift : $0 }
            row.deprels += s.deprels
            row.forms += s.forms
            row.text += (row.text.isEmpty ? "" : " ") + s.text
        }
        row.ids.append(sep)
        return Row(row: row, parts: parts)
    }
}

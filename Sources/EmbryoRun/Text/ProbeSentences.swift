// Gold-annotated sentences turned into model input: each CoNLL-U word is tokenized on its own and keeps
// the range of its subword positions in [CLS] pieces... [SEP], so word-level probes can read subwords.

import EmbryoCore
import EmbryoText
import Foundation

public struct ProbeSentence: Sendable {
    public var text: String  // the sentence's `# text` (or its surface form)
    public var ids: [Int32]  // [CLS] ... [SEP]
    public var words: [Range<Int>]  // subword positions of each word
    public var upos: [String]
    public var xpos: [String]
    public var heads: [Int]
    public var deprels: [String]
    /// Word forms, lower-cased (word types for the ambiguity set and the control task).
    public var forms: [String] = []

    public init(
        text: String, ids: [Int32], words: [Range<Int>], upos: [String], xpos: [String], heads: [Int],
        deprels: [String], forms: [String] = []
    ) {
        self.text = text
        self.ids = ids
        self.words = words
        self.upos = upos
        self.xpos = xpos
        self.heads = heads
        self.deprels = deprels
        self.forms = forms
    }
}

public enum ProbeSentences {
    /// Sentences of a CoNLL-U file that fit in `maxLen` positions (longer ones are skipped and counted).
    public static func load(_ url: URL, tokenizer: WordPieceTokenizer, maxLen: Int, limit: Int?) throws -> (
        sentences: [ProbeSentence], skipped: Int
    ) {
        var out: [ProbeSentence] = []
        var skipped = 0
        for s in try ConllU.read(url) {
            if let limit, out.count >= limit { break }
            var ids: [Int32] = [tokenizer.vocab.clsId]
            var words: [Range<Int>] = []
            for w in s.words {
                let pieces = tokenizer.encode(w.form).ids
                let start = ids.count
                ids += pieces.isEmpty ? [tokenizer.vocab.unkId] : pieces
                words.append(start..<ids.count)
            }
            ids.append(tokenizer.vocab.sepId)
            if ids.count > maxLen {
                skipped += 1
                continue
            }
            out.append(
                ProbeSentence(
                    text: s.surfaceText, ids: ids, words: words, upos: s.words.map(\.upos), xpos: s.words.map(\.xpos),
                    heads: s.words.map(\.head), deprels: s.words.map(\.deprel),
                    forms: s.words.map { $0.form.lowercased() }))
        }
        return (out, skipped)
    }
}

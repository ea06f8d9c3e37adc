// Gold dependency arcs of a training corpus, for the syntactic-attention regulariser (`pretrain --sas`): per
// corpus token, the offset to its gold head, both the first pieces of their words. The trees come from the
// built-in world's train.heads (line for line with train.txt) or from a CoNLL-U corpus's heads; a batch
// row keeps the arcs whose two ends lie in the same segment of its example.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public final class GoldArcs {
    /// Per corpus token: its gold head's position minus its own (0: no arc from it).
    public let offsets: [Int32]
    public let arcs: Int
    /// Sentences left without arcs because the tokenizer's words are not the tree's words.
    public let unmatched: Int

    init(offsets: [Int32], arcs: Int, unmatched: Int) {
        (self.offsets, self.arcs, self.unmatched) = (offsets, arcs, unmatched)
    }

    /// The arcs of a run's corpus: the world's train.heads (rewritten by replaying the world when an older
    /// world lacks it), or the heads of its CoNLL-U sources. Other corpora have no trees: a usage error.
    public static func of(
        run: Run, config: PretrainConfig, sources: [CorpusSource], tokenizer: WordPieceTokenizer,
        corpus: TokenizedCorpus
    ) throws -> GoldArcs {
        var trees: [[[Int]]?] = []
        if config.corpus.isEmpty {
            let url = run.worldDir.appendingPathComponent(World.headsFile)
            if !FileManager.default.fileExists(atPath: url.path) {
                let summary = run.worldDir.appendingPathComponent("world.json")
                let o = (try? JSONSerialization.jsonObject(with: readFile(summary))) as? [String: Any]
                guard o?["edits"] == nil else {
                    throw EmbryoError.usage(
                        "--sas: \(run.worldDir.path) is an edited world without \(World.headsFile): regenerate it")
                }
                var sizes = WorldSizes()
                sizes.tokens = config.worldTokens
                try World(seed: UInt64(config.worldSeed), sizes: sizes).writeHeads(
                    to: url, checking: run.worldDir.appendingPathComponent("train.txt"))
            }
            // line for line with train.txt: the n-th sentence is the n-th non-blank line of both
            let text = String(decoding: try readFile(run.worldDir.appendingPathComponent("train.txt")), as: UTF8.self)
            let textLines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let headLines = String(decoding: try readFile(url), as: UTF8.self).split(
                separator: "\n", omittingEmptySubsequences: false)
            guard textLines.count == headLines.count else {
                throw EmbryoError.format(
                    url.path, "\(headLines.count) lines for the \(textLines.count) of train.txt: regenerate the world")
            }
            var sentenceTrees: [[Int]] = []
            for (t, h) in zip(textLines, headLines) where !t.allSatisfy(\.isWhitespace) {
                sentenceTrees.append(h.isEmpty ? [] : h.split(separator: " ").map { Int($0) ?? -1 })
            }
            trees = [sentenceTrees]
        } else {
            guard sources.contains(where: { $0.kind == .conllu }) else {
                throw EmbryoError.usage(
                    "--sas needs gold dependency trees: the built-in world, or a CoNLL-U corpus with heads; "
                        + sources.map(\.path).prefix(3).joined(separator: ", ") + " has none")
            }
            // a sentence with multiword tokens (English "can't" = "ca" + "n't") is read as its surface text, whose
            // words are not the tree's: it gets no arcs
            trees = try sources.map { s in
                s.kind == .conllu
                    ? try ConllU.read(URL(fileURLWithPath: s.path)).map {
                        $0.multiwords.isEmpty ? $0.words.map(\.head) : []
                    }
                    : nil
            }
        }
        return try align(sources: sources, trees: trees, tokenizer: tokenizer, corpus: corpus)
    }

    /// Walks the sources' sentences as the corpus was built from them, with each source's trees in order.
    static func align(
        sources: [CorpusSource], trees: [[[Int]]?], tokenizer: WordPieceTokenizer, corpus: TokenizedCorpus
    ) throws -> GoldArcs {
        var offsets = [Int32](repeating: 0, count: corpus.tokens.count)
        var s = 0, arcs = 0, unmatched = 0
        for (k, source) in sources.enumerated() {
            var n = 0
            try TokenizedCorpus.forEachSentence([source]) { text in
                guard let text else { return }
                defer { n += 1 }
                let e = tokenizer.encode(text)
                if e.ids.isEmpty { return }
                guard s < corpus.sentenceCount, corpus.sentence(s).count == e.ids.count else {
                    throw EmbryoError.runtime(
                        "\(source.path): sentence \(n + 1) does not match the token cache; delete the cache to rebuild")
                }
                defer { s += 1 }
                guard let heads = trees[k].flatMap({ n < $0.count ? $0[n] : nil }) else { return }
                var first: [Int] = []
                for (p, w) in e.wordIndex.enumerated() where Int(w) == first.count { first.append(p) }
                guard first.count == heads.count, first.count == (e.wordIndex.max().map { Int($0) + 1 } ?? 0) else {
                    unmatched += 1
                    return
                }
                let start = corpus.sentenceStarts[s]
                for (w, h) in heads.enumerated() where h >= 1 && h <= heads.count && h != w + 1 {
                    offsets[start + first[w]] = Int32(first[h - 1] - first[w])
                    arcs += 1
                }
            }
        }
        corpus.releasePages()
        guard s == corpus.sentenceCount else {
            throw EmbryoError.runtime(
                "the corpus has \(corpus.sentenceCount) sentences, its sources \(s): delete the token cache to rebuild")
        }
        return GoldArcs(offsets: offsets, arcs: arcs, unmatched: unmatched)
    }

    /// Row b of `batch` gets the arcs of `example` whose both ends lie in one of its segments.
    public func fill(_ batch: AlbertBatch, row b: Int, example: Example) {
        let T = batch.T
        for t in 0..<T { batch.goldHeads[b * T + t] = -1 }
        var position = 1  // after [CLS]; each segment is followed by a [SEP]
        for (start, count) in example.segments {
            for i in 0..<count where position + i < T {
                let off = Int(offsets[start + i])
                guard off != 0, (0..<count).contains(i + off), position + i + off < T else { continue }
                batch.goldHeads[b * T + position + i] = Int32(position + i + off)
            }
            position += count + 1
        }
    }
}

// VocabTrainer: learns a WordPiece vocabulary the way HF tokenizers' WordPieceTrainer does, by BPE-style
// merges: words are counted after BERT's normalisation, spelled as a first character plus "##"
// continuation characters, and the most frequent adjacent pair (weighted by word count) is merged until
// the vocabulary has the requested size. Output order: the special tokens, every character seen (plain,
// then "##"), then merges in the order they were made. Ties break on symbol ids, so the result is a
// function of the corpus alone.

import EmbryoCore
import Foundation

public final class VocabTrainer {
    public let lowercase: Bool
    /// Distinct words kept while counting; beyond it the rarest are pruned (bounded memory).
    public let maxDistinctWords: Int
    /// A pair must occur at least this often (weighted) to be merged.
    public let minPairFrequency: Int
    /// Word counts, keyed by exact scalars (NFC and NFD spellings are different words, as in HF).
    public private(set) var counts: [ExactString: Int] = [:]
    public private(set) var prunedAtCount = 0
    private let splitter: WordPieceTokenizer

    public init(lowercase: Bool, maxDistinctWords: Int = 1_000_000, minPairFrequency: Int = 2) {
        self.lowercase = lowercase
        self.maxDistinctWords = maxDistinctWords
        self.minPairFrequency = minPairFrequency
        splitter = WordPieceTokenizer(vocab: try! Vocabulary(tokens: Vocabulary.specialTokens), lowercase: lowercase)
        splitter.wordVisitor = { [unowned self] scalars in
            var s = String.UnicodeScalarView()
            for v in scalars { s.append(Unicode.Scalar(v)!) }
            self.counts[ExactString(String(s)), default: 0] += 1
        }
    }

    private var scratch = Encoding()

    /// Counts the words of one line of UTF-8 text.
    public func add(line: UnsafeBufferPointer<UInt8>) {
        splitter.encode(bytes: line, into: &scratch)
        if counts.count > maxDistinctWords { prune() }
    }

    public func add(_ text: String) {
        var t = text
        t.withUTF8 { add(line: $0) }
    }

    /// Drops the rarest words until at most half the limit remain.
    private func prune() {
        var threshold = max(prunedAtCount, 1)
        while counts.count > maxDistinctWords / 2 {
            threshold += 1
            counts = counts.filter { $0.value >= threshold }
        }
        prunedAtCount = threshold - 1
    }

    /// Learns a vocabulary of (at most) `size` tokens; fewer when no pair is frequent enough. The
    /// special tokens and the alphabet are always included, even beyond `size`.
    public func train(size: Int, progress: ((Int, Int) -> Void)? = nil) -> [String] {
        // words in a fixed order: count descending, then text
        let words = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
            ($0.key.string, $0.value)
        }
        var symbols: [String] = []
        var symbolId: [ExactString: Int32] = [:]
        func intern(_ s: String) -> Int32 {
            if let id = symbolId[ExactString(s)] { return id }
            let id = Int32(symbols.count)
            symbols.append(s)
            symbolId[ExactString(s)] = id
            return id
        }
        var vocab = Vocabulary.specialTokens
        var alphabet = Set<Unicode.Scalar>()
        for (w, _) in words { for c in w.unicodeScalars { alphabet.insert(c) } }
        let sortedAlphabet = alphabet.sorted { $0.value < $1.value }
        for c in sortedAlphabet { _ = intern(String(c)) }
        for c in sortedAlphabet { _ = intern("##" + String(c)) }
        vocab += symbols
        var seen = Set(vocab.map(ExactString.init))

        // every word as a sequence of single-character symbols, and the counts of adjacent pairs
        var seqs: [[Int32]] = []
        let freq = words.map(\.1)
        seqs.reserveCapacity(words.count)
        for (w, _) in words {
            seqs.append(
                w.unicodeScalars.enumerated().map { symbolId[ExactString(($0 == 0 ? "" : "##") + String($1))]! })
        }
        var pairs = PairTable()
        for (i, seq) in seqs.enumerated() where seq.count > 1 {
            for k in 0..<(seq.count - 1) { pairs.add(seq[k], seq[k + 1], freq[i], word: Int32(i)) }
        }
        var heap = PairHeap()
        for (key, count) in pairs.counts where count > 0 { heap.push(count, key) }
        var stamp = [Int32](repeating: -1, count: seqs.count)
        var merges: Int32 = 0
        while vocab.count < size, let top = heap.pop() {
            let current = pairs.counts[top.key] ?? 0
            if current != top.count {
                if current > 0 { heap.push(current, top.key) }
                continue
            }
            if current < minPairFrequency { break }
            let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            let merged = symbols[Int(a)] + Vocabulary.stripContinuation(symbols[Int(b)])
            let m = intern(merged)
            if !seen.contains(ExactString(merged)) {
                seen.insert(ExactString(merged))
                vocab.append(merged)
            }
            merges += 1
            var touched = Set<UInt64>()
            for w in pairs.wordsWith(top.key) where stamp[Int(w)] != merges {
                stamp[Int(w)] = merges
                let f = freq[Int(w)]
                var seq = seqs[Int(w)]
                if Self.merge(&seq, a, b, into: m, word: w, frequency: f, pairs: &pairs, touched: &touched) {
                    seqs[Int(w)] = seq
                }
            }
            for key in touched.sorted() {
                let c = pairs.counts[key] ?? 0
                if c > 0 { heap.push(c, key) }
            }
            progress?(vocab.count, size)
        }
        return vocab
    }

    /// Replaces every adjacent (a, b) in word w's symbols by m, moving the pair counts of its neighbours
    /// (weighted by the word's frequency) and noting the new pairs in `touched`. Returns whether it changed.
    static func merge(
        _ seq: inout [Int32], _ a: Int32, _ b: Int32, into m: Int32, word w: Int32, frequency f: Int,
        pairs: inout PairTable, touched: inout Set<UInt64>
    ) -> Bool {
        var k = 0
        var changed = false
        while k < seq.count - 1 {
            if seq[k] == a && seq[k + 1] == b {
                if k > 0 {
                    pairs.add(seq[k - 1], a, -f, word: w)
                    pairs.add(seq[k - 1], m, f, word: w)
                    touched.insert(PairTable.key(seq[k - 1], m))
                }
                if k + 2 < seq.count {
                    pairs.add(b, seq[k + 2], -f, word: w)
                    pairs.add(m, seq[k + 2], f, word: w)
                    touched.insert(PairTable.key(m, seq[k + 2]))
                }
                pairs.add(a, b, -f, word: w)
                seq[k] = m
                seq.remove(at: k + 1)
                changed = true
            }
            k += 1
        }
        return changed
    }
}

/// Weighted pair counts and, per pair, the words it may occur in (possibly stale; checked on use).
struct PairTable {
    var counts: [UInt64: Int] = [:]
    var words: [UInt64: [Int32]] = [:]

    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    mutating func add(_ a: Int32, _ b: Int32, _ n: Int, word: Int32) {
        let k = PairTable.key(a, b)
        counts[k, default: 0] += n
        if n > 0 { words[k, default: []].append(word) }
    }

    func wordsWith(_ k: UInt64) -> [Int32] { words[k] ?? [] }
}

/// Max-heap of (count, pair key); ties go to the smaller key so the merge order is deterministic.
struct PairHeap {
    private var items: [(count: Int, key: UInt64)] = []

    private func above(_ x: (count: Int, key: UInt64), _ y: (count: Int, key: UInt64)) -> Bool {
        x.count != y.count ? x.count > y.count : x.key < y.key
    }

    mutating func push(_ count: Int, _ key: UInt64) {
        items.append((count, key))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !above(items[i], items[p]) { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && above(items[l], items[best]) { best = l }
                if r < items.count && above(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}

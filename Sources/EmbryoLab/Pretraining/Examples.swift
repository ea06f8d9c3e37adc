// Pretraining examples as in ALBERT's create_pretraining_data.py: [CLS] A [SEP] B [SEP] from consecutive
// segments of one document, up to seq-len tokens (shorter targets with probability 0.1), A and B swapped
// with probability 0.5 for sentence-order prediction, then whole-word n-gram masking (n <= maxNgram, 3 by
// default, P(n) ~ 1/n) of 15% of the tokens, at most ceil(0.15 * seq-len), each chosen token becoming [MASK] (80%), a random
// token (10%) or itself (10%). Every row of every step comes from its own seeded stream, so a batch is a
// function of (seed, step) alone: resuming needs no data cursor.

import EmbryoCore
import EmbryoRun
import EmbryoText
import Foundation

public struct Example: Equatable {
    public var ids: [Int32] = []
    public var tokenTypes: [Int32] = []
    public var labels: [Int32] = []  // -100 where not predicted
    public var sopLabel: Int32 = 0
    /// Tokens chosen for prediction, and how: [MASK], random, kept.
    public var masked = 0, randomized = 0, kept = 0
    /// Lengths (in words) of the n-grams masked, and the lengths drawn before fitting the budget.
    public var ngrams: [Int] = []
    public var ngramsDrawn: [Int] = []
    /// Where segments A and B (in the order the example holds them) came from: the corpus position of their
    /// first token and their length. Example position 1 + i is corpus position segments.0.start + i; after
    /// the first [SEP], the second segment.
    public var segments: [(start: Int, count: Int)] = []

    public static func == (l: Example, r: Example) -> Bool {
        l.ids == r.ids && l.tokenTypes == r.tokenTypes && l.labels == r.labels && l.sopLabel == r.sopLabel
            && l.masked == r.masked && l.randomized == r.randomized && l.kept == r.kept && l.ngrams == r.ngrams
            && l.ngramsDrawn == r.ngramsDrawn && l.segments.map(\.start) == r.segments.map(\.start)
            && l.segments.map(\.count) == r.segments.map(\.count)
    }
}

public final class ExampleMaker {
    public let corpus: TokenizedCorpus
    public let seqLen: Int
    public let maxPredictions: Int
    public let seed: UInt64
    public let maskProb: Double
    /// The masked share of held-out examples, whatever the training rate.
    public static let evalMaskRate = 0.15
    public var shortSeqProb = 0.1
    public var maxNgram = 3
    let clsId: Int32, sepId: Int32, maskId: Int32, padId: Int32, unkId: Int32
    let vocabSize: Int
    let continuation: [Bool]
    /// Sentences examples may start from, for training and for held-out evaluation.
    public let trainStarts: SentenceSpans, evalStarts: SentenceSpans
    /// Documents kept out of training (every 50th), or none when the corpus has a single document.
    public let heldOutDocuments: Int

    /// `maskRate` is the training examples' masked share; held-out examples always mask 15%, so held-out
    /// losses of recipes with different rates sit on one axis.
    public init(corpus: TokenizedCorpus, vocab: Vocabulary, seqLen: Int, seed: UInt64, maskRate: Double = 0.15) throws {
        guard seqLen >= 8 else { throw EmbryoError.usage("seq-len must be at least 8") }
        self.corpus = corpus
        self.seqLen = seqLen
        maskProb = maskRate
        maxPredictions = Int((max(maskRate, ExampleMaker.evalMaskRate) * Double(seqLen)).rounded(.up))
        self.seed = seed
        clsId = vocab.clsId
        sepId = vocab.sepId
        maskId = vocab.maskId
        padId = vocab.padId
        unkId = vocab.unkId
        vocabSize = vocab.count
        let special = Set([vocab.clsId, vocab.sepId, vocab.maskId, vocab.padId, vocab.unkId])
        guard (0..<Int32(vocab.count)).contains(where: { !special.contains($0) }) else {
            throw EmbryoError.usage(
                "the vocabulary has only special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]): nothing to train on")
        }
        continuation = vocab.tokens.map { Vocabulary.isContinuation($0) }
        // held-out documents: every 50th (the last when there are fewer than 50, none with a single one);
        // the sentences are kept as runs of consecutive indices, so a corpus of any size costs a few spans
        var train = SentenceSpans(), eval = SentenceSpans()
        let docs = corpus.documentCount
        var held = 0
        for d in 0..<docs {
            let isEval = docs >= 2 && (d % 50 == 49 || (docs < 50 && d == docs - 1))
            if isEval { held += 1 }
            let r = corpus.sentences(ofDocument: d)
            if isEval { eval.append(r) } else { train.append(r) }
        }
        guard !train.isEmpty else { throw EmbryoError.runtime("the corpus has no sentences to train on") }
        trainStarts = train
        evalStarts = eval.isEmpty ? train : eval
        heldOutDocuments = held
        corpus.releasePages()
    }

    /// The stream for (step, row); eval rows use a separate space.
    func rng(step: Int, row: Int, eval: Bool) -> Rng {
        Rng(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ (UInt64(step) << 20 | UInt64(row) << 1 | (eval ? 1 : 0)))
    }

    /// Fills `batch` (all rows) for `step`, with the rows' gold arcs when `arcs` is given.
    public func fill(_ batch: AlbertBatch, step: Int, eval: Bool = false, arcs: GoldArcs? = nil) {
        let T = batch.T
        for b in 0..<batch.B {
            var r = rng(step: step, row: b, eval: eval)
            let ex = example(&r, eval: eval)
            for t in 0..<T {
                let i = b * T + t
                let inside = t < ex.ids.count
                batch.ids[i] = inside ? ex.ids[t] : padId
                batch.tokenTypes[i] = inside ? ex.tokenTypes[t] : 0
                batch.attentionMask[i] = inside ? 1 : 0
                batch.mlmLabels[i] = inside ? ex.labels[t] : -100
            }
            batch.sopLabels[b] = ex.sopLabel
            arcs?.fill(batch, row: b, example: ex)
            // a mapped corpus keeps only what the next example maps again (a fault may map a large folio)
            corpus.releasePages()
        }
    }

    /// The example of row `row` of training step `step`, as `fill` puts it in the batch.
    public func example(step: Int, row: Int) -> Example {
        var r = rng(step: step, row: row, eval: false)
        return example(&r)
    }

    /// One example from a random start sentence.
    public func example(_ rng: inout Rng, eval: Bool = false) -> Example {
        let starts = eval ? evalStarts : trainStarts
        let s0 = Int(starts[rng.below(starts.count)])
        let maxTokens = seqLen - 3
        var target = maxTokens
        if rng.uniform() < shortSeqProb { target = 2 + rng.below(maxTokens - 1) }
        // the document holding s0; the chunk runs forward from s0 and, when the document ends first, takes
        // earlier sentences too, so short documents still give full-length examples where they can
        let (docStart, docEnd) = documentRange(ofSentence: s0)
        var first = s0, last = s0
        var length = corpus.sentence(s0).count
        while last + 1 < docEnd && length < target {
            last += 1
            length += corpus.sentence(last).count
        }
        while first > docStart && length + corpus.sentence(first - 1).count <= target {
            first -= 1
            length += corpus.sentence(first).count
        }
        // segments as corpus positions (the tokens are looked up once they are cut)
        let bounds = corpus.sentenceStarts
        func span(_ from: Int, _ to: Int) -> [Int32] { Array(Int32(bounds[from])..<Int32(bounds[to + 1])) }
        var a: [Int32] = [], b: [Int32] = []
        if last > first {
            let aEnd = first + 1 + rng.below(last - first)
            a = span(first, aEnd - 1)
            b = span(aEnd, last)
        } else {
            // one sentence: split it so A and B are still consecutive segments
            let only = span(first, first)
            let cut = only.count >= 2 ? 1 + rng.below(only.count - 1) : only.count
            a = Array(only[..<cut])
            b = Array(only[cut...])
        }
        var ex = Example()
        if rng.uniform() < 0.5 {
            swap(&a, &b)
            ex.sopLabel = 1
        }
        truncatePair(&a, &b, maxTokens, &rng)
        ex.segments = [(Int(a.first ?? 0), a.count), (Int(b.first ?? 0), b.count)]
        let tokens = corpus.tokens
        a = a.map { tokens[Int($0)] }
        b = b.map { tokens[Int($0)] }
        ex.ids = [clsId] + a + [sepId] + b + [sepId]
        ex.tokenTypes = Array(repeating: 0, count: a.count + 2) + Array(repeating: 1, count: b.count + 1)
        ex.labels = Array(repeating: -100, count: ex.ids.count)
        mask(&ex, &rng, rate: eval ? ExampleMaker.evalMaskRate : maskProb)
        return ex
    }

    /// A uniformly random non-special token.
    func randomToken(_ rng: inout Rng) -> Int32 {
        while true {
            let t = Int32(rng.below(vocabSize))
            if t != clsId && t != sepId && t != maskId && t != padId && t != unkId { return t }
        }
    }

    /// First and one-past-last sentence of the document holding sentence s (binary search).
    func documentRange(ofSentence s: Int) -> (Int, Int) {
        var lo = 0, hi = corpus.documentCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Int(corpus.documentStarts[mid]) <= s { lo = mid } else { hi = mid - 1 }
        }
        return (Int(corpus.documentStarts[lo]), Int(corpus.documentStarts[lo + 1]))
    }

    /// ALBERT's truncate_seq_pair: trim the longer segment, from the front or the back at random.
    func truncatePair(_ a: inout [Int32], _ b: inout [Int32], _ max: Int, _ rng: inout Rng) {
        // a segment far longer than the sequence (one huge line) is first cut to a random window of 2 * max
        // tokens with one draw, so an example never costs more than O(max) draws
        if a.count + b.count > 4 * max {
            func window(_ seg: inout [Int32]) {
                guard seg.count > 2 * max else { return }
                let lo = rng.below(seg.count - 2 * max + 1)
                seg = Array(seg[lo..<(lo + 2 * max)])
            }
            window(&a)
            window(&b)
        }
        // ALBERT's truncate_seq_pair: drop from the front or the back of the longer segment, one token at a
        // time (indices move; the arrays are cut once)
        var aLo = 0, aHi = a.count, bLo = 0, bHi = b.count
        while (aHi - aLo) + (bHi - bLo) > max {
            if aHi - aLo > bHi - bLo {
                if rng.uniform() < 0.5 { aLo += 1 } else { aHi -= 1 }
            } else {
                if rng.uniform() < 0.5 { bLo += 1 } else { bHi -= 1 }
            }
        }
        if aLo > 0 || aHi < a.count { a = Array(a[aLo..<aHi]) }
        if bLo > 0 || bHi < b.count { b = Array(b[bLo..<bHi]) }
    }

    /// Whole-word n-gram masking (ALBERT's create_masked_lm_predictions with ngram masking).
    func mask(_ ex: inout Example, _ rng: inout Rng, rate: Double) {
        // words: runs of a token plus its "##" continuations, special tokens excluded
        var words: [Range<Int>] = []
        var i = 1
        while i < ex.ids.count {
            let id = ex.ids[i]
            if id == sepId || id == clsId {
                i += 1
                continue
            }
            var j = i + 1
            while j < ex.ids.count && ex.ids[j] != sepId && continuation[Int(ex.ids[j])] { j += 1 }
            words.append(i..<j)
            i = j
        }
        let budget = min(maxPredictions, max(1, Int((Double(ex.ids.count) * rate).rounded())))
        var order = Array(words.indices)
        rng.shuffle(&order)
        var covered = [Bool](repeating: false, count: ex.ids.count)
        var chosen = 0
        let weights = (1...maxNgram).map { 1.0 / Double($0) }
        for w in order {
            if chosen >= budget { break }
            let available = min(maxNgram, words.count - w)
            // n ~ 1/n over the n-grams that fit in the sentence, then shrink to fit the budget
            var total = 0.0
            for k in 0..<available { total += weights[k] }
            var u = rng.uniform() * total
            var n = 1
            for k in 0..<available {
                if u < weights[k] { n = k + 1; break }
                u -= weights[k]
                n = k + 1
            }
            // the n words' positions (a union: an n-gram may straddle the [SEP] between A and B, never include it)
            func positions(_ n: Int) -> [Int] { words[w..<(w + n)].flatMap { Array($0) } }
            let drawn = n
            var span = positions(n)
            while chosen + span.count > budget && n > 1 {
                n -= 1
                span = positions(n)
            }
            if chosen + span.count > budget { continue }
            if span.contains(where: { covered[$0] }) { continue }
            ex.ngrams.append(n)
            ex.ngramsDrawn.append(drawn)
            for p in span {
                covered[p] = true
                ex.labels[p] = ex.ids[p]
                let r = rng.uniform()
                if r < 0.8 {
                    ex.ids[p] = maskId
                    ex.masked += 1
                } else if r < 0.9 {
                    ex.kept += 1
                } else {
                    ex.ids[p] = randomToken(&rng)
                    ex.randomized += 1
                }
                chosen += 1
            }
        }
    }
}

extension ExampleMaker {
    /// The example maker of a run with these settings.
    public convenience init(corpus: TokenizedCorpus, vocab: Vocabulary, config: PretrainConfig) throws {
        try self.init(
            corpus: corpus, vocab: vocab, seqLen: config.seqLen, seed: UInt64(config.effectiveDataSeed),
            maskRate: config.maskRate ?? 0.15)
        maxNgram = config.maxNgram ?? 3
    }

    /// Log of the add-one-smoothed unigram distribution of the tokens of the training sentences (held-out
    /// documents excluded), centred to mean 0 over the vocabulary.
    public func trainingLogUnigram() -> [Float] {
        let logs = trainingLogProbabilities()
        let mean = logs.reduce(0, +) / Double(logs.count)
        return logs.map { Float($0 - mean) }
    }

    /// Log probabilities of the add-one-smoothed unigram distribution of the training sentences' tokens.
    public func trainingLogProbabilities() -> [Double] {
        // every token in one pass over the corpus (a mapped corpus's pages are let go behind it), then the
        // held-out sentences taken back out
        var counts = [Int](repeating: 0, count: vocabSize)
        corpus.forEachTokenBlock { block in for t in block { counts[Int(t)] += 1 } }
        if evalStarts.spans != trainStarts.spans {
            corpus.forEachTokens(inSentences: evalStarts.spans) { held in for t in held { counts[Int(t)] -= 1 } }
        }
        corpus.releasePages()
        let counted = counts.map { Double($0) + 1 }
        let total = counted.reduce(0, +)
        return counted.map { Foundation.log($0 / total) }
    }

    /// The held-out unigram cross-entropy: the mean over the masked targets of the first `batches` held-out
    /// batches (the ones the held-out evaluation scores) of -log p(target), p the training-token frequency.
    /// A model that predicts every masked word by its frequency alone scores this loss.
    public func heldOutUnigramLoss(batches: Int, batchSize: Int) -> Double {
        let logp = trainingLogProbabilities()
        var sum = 0.0, n = 0
        for k in 0..<batches {
            for b in 0..<batchSize {
                var r = rng(step: k, row: b, eval: true)
                let ex = example(&r, eval: true)
                for l in ex.labels where l >= 0 {
                    sum -= logp[Int(l)]
                    n += 1
                }
            }
        }
        corpus.releasePages()
        return sum / Double(max(n, 1))
    }
}

/// Sentence indices as runs of consecutive ones, indexed like the flat list they stand for.
public struct SentenceSpans: RandomAccessCollection, Equatable, Sendable {
    public private(set) var spans: [Range<Int>] = []
    /// Sentences in the spans before each span.
    var before: [Int] = []
    public private(set) var count = 0
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public init() {}

    /// Adds the sentences of `r` (after every sentence already in).
    public mutating func append(_ r: Range<Int>) {
        guard !r.isEmpty else { return }
        if let last = spans.last, last.upperBound == r.lowerBound {
            spans[spans.count - 1] = last.lowerBound..<r.upperBound
        } else {
            spans.append(r)
            before.append(count)
        }
        count += r.count
    }

    /// The i-th sentence index.
    public subscript(i: Int) -> Int32 {
        var lo = 0, hi = spans.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if before[mid] <= i { lo = mid } else { hi = mid - 1 }
        }
        return Int32(spans[lo].lowerBound + (i - before[lo]))
    }

    public static func == (a: SentenceSpans, b: SentenceSpans) -> Bool { a.spans == b.spans }
}

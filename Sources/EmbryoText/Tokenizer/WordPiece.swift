// WordPieceTokenizer: BERT's tokenizer end to end. Special tokens written in the text ([MASK] in a
// LAMA template) map to their ids; the rest goes through Normalizer and is split into words, and each
// word into pieces by greedy longest-match-first with "##" continuations (HF tokenizers' WordPiece);
// a word over 100 scalars, or with any piece missing from the vocabulary, becomes [UNK]. Every piece
// keeps its word index and its span in Unicode scalars of the input, for aligning words and subwords.

import EmbryoCore
import Foundation

/// Ids of one text with their alignment: piece k came from word wordIndex[k], input scalars start[k]..<end[k].
public struct Encoding: Equatable, Sendable {
    public var ids: [Int32] = []
    public var wordIndex: [Int32] = []
    public var start: [Int32] = []
    public var end: [Int32] = []
    /// Byte offsets of invalid UTF-8 sequences in the input: each was replaced by U+FFFD (which BERT's
    /// cleaning then drops), so the scalar offsets count it as one scalar.
    public var invalidUTF8Offsets: [Int] = []

    public init() {}

    public var count: Int { ids.count }

    mutating func removeAll() {
        ids.removeAll(keepingCapacity: true)
        wordIndex.removeAll(keepingCapacity: true)
        start.removeAll(keepingCapacity: true)
        end.removeAll(keepingCapacity: true)
        invalidUTF8Offsets.removeAll(keepingCapacity: true)
    }

    mutating func append(_ id: Int32, word: Int32, start s: Int32, end e: Int32) {
        ids.append(id)
        wordIndex.append(word)
        start.append(s)
        end.append(e)
    }
}

public final class WordPieceTokenizer {
    public let vocab: Vocabulary
    public let lowercase: Bool
    public let maxCharsPerWord = 100
    let normalizer: Normalizer
    private let specialBytes: [([UInt8], Int32)]
    // ASCII fast path: 0 drop, 1 space, 2 isolated, 3 word; and the lower-cased byte
    private let asciiKind: [UInt8]
    private let asciiMap: [UInt8]
    // the current word: normalised scalars and the input scalar each came from
    private var wordScalars: [UInt32] = []
    private var wordOrigin: [Int32] = []
    /// When set, each normalised word goes here instead of being split into pieces (vocabulary training).
    var wordVisitor: ((UnsafeBufferPointer<UInt32>) -> Void)?

    /// `lowercase` nil: lower-case unless the vocabulary looks cased.
    public init(vocab: Vocabulary, lowercase: Bool? = nil) {
        self.vocab = vocab
        self.lowercase = lowercase ?? !vocab.looksCased
        normalizer = Normalizer(lowercase: self.lowercase)
        specialBytes = Vocabulary.specialTokens.map { (Array($0.utf8), vocab.id($0)!) }
        var kinds = [UInt8](repeating: 0, count: 128), map = [UInt8](repeating: 0, count: 128)
        for c in 0..<128 {
            let m = Normalizer.compute(UInt32(c), lowercase: self.lowercase)
            map[c] = UInt8(m.output.first?.0 ?? 0)
            if m.dropped {
                kinds[c] = 0
            } else {
                switch m.output[0].1 {
                case .space: kinds[c] = 1
                case .isolated: kinds[c] = 2
                case .word: kinds[c] = 3
                }
            }
        }
        asciiKind = kinds
        asciiMap = map
        wordScalars.reserveCapacity(256)
        wordOrigin.reserveCapacity(256)
    }

    public func encode(_ text: String) -> Encoding {
        var e = Encoding()
        var s = text
        s.withUTF8 { encode(bytes: $0, into: &e) }
        return e
    }

    /// Encodes UTF-8 bytes into `e` (cleared first), reusing its storage.
    public func encode(bytes: UnsafeBufferPointer<UInt8>, into e: inout Encoding) {
        e.removeAll()
        wordScalars.removeAll(keepingCapacity: true)
        wordOrigin.removeAll(keepingCapacity: true)
        let n = bytes.count
        var i = 0, scalar: Int32 = 0, word: Int32 = 0
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x5B, let (len, id) = matchSpecial(bytes, at: i) {
                    flushWord(&e, &word)
                    e.append(id, word: word, start: scalar, end: scalar + Int32(len))
                    word += 1
                    i += len
                    scalar += Int32(len)
                    continue
                }
                switch asciiKind[Int(b)] {
                case 1: flushWord(&e, &word)
                case 2:
                    flushWord(&e, &word)
                    wordScalars.append(UInt32(asciiMap[Int(b)]))
                    wordOrigin.append(scalar)
                    flushWord(&e, &word)
                case 3:
                    wordScalars.append(UInt32(asciiMap[Int(b)]))
                    wordOrigin.append(scalar)
                default: break
                }
                i += 1
                scalar += 1
                continue
            }
            let (v, len) = decodeUTF8(bytes, at: i)
            if v == 0xFFFD && len > 0 && !(len == 3 && bytes[i] == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD)
            {
                e.invalidUTF8Offsets.append(i)
            }
            let m = normalizer.mapping(v)
            if !m.dropped {
                for (o, kind) in m.output {
                    switch kind {
                    case .space: flushWord(&e, &word)
                    case .isolated:
                        flushWord(&e, &word)
                        wordScalars.append(o)
                        wordOrigin.append(scalar)
                        flushWord(&e, &word)
                    case .word:
                        wordScalars.append(o)
                        wordOrigin.append(scalar)
                    }
                }
            }
            i += max(len, 1)
            scalar += 1
        }
        flushWord(&e, &word)
    }

    /// A special token spelled at byte i, as (byte length, id).
    @inline(__always)
    private func matchSpecial(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (Int, Int32)? {
        for (s, id) in specialBytes where i + s.count <= bytes.count {
            var ok = true
            for k in 1..<s.count where bytes[i + k] != s[k] {
                ok = false
                break
            }
            if ok { return (s.count, id) }
        }
        return nil
    }

    /// Splits the current word into pieces (or [UNK]) and appends them.
    private func flushWord(_ e: inout Encoding, _ word: inout Int32) {
        let n = wordScalars.count
        if n == 0 { return }
        defer {
            wordScalars.removeAll(keepingCapacity: true)
            wordOrigin.removeAll(keepingCapacity: true)
            word += 1
        }
        if let visit = wordVisitor {
            wordScalars.withUnsafeBufferPointer(visit)
            return
        }
        let first = wordOrigin[0], last = wordOrigin[n - 1] + 1
        if n > maxCharsPerWord {
            e.append(vocab.unkId, word: word, start: first, end: last)
            return
        }
        let mark = e.ids.count
        var start = 0
        while start < n {
            let trie = start == 0 ? vocab.initial : vocab.continuation
            var node = ByteTrie.root, bestEnd = -1, bestId: Int32 = -1
            var j = start
            walk: while j < n {
                var v = wordScalars[j]
                // feed the scalar's UTF-8 bytes
                if v < 0x80 {
                    node = trie.child(node, UInt8(v))
                } else {
                    var buf: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                    let len = encodeUTF8(v, &buf)
                    v = 0
                    withUnsafeBytes(of: &buf) { raw in
                        for k in 0..<len where node >= 0 { node = trie.child(node, raw[k]) }
                    }
                }
                if node < 0 { break walk }
                let t = trie.terminal[Int(node)]
                if t >= 0 {
                    bestEnd = j + 1
                    bestId = t
                }
                j += 1
            }
            if bestEnd < 0 {
                e.ids.removeSubrange(mark...)
                e.wordIndex.removeSubrange(mark...)
                e.start.removeSubrange(mark...)
                e.end.removeSubrange(mark...)
                e.append(vocab.unkId, word: word, start: first, end: last)
                return
            }
            e.append(bestId, word: word, start: wordOrigin[start], end: wordOrigin[bestEnd - 1] + 1)
            start = bestEnd
        }
    }

    /// The tokens of `ids`.
    public func tokens(_ ids: [Int32]) -> [String] { ids.map { vocab.token($0) } }

    /// Text from ids: pieces joined by spaces, "##" continuations glued to the piece before.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var out = ""
        let specials: Set<Int32> = [vocab.padId, vocab.unkId, vocab.clsId, vocab.sepId, vocab.maskId]
        for id in ids {
            let t = vocab.token(id)
            if skipSpecialTokens && specials.contains(id) { continue }
            if Vocabulary.isContinuation(t) && !out.isEmpty {
                out += Vocabulary.stripContinuation(t)
            } else {
                if !out.isEmpty { out += " " }
                out += t
            }
        }
        return out
    }
}

/// Decodes one scalar at byte i; invalid or truncated sequences give (U+FFFD, bytes consumed >= 1).
@inline(__always)
func decodeUTF8(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
    let n = b.count
    let c0 = UInt32(b[i])
    func cont(_ k: Int) -> UInt32? {
        guard i + k < n else { return nil }
        let c = UInt32(b[i + k])
        return c & 0xC0 == 0x80 ? c & 0x3F : nil
    }
    if c0 >= 0xC2 && c0 <= 0xDF {
        guard let c1 = cont(1) else { return (0xFFFD, 1) }
        return ((c0 & 0x1F) << 6 | c1, 2)
    }
    if c0 >= 0xE0 && c0 <= 0xEF {
        guard let c1 = cont(1) else { return (0xFFFD, 1) }
        let v1 = (c0 & 0x0F) << 12 | c1 << 6
        if (c0 == 0xE0 && c1 < 0x20) || (c0 == 0xED && c1 >= 0x20) { return (0xFFFD, 1) }  // overlong, surrogate
        guard let c2 = cont(2) else { return (0xFFFD, 2) }
        return (v1 | c2, 3)
    }
    if c0 >= 0xF0 && c0 <= 0xF4 {
        guard let c1 = cont(1) else { return (0xFFFD, 1) }
        if (c0 == 0xF0 && c1 < 0x10) || (c0 == 0xF4 && c1 >= 0x10) { return (0xFFFD, 1) }  // overlong, > U+10FFFF
        guard let c2 = cont(2) else { return (0xFFFD, 2) }
        guard let c3 = cont(3) else { return (0xFFFD, 3) }
        return ((c0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3, 4)
    }
    return (0xFFFD, 1)
}

/// UTF-8 bytes of scalar v into buf; returns the length.
@inline(__always)
func encodeUTF8(_ v: UInt32, _ buf: inout (UInt8, UInt8, UInt8, UInt8)) -> Int {
    if v < 0x80 {
        buf.0 = UInt8(v)
        return 1
    }
    if v < 0x800 {
        buf.0 = UInt8(0xC0 | (v >> 6))
        buf.1 = UInt8(0x80 | (v & 0x3F))
        return 2
    }
    if v < 0x10000 {
        buf.0 = UInt8(0xE0 | (v >> 12))
        buf.1 = UInt8(0x80 | ((v >> 6) & 0x3F))
        buf.2 = UInt8(0x80 | (v & 0x3F))
        return 3
    }
    buf.0 = UInt8(0xF0 | (v >> 18))
    buf.1 = UInt8(0x80 | ((v >> 12) & 0x3F))
    buf.2 = UInt8(0x80 | ((v >> 6) & 0x3F))
    buf.3 = UInt8(0x80 | (v & 0x3F))
    return 4
}

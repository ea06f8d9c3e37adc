// BERT's text normalisation, per Unicode scalar, as HF tokenizers' BertNormalizer + BertPreTokenizer:
// drop NUL, U+FFFD and other control, format and private-use scalars; treat \t \n \r and Zs as
// spaces; isolate CJK ideographs; when uncased, canonical decomposition with non-spacing marks (Mn)
// removed, then full lower-casing. After that, White_Space splits words and every punctuation scalar
// (ASCII symbols and Unicode P*) is a word of its own. Results are cached per scalar.

import Foundation

/// What one normalised output scalar does to word boundaries.
enum ScalarKind: UInt8 {
    case word  // part of a word
    case space  // ends the current word
    case isolated  // a word of its own (punctuation, CJK ideographs)
}

/// The normalisation of one input scalar: nothing (dropped), a separator, or output scalars with kinds.
struct ScalarMapping {
    var dropped = false
    var output: [(UInt32, ScalarKind)] = []
}

final class Normalizer {
    let lowercase: Bool
    private var ascii: [ScalarMapping] = []
    private var cache: [UInt32: ScalarMapping] = [:]

    init(lowercase: Bool) {
        self.lowercase = lowercase
        ascii = (0..<128).map { Normalizer.compute(UInt32($0), lowercase: lowercase) }
    }

    @inline(__always)
    func mapping(_ v: UInt32) -> ScalarMapping {
        if v < 128 { return ascii[Int(v)] }
        if let m = cache[v] { return m }
        let m = Normalizer.compute(v, lowercase: lowercase)
        cache[v] = m
        return m
    }

    static func compute(_ v: UInt32, lowercase: Bool) -> ScalarMapping {
        guard let s = Unicode.Scalar(v) else { return ScalarMapping(dropped: true) }
        if v == 0 || v == 0xFFFD || isControl(s) { return ScalarMapping(dropped: true) }
        if isBertWhitespace(s) { return ScalarMapping(output: [(0x20, .space)]) }
        if isCJK(v) {
            // CJK compatibility ideographs still decompose when uncased; each output is isolated
            return ScalarMapping(output: normalized(s, lowercase: lowercase).map { ($0, .isolated) })
        }
        return ScalarMapping(output: normalized(s, lowercase: lowercase).map { ($0, kind(of: $0)) })
    }

    /// NFD without non-spacing marks, then lower case (uncased); the scalar itself when cased.
    static func normalized(_ s: Unicode.Scalar, lowercase: Bool) -> [UInt32] {
        guard lowercase else { return [s.value] }
        if s.value < 128 {
            return [s.value >= 65 && s.value <= 90 ? s.value + 32 : s.value]
        }
        let decomposed = String(s).decomposedStringWithCanonicalMapping.unicodeScalars
            .filter { !inRanges(nonspacingRanges, $0.value) }
        var out: [UInt32] = []
        for d in decomposed {
            for l in d.properties.lowercaseMapping.unicodeScalars { out.append(l.value) }
        }
        return out
    }

    static func kind(of v: UInt32) -> ScalarKind {
        guard let s = Unicode.Scalar(v) else { return .word }
        if s.properties.isWhitespace { return .space }
        if isPunctuation(s) { return .isolated }
        return .word
    }

    // The classes come from UnicodeTables.swift, read off HF tokenizers, not from the standard library:
    // tokenizers' category tables predate the Unicode version Swift ships, and the two must agree.

    /// BERT's whitespace: space, tab, newline, carriage return, and the Zs category.
    static func isBertWhitespace(_ s: Unicode.Scalar) -> Bool { inRanges(whitespaceRanges, s.value) }

    /// Control in HF tokenizers' sense: Cc, Cf and Co except tab, newline and carriage return
    /// (unassigned scalars are kept, as HF keeps them).
    static func isControl(_ s: Unicode.Scalar) -> Bool { inRanges(controlRanges, s.value) }

    /// ASCII punctuation and symbols, and the Unicode P* categories.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool { inRanges(punctuationRanges, s.value) }

    /// The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana). The range
    /// 0x2B920...0x2CEAF (not 0x2B820) is as in Google's BERT and HF tokenizers.
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

/// Whether v lies in one of the inclusive ranges [lo0, hi0, lo1, hi1, ...] (sorted): binary search.
func inRanges(_ r: [UInt32], _ v: UInt32) -> Bool {
    var lo = 0, hi = r.count / 2
    while lo < hi {
        let mid = (lo + hi) / 2
        if v < r[2 * mid] {
            hi = mid
        } else if v > r[2 * mid + 1] {
            lo = mid + 1
        } else {
            return true
        }
    }
    return false
}

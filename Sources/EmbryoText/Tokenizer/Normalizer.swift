// BERT's text normalisation, per Unicode scalar, as HF tokenizers' BertNormalizer + BertPreTokenizer:
// drop NUL, U+FFFD and other control/format/unassigned/private-use scalars; treat \t \n \r and Zs as
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
            .filter { $0.properties.generalCategory != .nonspacingMark }
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

    /// BERT's whitespace: space, tab, newline, carriage return, and the Zs category.
    static func isBertWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }

    /// Control in BERT's sense: every C* category except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default:
            switch s.properties.generalCategory {
            case .control, .format, .unassigned, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    /// ASCII punctuation and symbols, and every Unicode P* category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana).
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

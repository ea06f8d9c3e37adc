// Vocabulary: a BERT vocab.txt (one token per line, id = line number), validated on load, with the
// special tokens embryo needs and a byte trie for word-initial pieces and one for "##" continuations.

import EmbryoCore
import Foundation

public final class Vocabulary {
    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    public static let continuationPrefix = "##"

    public let tokens: [String]
    /// Token -> id, keyed by exact scalars (canonically equivalent tokens stay distinct).
    public let ids: [ExactString: Int32]
    public let padId: Int32, unkId: Int32, clsId: Int32, sepId: Int32, maskId: Int32
    /// True when non-special tokens contain upper-case letters (a cased vocabulary such as bert-base-cased).
    public let looksCased: Bool
    let initial: ByteTrie
    let continuation: ByteTrie

    public var count: Int { tokens.count }

    /// Validates `tokens` (non-empty, no empty or duplicate entries, all special tokens present).
    /// `source` names the file in error messages.
    public init(tokens: [String], source: String = "vocabulary") throws {
        guard !tokens.isEmpty else { throw EmbryoError.format(source, "the vocabulary is empty") }
        var ids: [ExactString: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            guard !t.isEmpty else { throw EmbryoError.format("\(source):\(i + 1)", "empty token") }
            if let first = ids[ExactString(t)] {
                throw EmbryoError.format("\(source):\(i + 1)", "duplicate token '\(t)' (first on line \(first + 1))")
            }
            ids[ExactString(t)] = Int32(i)
        }
        let missing = Vocabulary.specialTokens.filter { ids[ExactString($0)] == nil }
        guard missing.isEmpty else {
            throw EmbryoError.format(
                source,
                "missing special token(s) \(missing.joined(separator: " ")); a BERT vocabulary needs "
                    + Vocabulary.specialTokens.joined(separator: " "))
        }
        self.tokens = tokens
        self.ids = ids
        padId = ids[ExactString("[PAD]")]!
        unkId = ids[ExactString("[UNK]")]!
        clsId = ids[ExactString("[CLS]")]!
        sepId = ids[ExactString("[SEP]")]!
        maskId = ids[ExactString("[MASK]")]!
        var initial = ByteTrie(capacity: tokens.count * 4), continuation = ByteTrie(capacity: tokens.count * 4)
        var cased = false
        let specials = Set(Vocabulary.specialTokens.map(ExactString.init))
        for (i, t) in tokens.enumerated() {
            if Vocabulary.isContinuation(t) {
                continuation.insert(t.utf8.dropFirst(2), id: Int32(i))
            } else {
                initial.insert(t.utf8, id: Int32(i))
            }
            if !cased && !specials.contains(ExactString(t))
                && t.unicodeScalars.contains(where: { $0.properties.isUppercase })
            {
                cased = true
            }
        }
        self.initial = initial
        self.continuation = continuation
        looksCased = cased
    }

    /// Reads vocab.txt: UTF-8, one token per line ("\n" or "\r\n"); a final newline is optional.
    public static func load(_ url: URL) throws -> Vocabulary {
        let data = try readFile(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw EmbryoError.format(url.path, "not valid UTF-8")
        }
        var lines = textLines(text)
        if lines.last == "" { lines.removeLast() }
        return try Vocabulary(tokens: lines, source: url.path)
    }

    /// Writes vocab.txt atomically, one token per line.
    public func save(_ url: URL) throws {
        try writeAtomically(Data((tokens.joined(separator: "\n") + "\n").utf8), to: url)
    }

    public func id(_ token: String) -> Int32? { ids[ExactString(token)] }

    /// "##" followed by at least one scalar. Checked on UTF-8, never on Characters: "##" + a combining
    /// mark is one grapheme cluster ending in '#', which String.hasPrefix would not see as "##".
    public static func isContinuation(_ t: String) -> Bool {
        let u = t.utf8
        return u.count > 2 && u.first == 0x23 && u[u.index(after: u.startIndex)] == 0x23
    }

    /// The token without its "##" (UTF-8 based, as above).
    public static func stripContinuation(_ t: String) -> String {
        isContinuation(t) ? String(decoding: t.utf8.dropFirst(2), as: UTF8.self) : t
    }

    public func token(_ id: Int32) -> String { id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : "[UNK]" }
}
